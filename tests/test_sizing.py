"""Sizing arithmetic against published model facts and vLLM's own numbers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from config import sizing
from config.catalog import BUILTIN_GPUS, BUILTIN_MODELS

LLAMA_8B = BUILTIN_MODELS["meta-llama/Llama-3.1-8B-Instruct"]
LLAMA_70B = BUILTIN_MODELS["meta-llama/Llama-3.1-70B-Instruct"]
DEEPSEEK_MLA = BUILTIN_MODELS["deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct"]
L40 = BUILTIN_GPUS["NVIDIA-L40"]
H100 = BUILTIN_GPUS["NVIDIA-H100-80GB-HBM3"]


# KV bytes per token, whole model, TP=1, 16-bit: ../shared/notes/vllm.md section 3.
@pytest.mark.parametrize(
    "model, expected",
    [
        ("meta-llama/Llama-3.1-8B-Instruct", 131_072),
        ("meta-llama/Llama-3.1-70B-Instruct", 327_680),
        ("meta-llama/Llama-3.1-405B-Instruct", 516_096),
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", 131_072),
        ("deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct", 31_104),
        ("Qwen/Qwen2.5-0.5B-Instruct", 12_288),
        ("Qwen/Qwen3-0.6B", 114_688),
        ("facebook/opt-125m", 36_864),
    ],
)
def test_kv_bytes_per_token_match_model_configs(model, expected):
    assert sizing.kv_bytes_per_token_per_gpu(BUILTIN_MODELS[model], 1, 1, 2) == expected


def test_full_llama_context_needs_sixteen_gib_as_vllm_reports():
    per_token = sizing.kv_bytes_per_token_per_gpu(LLAMA_8B, 1, 1, 2)
    assert per_token * 131_072 == 16 * sizing.GIB


def test_tensor_parallelism_splits_kv_heads_until_they_run_out():
    one = sizing.kv_bytes_per_token_per_gpu(LLAMA_8B, 1, 1, 2)
    assert sizing.kv_bytes_per_token_per_gpu(LLAMA_8B, 2, 1, 2) == one // 2
    assert sizing.kv_bytes_per_token_per_gpu(LLAMA_8B, 8, 1, 2) == one // 8
    # 8 KV heads over 16 ranks: each rank keeps a replicated head.
    assert sizing.kv_bytes_per_token_per_gpu(LLAMA_8B, 16, 1, 2) == one // 8


def test_mla_latent_is_not_split_by_tensor_parallelism():
    assert sizing.kv_bytes_per_token_per_gpu(DEEPSEEK_MLA, 4, 1, 2) == sizing.kv_bytes_per_token_per_gpu(
        DEEPSEEK_MLA, 1, 1, 2
    )


def test_pipeline_parallelism_splits_layers():
    assert (
        sizing.kv_bytes_per_token_per_gpu(LLAMA_70B, 1, 2, 2)
        == sizing.kv_bytes_per_token_per_gpu(LLAMA_70B, 1, 1, 2) // 2
    )


def test_fp8_kv_cache_halves_bytes():
    assert sizing.kv_bytes_per_token_per_gpu(LLAMA_8B, 1, 1, 1) * 2 == sizing.kv_bytes_per_token_per_gpu(
        LLAMA_8B, 1, 1, 2
    )


def _shape(arch=LLAMA_8B, gpu=L40, tp=1, max_len=32768, utilization=0.9, **overrides) -> sizing.PodShape:
    tokens, seqs = sizing.scheduler_defaults(gpu)
    shape = sizing.PodShape(
        arch=arch,
        gpu=gpu,
        tensor_parallel_size=tp,
        pipeline_parallel_size=1,
        max_model_len=max_len,
        gpu_memory_utilization=utilization,
        weight_bytes=sizing.weight_bytes(arch, 2, None),
        activation_dtype_bytes=2,
        kv_dtype_bytes=2,
        block_size=16,
        max_num_batched_tokens=tokens,
        max_num_seqs=seqs,
        overhead_gib=1.5,
    )
    return replace(shape, **overrides)


def test_llama_8b_on_l40_budget_adds_up():
    capacity = sizing.pod_capacity(_shape())
    total = (
        capacity.weight_bytes_per_gpu
        + capacity.activation_bytes
        + capacity.overhead_bytes
        + capacity.kv_cache_bytes_per_gpu
    )
    assert total == pytest.approx(L40.memory_mib * sizing.MIB * 0.9)
    assert capacity.weight_bytes_per_gpu / sizing.GIB == pytest.approx(14.96, abs=0.01)
    assert capacity.fits
    assert capacity.kv_cache_tokens % 16 == 0
    assert capacity.max_concurrent_full_sequences == capacity.kv_cache_tokens // 32768


def test_weights_are_split_across_the_pods_gpus():
    one = sizing.pod_capacity(_shape(arch=LLAMA_70B, tp=1))
    four = sizing.pod_capacity(_shape(arch=LLAMA_70B, tp=4))
    assert four.weight_bytes_per_gpu == pytest.approx(one.weight_bytes_per_gpu / 4)


def test_llama_70b_does_not_fit_one_l40_but_fits_eight():
    assert not sizing.pod_capacity(_shape(arch=LLAMA_70B, tp=1)).weights_fit
    assert sizing.pod_capacity(_shape(arch=LLAMA_70B, tp=8)).fits


def test_quantized_weights_are_smaller():
    assert sizing.weight_bytes(LLAMA_70B, 2, "fp8") == pytest.approx(
        sizing.weight_bytes(LLAMA_70B, 2, None) / 2
    )
    awq = BUILTIN_MODELS["TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ"]
    assert sizing.weight_bytes(awq, 2, None) == 23.0 * sizing.GIB


def test_large_gpus_get_vllms_larger_scheduler_defaults():
    assert sizing.scheduler_defaults(H100) == (8192, 1024)
    assert sizing.scheduler_defaults(L40) == (2048, 256)


def test_valid_tensor_parallel_sizes_divide_the_heads():
    assert sizing.valid_tensor_parallel_sizes(LLAMA_8B, 8) == [1, 2, 4, 8]
    qwen = BUILTIN_MODELS["Qwen/Qwen2.5-0.5B-Instruct"]  # 14 heads
    assert sizing.valid_tensor_parallel_sizes(qwen, 8) == [1, 2, 7]


def test_suggested_tensor_parallelism_is_the_smallest_that_fits():
    shape = _shape(arch=LLAMA_70B, tp=1, max_len=131072)
    fixes = sizing.remedies(shape, 8, BUILTIN_GPUS, online_quantization_allowed=True)
    assert "tensorParallelSize: 8 (8 GPUs per pod)" in fixes
    assert sizing.pod_capacity(replace(shape, tensor_parallel_size=8)).fits
    assert not sizing.pod_capacity(replace(shape, tensor_parallel_size=4)).fits


def test_suggested_fp8_quantization_names_the_tensor_parallelism_it_needs():
    shape = _shape(arch=LLAMA_70B, tp=1, max_len=131072)
    fixes = sizing.remedies(shape, 8, BUILTIN_GPUS, online_quantization_allowed=True)
    assert "quantization: fp8 with tensorParallelSize: 4 (or a pre-quantized AWQ/GPTQ checkpoint)" in fixes
    fp8 = replace(shape, weight_bytes=LLAMA_70B.params_billion * 1e9)
    assert sizing.pod_capacity(replace(fp8, tensor_parallel_size=4)).fits
    assert not sizing.pod_capacity(replace(fp8, tensor_parallel_size=2)).fits


def test_no_quantization_remedy_for_a_prequantized_checkpoint():
    shape = _shape(arch=LLAMA_70B, tp=1, max_len=131072)
    fixes = sizing.remedies(shape, 8, BUILTIN_GPUS, online_quantization_allowed=False)
    assert not any(f.startswith("quantization") for f in fixes)


def test_suggested_max_model_len_fits_exactly():
    shape = _shape(gpu=BUILTIN_GPUS["NVIDIA-L4"], max_len=131072)
    capacity = sizing.pod_capacity(shape)
    assert capacity.weights_fit and not capacity.fits
    suggested = capacity.max_model_len_that_fits
    assert f"maxModelLen: {suggested} or less" in sizing.remedies(shape, 8, BUILTIN_GPUS, True)
    assert sizing.pod_capacity(replace(shape, max_model_len=suggested)).fits
    assert not sizing.pod_capacity(replace(shape, max_model_len=suggested + 16)).fits
