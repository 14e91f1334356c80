"""KV-cache offload to CPU memory (`pools.<name>.kvOffload`), run through the real
program under Pulumi's mocks: vLLM 0.19.1's flags, the pod's memory grown by its share
of the buffer (request = limit), the quota and the LimitRange grown with it, and the
refusals: a pod larger than a GPU node, offload on a prefill/decode role, the flags in
extraArgs, bad sizes and backends.
"""

from __future__ import annotations

import copy

import pytest

from harness import ROOT, run_outcome, run_program, stack_file_config

POOL = "llama-3-1-8b-chat"
EXAMPLE = stack_file_config(ROOT / "examples" / "offload-and-speculation.yaml")
GIB = 2**30
MIB = 2**20


def example(**pool_changes) -> dict:
    config = copy.deepcopy(EXAMPLE)
    config["llm-serving:pools"][POOL].update(pool_changes)
    return config


def vllm_container(run, name: str = POOL) -> dict:
    (deployment,) = [d for d in run.manifests_of_kind("Deployment") if d["metadata"]["name"] == name]
    return deployment["spec"]["template"]["spec"]["containers"][0]


def mebibytes(quantity: str) -> int:
    assert quantity.endswith("Mi"), quantity
    return int(quantity[:-2])


def test_the_flags_and_the_pod_memory_carry_the_buffer() -> None:
    run = run_program(EXAMPLE)
    container = vllm_container(run)
    args = container["args"]
    assert args[args.index("--kv-offloading-size") + 1] == "96"
    assert args[args.index("--kv-offloading-backend") + 1] == "native"
    resources = container["resources"]
    # 32 GiB of resources.memory + 96 GiB of buffer, request = limit.
    assert resources["requests"]["memory"] == resources["limits"]["memory"] == f"{(32 + 96) * 1024}Mi"


def test_quota_and_limit_range_grow_by_the_buffer() -> None:
    without = run_program(example(kvOffload=None))
    with_offload = run_program(EXAMPLE)

    def quota(run) -> dict:
        (quota,) = run.manifests_of_kind("ResourceQuota")
        return quota["spec"]["hard"]

    def container_max(run) -> str:
        (limit_range,) = run.manifests_of_kind("LimitRange")
        (limits,) = [item for item in limit_range["spec"]["limits"] if item["type"] == "Container"]
        return limits["max"]["memory"]

    # Two replicas (GPU rollouts add no surge pod), each 96 GiB more, plus the quota's
    # 10% headroom.
    grown = mebibytes(quota(with_offload)["limits.memory"]) - mebibytes(quota(without)["limits.memory"])
    assert abs(grown - 2 * 96 * 1024 * 1.1) <= 1
    assert mebibytes(container_max(with_offload)) - mebibytes(container_max(without)) == 96 * 1024


def test_the_lmcache_backend_is_passed_as_vllm_names_it() -> None:
    run = run_program(example(kvOffload={"sizeGib": 1.5, "backend": "lmcache"}))
    args = vllm_container(run)["args"]
    assert args[args.index("--kv-offloading-size") + 1] == "1.5"
    assert args[args.index("--kv-offloading-backend") + 1] == "lmcache"
    assert vllm_container(run)["resources"]["limits"]["memory"] == f"{32 * 1024 + 1536}Mi"


def test_a_pod_larger_than_a_gpu_node_is_refused_with_the_numbers() -> None:
    outcome = run_outcome(example(kvOffload={"sizeGib": 480}))
    assert outcome.error is not None and not outcome.run.resources
    assert f"llm-serving:pools.{POOL}.kvOffload.sizeGib = 480" in outcome.error
    assert "needs 524288Mi of memory" in outcome.error and "gpu.nodeMemory 503Gi" in outcome.error
    assert "Fix: lower kvOffload.sizeGib" in outcome.error


def test_without_node_memory_the_size_is_not_checked_against_a_node() -> None:
    config = example(kvOffload={"sizeGib": 480})
    config["llm-serving:gpu"] = {"products": ["NVIDIA-L40S"]}
    assert run_outcome(config).error is None


def test_offload_on_a_prefill_decode_role_is_refused() -> None:
    config = stack_file_config(ROOT / "Pulumi.prod.yaml")
    config["llm-serving:pdStacks"]["llama-3-1-8b"]["decode"]["kvOffload"] = {"sizeGib": 8}
    outcome = run_outcome(config)
    assert outcome.error is not None and not outcome.run.resources
    assert "llm-serving:pdStacks.llama-3-1-8b.decode.kvOffload" in outcome.error
    assert "NixlConnector" in outcome.error


@pytest.mark.parametrize("flag", ["--kv-offloading-size=8", "--kv-offloading-backend"])
def test_the_flags_belong_to_the_typed_keys(flag: str) -> None:
    outcome = run_outcome(example(extraArgs=[flag, "native"] if "=" not in flag else [flag]))
    assert outcome.error is not None and f"llm-serving:pools.{POOL}.extraArgs" in outcome.error
    assert "kvOffload" in outcome.error


@pytest.mark.parametrize(
    ("offload", "key"),
    [
        ({"sizeGib": 0}, "kvOffload.sizeGib"),
        ({"sizeGib": -4}, "kvOffload.sizeGib"),
        ({"sizeGib": 5000}, "kvOffload.sizeGib"),
        ({"sizeGib": 8, "backend": "disk"}, "kvOffload.backend"),
        ({"backend": "native"}, "kvOffload.sizeGib"),
    ],
)
def test_bad_sizes_and_backends_are_refused(offload: dict, key: str) -> None:
    outcome = run_outcome(example(kvOffload=offload))
    assert outcome.error is not None and f"llm-serving:pools.{POOL}.{key}" in outcome.error
