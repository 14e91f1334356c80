"""N-gram speculative decoding (`pools.<name>.speculative`), run through the real
program under Pulumi's mocks: the `--speculative-config` vLLM 0.19.1 reads, its
defaults, sizing unchanged (no draft weights), and the refusals.
"""

from __future__ import annotations

import copy
import json

import pytest

from harness import ROOT, run_outcome, run_program, stack_file_config

POOL = "llama-3-1-8b-edit"
EXAMPLE = stack_file_config(ROOT / "examples" / "offload-and-speculation.yaml")


def example(**pool_changes) -> dict:
    config = copy.deepcopy(EXAMPLE)
    config["llm-serving:pools"][POOL].update(pool_changes)
    return config


def speculative_config(run) -> dict | None:
    (deployment,) = [d for d in run.manifests_of_kind("Deployment") if d["metadata"]["name"] == POOL]
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return (
        json.loads(args[args.index("--speculative-config") + 1]) if "--speculative-config" in args else None
    )


def test_the_example_renders_vllms_speculative_config() -> None:
    assert speculative_config(run_program(EXAMPLE)) == {
        "method": "ngram",
        "num_speculative_tokens": 4,
        "prompt_lookup_max": 4,
        "prompt_lookup_min": 2,
    }


def test_the_window_defaults_as_vllm_defaults_it() -> None:
    config = speculative_config(run_program(example(speculative={"numSpeculativeTokens": 3})))
    assert config == {
        "method": "ngram",
        "num_speculative_tokens": 3,
        "prompt_lookup_max": 5,
        "prompt_lookup_min": 5,
    }


def test_n_gram_lookup_leaves_the_memory_sum_unchanged() -> None:
    with_lookup = run_program(EXAMPLE).outputs["capacity"]["pools"][POOL]
    without = run_program(example(speculative=None)).outputs["capacity"]["pools"][POOL]
    assert with_lookup == without


def test_without_the_section_extra_args_may_pass_other_methods() -> None:
    other = '--speculative-config={"method":"eagle","model":"yuhuili/EAGLE-LLaMA3.1-Instruct-8B"}'
    outcome = run_outcome(example(speculative=None, extraArgs=[other]))
    assert outcome.error is None, outcome.error


@pytest.mark.parametrize(
    ("speculative", "extra_args", "key"),
    [
        ({"numSpeculativeTokens": 4, "promptLookupMax": 2, "promptLookupMin": 3}, [], "speculative"),
        ({"numSpeculativeTokens": 0}, [], "speculative.numSpeculativeTokens"),
        ({"numSpeculativeTokens": 65}, [], "speculative.numSpeculativeTokens"),
        ({}, [], "speculative.numSpeculativeTokens"),
        ({"method": "draft_model", "numSpeculativeTokens": 4}, [], "speculative.method"),
        ({"numSpeculativeTokens": 4}, ["--speculative-config", '{"method":"ngram"}'], "extraArgs"),
        ({"numSpeculativeTokens": 4}, ["-sc", '{"method":"ngram"}'], "extraArgs"),
    ],
)
def test_refused_with_the_key(speculative: dict, extra_args: list[str], key: str) -> None:
    outcome = run_outcome(example(speculative=speculative, extraArgs=extra_args))
    assert outcome.error is not None and not outcome.run.resources
    assert f"llm-serving:pools.{POOL}.{key}" in outcome.error, outcome.error
