"""The startup probe's budget follows the model's size and where its weights come from
(config/serving/startup_budget.py), and preview advises a prefetch for large downloads."""

from __future__ import annotations

import copy

import pytest

from config.loader import parse_stack_config
from config.serving.startup_budget import (
    DOWNLOAD_MIB_PER_SECOND,
    ENGINE_SECONDS,
    FLOOR_SECONDS,
    LOAD_MIB_PER_SECOND,
    MULTI_NODE_FLOOR_SECONDS,
    derived_startup_seconds,
)
from harness import ROOT, run_program, stack_file_config

SEVENTY_B = "meta-llama/Llama-3.1-70B-Instruct"


def startup_budget(run, workload: str) -> int:
    (deployment,) = [d for d in run.of_kind("Deployment") if d.inputs["metadata"]["name"] == workload]
    (vllm,) = [c for c in deployment.inputs["spec"]["template"]["spec"]["containers"] if c["name"] == "vllm"]
    probe = vllm["startupProbe"]
    return probe["periodSeconds"] * probe["failureThreshold"]


def seventy_b(prefetch: bool, **pool: object) -> dict:
    return {
        "llm-serving:gpu": {"products": ["NVIDIA-H100-80GB-HBM3"]},
        "llm-serving:huggingFace": {"existingSecret": "hf-token"},  # the model is gated
        "llm-serving:modelCache": {"mode": "pvc", "size": "200Gi", "prefetch": {"enabled": prefetch}},
        "llm-serving:pools": {
            "big": {"model": SEVENTY_B, "tensorParallelSize": 4, "maxModelLen": 8192, **pool}
        },
    }


@pytest.mark.parametrize(
    ("weights_gib", "downloads", "multi_node", "expected"),
    [
        (15, True, False, FLOOR_SECONDS),  # an 8B model: the floor
        (131, False, False, FLOOR_SECONDS),  # 70B in bf16, prefetched
        (131, True, False, 3960),  # 70B downloading itself
        (382, False, True, MULTI_NODE_FLOOR_SECONDS),  # 405B FP8 over two nodes, prefetched
        (382, True, True, 10380),  # ... downloading itself: 2.9 h
    ],
)
def test_the_budget_is_engine_start_load_and_download_at_slow_rates(
    weights_gib, downloads, multi_node, expected
):
    assert derived_startup_seconds(weights_gib, downloads, multi_node) == expected
    if expected not in (FLOOR_SECONDS, MULTI_NODE_FLOOR_SECONDS):
        mib = weights_gib * 1024
        exact = ENGINE_SECONDS + mib / LOAD_MIB_PER_SECOND + mib / DOWNLOAD_MIB_PER_SECOND
        assert 0 <= expected - exact < 60


def test_a_pod_that_downloads_a_large_model_gets_the_time_to_do_it():
    downloading = run_program(seventy_b(prefetch=False))
    prefetched = run_program(seventy_b(prefetch=True))
    capacity = downloading.outputs["capacity"]["pools"]["big"]
    weights = capacity["weightsGiBPerGpu"] * capacity["gpusPerPod"]
    assert 130 < weights < 133  # 70.6 B parameters in bf16
    budget = startup_budget(downloading, "big")
    assert budget == derived_startup_seconds(weights, True, False) > 3900
    assert startup_budget(prefetched, "big") == FLOOR_SECONDS
    # The rollout may take the whole budget and a margin, and Pulumi waits as long.
    (deployment,) = downloading.of_kind("Deployment")
    assert deployment.inputs["spec"]["progressDeadlineSeconds"] == budget + 600


def test_an_explicit_budget_wins():
    run = run_program(seventy_b(prefetch=False, probes={"startupTimeoutSeconds": 900}))
    assert startup_budget(run, "big") == 900


def test_the_committed_stacks_keep_the_floor_for_small_models():
    run = run_program(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    for pool in ("llama-3-1-8b", "mixtral-8x7b", "deepseek-coder-v2-lite"):
        assert startup_budget(run, pool) == FLOOR_SECONDS


def test_preview_advises_a_prefetch_for_a_large_download_only():
    def warnings(config: dict) -> list[str]:
        values = {key.removeprefix("llm-serving:"): value for key, value in config.items()}
        return parse_stack_config(values, has_hf_token=False)[1].warnings

    (advice,) = [w for w in warnings(seventy_b(prefetch=False)) if "prefetch" in w]
    assert advice.startswith("llm-serving:pools.big: every pod downloads its 131 GiB checkpoint")
    assert "llm-serving:modelCache.prefetch.enabled: true" in advice
    assert not [w for w in warnings(seventy_b(prefetch=True)) if "prefetch" in w]
    small = copy.deepcopy(seventy_b(prefetch=False))
    small["llm-serving:pools"]["big"]["model"] = "meta-llama/Llama-3.1-8B-Instruct"
    assert not [w for w in warnings(small) if "prefetch" in w]
