"""LoRA adapters (`pools.<name>.lora`), run through the real program under Pulumi's
mocks: the flags vLLM 0.19.1 reads, the adapters Job that fills the cache, the GPU
memory of the adapter slots in the sizing sum, routes and the endpoint picker's LoRA
affinity, and every refusal with its key. vLLM's own parser reads the rendered flags
in tests/test_vllm_parser.py; the real node serves an adapter in
tests/test_real_node_serving.py.
"""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from config.loader import parse_stack_config
from harness import ROOT, run_outcome, run_program, stack_file_config

POOL = "llama-3-1-8b"
EXAMPLE = stack_file_config(ROOT / "examples" / "lora-adapters.yaml")
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
GIB = 2**30
HUB_ADAPTER = "example-org/llama-3.1-8b-summarize-lora"
# Values per rank and slot of the embedding and output-head adapters: 2 x (vocab + hidden).
VOCAB_TERM = 2 * (128256 + 4096)


def example(**lora_changes) -> dict:
    config = copy.deepcopy(EXAMPLE)
    config["llm-serving:pools"][POOL]["lora"].update(lora_changes)
    return config


def hub_only(**lora_changes) -> dict:
    """The example with its hub adapter alone (no S3 credentials involved)."""
    config = example()
    lora = config["llm-serving:pools"][POOL]["lora"]
    lora["adapters"] = {"summarize": lora["adapters"]["summarize"]}
    del lora["maxLoras"]
    lora.update(lora_changes)
    return config


def vllm_container(run, name: str) -> dict:
    (deployment,) = [d for d in run.manifests_of_kind("Deployment") if d["metadata"]["name"] == name]
    return deployment["spec"]["template"]["spec"]["containers"][0]


def vllm_args(run, name: str = POOL) -> list[str]:
    return vllm_container(run, name)["args"]


def flag(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def lora_modules(args: list[str]) -> list[dict]:
    start = args.index("--lora-modules") + 1
    modules = []
    for item in args[start:]:
        if item.startswith("-"):
            break
        modules.append(json.loads(item))
    return modules


def warnings_of(config: dict) -> list[str]:
    values = {key.removeprefix("llm-serving:"): value for key, value in config.items()}
    return parse_stack_config(values, has_hf_token=True)[1].warnings


def test_the_example_renders_vllms_lora_flags() -> None:
    args = vllm_args(run_program(EXAMPLE))
    assert "--enable-lora" in args
    assert flag(args, "--max-loras") == "3"
    # Unset maxLoraRank: the smallest vLLM rank that holds the largest adapter (32).
    assert flag(args, "--max-lora-rank") == "32"
    assert "--max-cpu-loras" not in args
    revision = EXAMPLE["llm-serving:release"]["modelRevisions"][HUB_ADAPTER]
    assert lora_modules(args) == [
        {
            "name": "support-de",
            "path": "/var/cache/huggingface/s3/adapters/llama-3.1-8b/support-de/v3",
            "base_model_name": "llama-3.1-8b",
        },
        {
            "name": "sql-assist",
            "path": "/var/cache/huggingface/s3/adapters/llama-3.1-8b/sql-assist/v1",
            "base_model_name": "llama-3.1-8b",
        },
        {
            "name": "summarize",
            "path": f"/var/cache/huggingface/lora/{HUB_ADAPTER}/{revision}",
            "base_model_name": "llama-3.1-8b",
        },
    ]


def test_an_adapters_job_fills_each_directory_vllm_is_told() -> None:
    run = run_program(EXAMPLE)
    (job,) = [j for j in run.manifests_of_kind("Job") if j["metadata"]["name"] == f"{POOL}-adapters"]
    pod = job["spec"]["template"]["spec"]
    containers = pod["initContainers"] + pod["containers"]
    # One container per adapter, in the config's order.
    assert [c["name"] for c in containers] == ["adapter-1", "adapter-2", "adapter-3"]
    paths = [module["path"] for module in lora_modules(vllm_args(run))]
    for container, path in zip(containers, paths, strict=True):
        command = container["command"]
        assert path in command, command
        # Hardened like every download: read-only root, no token unless from the hub.
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["resources"]["requests"]["memory"] == container["resources"]["limits"]["memory"]
    summarize = containers[-1]["command"]
    revision = EXAMPLE["llm-serving:release"]["modelRevisions"][HUB_ADAPTER]
    assert summarize[:3] == ["hf", "download", HUB_ADAPTER]
    assert flag(summarize, "--revision") == revision
    s3 = containers[0]
    assert {e["name"] for e in s3["env"]} >= {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert pod["automountServiceAccountToken"] is False


def test_the_pool_waits_for_its_adapters() -> None:
    run = run_program(EXAMPLE)
    job = run.one("Job", f"{POOL}-adapters")
    deployment = run.one("Deployment", POOL)
    assert job.urn in deployment.dependencies, deployment.dependencies


def test_the_slots_come_out_of_the_kv_cache() -> None:
    """Llama-3.1-8B per layer and rank: A and B of q, k, v, o, gate, up and down are
    3x4096 + (4096 + 2x1024) + 4096 + 4096 + 2x4096 + 2x14336 + 14336 + 4096 = 81920
    values, x 32 layers; the embedding and the output head add 2 x (128256 + 4096)
    = 264704; x 3 slots x rank 32 x 2 bytes = 0.516 GiB."""
    with_adapters = run_program(EXAMPLE).outputs["capacity"]["pools"][POOL]
    config = copy.deepcopy(EXAMPLE)
    del config["llm-serving:pools"][POOL]["lora"]
    without = run_program(config).outputs["capacity"]["pools"][POOL]
    slots = with_adapters["memoryGiBPerGpu"]["loraAdapters"]
    assert slots == pytest.approx((81920 * 32 + VOCAB_TERM) * 3 * 32 * 2 / GIB, abs=1e-3)
    assert "loraAdapters" not in without["memoryGiBPerGpu"]
    kv_lost = without["memoryGiBPerGpu"]["kvCache"] - with_adapters["memoryGiBPerGpu"]["kvCache"]
    assert kv_lost == pytest.approx(slots, abs=0.01)
    assert with_adapters["kvCacheTokensPerPod"] < without["kvCacheTokensPerPod"]


def test_tensor_parallelism_splits_one_factor_of_each_layer() -> None:
    config = hub_only(maxLoraRank=16)
    single = run_program(config).outputs["capacity"]["pools"][POOL]["memoryGiBPerGpu"]["loraAdapters"]
    config["llm-serving:pools"][POOL]["tensorParallelSize"] = 2
    split = run_program(config).outputs["capacity"]["pools"][POOL]["memoryGiBPerGpu"]["loraAdapters"]
    # 81920 per layer and rank at TP 1; at TP 2 the split factors halve:
    # 3x4096 + 6144/2 + 2x4096 + 28672/2 + 4096/2 + 4096 + 14336/2 + 4096 = 55296.
    # The embedding and the output head stay whole on every rank.
    assert single == pytest.approx((81920 * 32 + VOCAB_TERM) * 16 * 2 / GIB, abs=1e-3)
    assert split == pytest.approx((55296 * 32 + VOCAB_TERM) * 16 * 2 / GIB, abs=1e-3)


def test_runtime_loading_is_off_unless_asked_for() -> None:
    def env(config: dict) -> dict:
        container = vllm_container(run_program(config), POOL)
        return {e["name"]: e.get("value") for e in container["env"]}

    # Explicitly off, so an image's own environment cannot turn it on.
    assert env(hub_only())["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "false"
    assert env(hub_only(runtimeLoading=True))["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "true"
    without_lora = copy.deepcopy(EXAMPLE)
    del without_lora["llm-serving:pools"][POOL]["lora"]
    assert "VLLM_ALLOW_RUNTIME_LORA_UPDATING" not in env(without_lora)


def test_each_adapter_is_routed_by_name_and_the_picker_prefers_pods_holding_it() -> None:
    run = run_program(EXAMPLE)
    (route,) = run.manifests_of_kind("HTTPRoute")
    header_rule = route["spec"]["rules"][1]
    names = [match["headers"][0]["value"] for match in header_rule["matches"]]
    assert names == ["llama-3.1-8b", "support-de", "sql-assist", "summarize"]
    (plugins,) = [
        yaml.safe_load(cm["data"]["plugins.yaml"])
        for cm in run.manifests_of_kind("ConfigMap")
        if "plugins.yaml" in cm.get("data", {})
    ]
    weights = {p["pluginRef"]: p["weight"] for p in plugins["schedulingProfiles"][0]["plugins"]}
    assert weights["lora-affinity-scorer"] == 2


def test_explicit_scorers_are_left_as_written() -> None:
    config = example()
    config["llm-serving:inferenceGateway"]["endpointPicker"] = {"scorers": {"queue-scorer": 1}}
    run = run_program(config)
    (plugins,) = [
        yaml.safe_load(cm["data"]["plugins.yaml"])
        for cm in run.manifests_of_kind("ConfigMap")
        if "plugins.yaml" in cm.get("data", {})
    ]
    assert [p["pluginRef"] for p in plugins["schedulingProfiles"][0]["plugins"]] == ["queue-scorer"]


def test_an_unpinned_hub_adapter_is_warned_about_and_a_pinned_one_is_not() -> None:
    assert not [w for w in warnings_of(EXAMPLE) if HUB_ADAPTER in w]
    config = copy.deepcopy(EXAMPLE)
    del config["llm-serving:release"]["modelRevisions"][HUB_ADAPTER]
    (warning,) = [w for w in warnings_of(config) if HUB_ADAPTER in w]
    assert "modelRevisions has no commit" in warning
    args = vllm_args(run_program(config))
    assert {m["name"]: m["path"] for m in lora_modules(args)}["summarize"].endswith(f"{HUB_ADAPTER}/main")


def test_slots_beyond_the_adapters_are_warned_about() -> None:
    (warning,) = [w for w in warnings_of(hub_only(maxLoras=4)) if ".lora:" in w]
    assert "lower maxLoras to 1" in warning
    assert not [w for w in warnings_of(hub_only(maxLoras=4, runtimeLoading=True)) if ".lora:" in w]


def _pd_with_lora(decode_lora: dict) -> dict:
    config = stack_file_config(ROOT / "Pulumi.prod.yaml")
    (pd_stack,) = config["llm-serving:pdStacks"].values()
    lora = {
        "adapters": {"summarize": {"hub": HUB_ADAPTER, "rank": 8, "baseModel": pd_stack["prefill"]["model"]}}
    }
    pd_stack["prefill"]["lora"] = lora
    pd_stack["decode"]["lora"] = decode_lora or lora
    return config


def test_prefill_and_decode_serve_the_same_adapters() -> None:
    outcome = run_outcome(_pd_with_lora({}))
    assert outcome.error is None, outcome.error
    for name in [n for n in (d["metadata"]["name"] for d in outcome.run.manifests_of_kind("Deployment"))]:
        if name.endswith(("-prefill", "-decode")):
            args = vllm_args(outcome.run, name)
            assert [m["name"] for m in lora_modules(args)] == ["summarize"]


ADAPTER = "llm-serving:pools.llama-3-1-8b.lora.adapters"
ADAPTER_8 = {"hub": HUB_ADAPTER, "rank": 8, "baseModel": LLAMA}


@pytest.mark.parametrize(
    ("change", "key", "text"),
    [
        ({"maxLoraRank": 16}, f"{ADAPTER}.sql-assist.rank", "raise lora.maxLoraRank to 32"),
        ({"maxLoraRank": 24}, "lora.maxLoraRank", "24"),
        ({"maxCpuLoras": 2}, "lora.maxCpuLoras", "at least 3"),
        ({"maxLoras": 0}, "lora.maxLoras", ""),
        ({"adapters": {}}, "lora.adapters", ""),
        ({"adapters": {"bad name": ADAPTER_8}}, "lora.adapters", ""),
        ({"adapters": {"x": {**ADAPTER_8, "baseModel": "Qwen/Qwen3-0.6B"}}},
         f"{ADAPTER}.x.baseModel", "trained on Qwen/Qwen3-0.6B"),
        ({"adapters": {"llama-3.1-8b": ADAPTER_8}},
         f"{ADAPTER}.llama-3.1-8b", "served model name"),
        ({"adapters": {"x": {"rank": 8, "baseModel": LLAMA}}}, f"{ADAPTER}.x", "exactly one source"),
        ({"adapters": {"x": {**ADAPTER_8, "s3": {"bucket": "adapters"}}}},
         f"{ADAPTER}.x", "exactly one source"),
        ({"adapters": {"x": {**ADAPTER_8, "rank": 1024}}}, f"{ADAPTER}.x.rank", ""),
        ({"adapters": {"x": {"hub": HUB_ADAPTER, "baseModel": LLAMA}}}, f"{ADAPTER}.x.rank", ""),
    ],
)  # fmt: skip
def test_refused_with_the_key(change: dict, key: str, text: str) -> None:
    config = example()
    lora = config["llm-serving:pools"][POOL]["lora"]
    if "adapters" in change:
        lora["adapters"] = change.pop("adapters")
        lora.pop("maxLoras")
    lora.update(change)
    outcome = run_outcome(config)
    assert outcome.error is not None and not outcome.run.resources
    full_key = key if key.startswith("llm-serving:") else f"llm-serving:pools.{POOL}.{key}"
    assert full_key in outcome.error, outcome.error
    assert text in outcome.error, outcome.error


@pytest.mark.parametrize(
    "extra_args", [["--enable-lora"], ["--max-loras", "2"], ["--lora-modules", "a=/x"], ["--max_lora_rank=8"]]
)
def test_lora_flags_in_extra_args_are_refused(extra_args: list[str]) -> None:
    config = copy.deepcopy(EXAMPLE)
    config["llm-serving:pools"][POOL]["extraArgs"] = extra_args
    outcome = run_outcome(config)
    assert outcome.error is not None and f"llm-serving:pools.{POOL}.extraArgs[0]" in outcome.error
    assert "lora" in outcome.error


def test_the_runtime_loading_variable_is_refused_in_env() -> None:
    config = copy.deepcopy(EXAMPLE)
    config["llm-serving:pools"][POOL]["env"] = {"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True"}
    outcome = run_outcome(config)
    assert outcome.error is not None and "lora.runtimeLoading" in outcome.error, outcome.error


def test_different_adapters_on_prefill_and_decode_are_refused() -> None:
    other = {"adapters": {"other": {"hub": HUB_ADAPTER, "rank": 8, "baseModel": LLAMA}}}
    outcome = run_outcome(_pd_with_lora(other))
    assert outcome.error is not None and not outcome.run.resources
    assert ".decode.lora" in outcome.error, outcome.error


def test_a_model_vllm_has_no_lora_for_is_refused_at_preview() -> None:
    """vLLM 0.19.1's KimiVLForConditionalGeneration does not implement SupportsLoRA."""
    config = hub_only()
    pool = config["llm-serving:pools"][POOL]
    pool["model"] = pool["lora"]["adapters"]["summarize"]["baseModel"] = "moonshotai/Kimi-VL-A3B-Instruct"
    outcome = run_outcome(config)
    assert outcome.error is not None and not outcome.run.resources
    assert f"llm-serving:pools.{POOL}.lora" in outcome.error and "implements no LoRA" in outcome.error


def test_a_vocabulary_vllm_refuses_lora_for_is_refused_at_preview() -> None:
    """vLLM 0.19.1 raises at start-up for a vocabulary above 258048 (Gemma 3: 262208)."""
    config = hub_only()
    pool = config["llm-serving:pools"][POOL]
    pool["model"] = "google/gemma-3-4b-it"
    pool["lora"]["adapters"]["summarize"]["baseModel"] = "google/gemma-3-4b-it"
    outcome = run_outcome(config)
    assert outcome.error is not None and not outcome.run.resources
    assert f"llm-serving:pools.{POOL}.lora" in outcome.error
    assert "262208" in outcome.error and "258048" in outcome.error, outcome.error


def test_lora_on_a_mixture_of_experts_model_warns_that_its_expert_slots_are_not_sized() -> None:
    config = hub_only()
    pool = config["llm-serving:pools"][POOL]
    pool["model"] = pool["lora"]["adapters"]["summarize"]["baseModel"] = "Qwen/Qwen1.5-MoE-A2.7B"
    pool["maxModelLen"] = 8192
    (warning,) = [w for w in warnings_of(config) if "experts" in w]
    assert f"pools.{POOL}.lora" in warning and "60 experts a layer" in warning and "overheadGib" in warning
    assert not [w for w in warnings_of(hub_only()) if "experts" in w]


@pytest.mark.parametrize("clash", ["adapter", "served name"])
def test_an_adapter_name_another_route_also_matches_is_refused(clash: str) -> None:
    """The gateway's header rules match served names and adapter names alike."""
    config = example()
    second = copy.deepcopy(config["llm-serving:pools"][POOL])
    second["servedModelName"] = "summarize" if clash == "served name" else "llama-3.1-8b-b"
    if clash == "served name":
        del second["lora"]
    config["llm-serving:pools"]["llama-b"] = second
    config["llm-serving:inferenceGateway"]["routes"]["llama-b"] = {}
    outcome = run_outcome(config)
    assert outcome.error is not None and not outcome.run.resources
    assert "matchModelHeader" in outcome.error and "'summarize'" in outcome.error, outcome.error
