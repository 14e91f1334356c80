"""Sizing arithmetic against published model facts and vLLM 0.19's own start-up logs."""

from __future__ import annotations

import statistics
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from config import sizing
from config.catalog import BUILTIN_GPUS, BUILTIN_MODELS, GpuModel, ModelArchitecture

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import sizing_accuracy  # noqa: E402

LLAMA_8B = BUILTIN_MODELS["meta-llama/Llama-3.1-8B-Instruct"]
LLAMA_70B = BUILTIN_MODELS["meta-llama/Llama-3.1-70B-Instruct"]
DEEPSEEK_MLA = BUILTIN_MODELS["deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct"]
GEMMA_3_27B = BUILTIN_MODELS["google/gemma-3-27b-it"]
L40 = BUILTIN_GPUS["NVIDIA-L40"]
H100 = BUILTIN_GPUS["NVIDIA-H100-80GB-HBM3"]
CALIBRATION = sizing_accuracy.load_rows()


def _shape(arch=LLAMA_8B, gpu=L40, tp=1, max_len=32768, utilization=0.9, **overrides) -> sizing.PodShape:
    shape = sizing.pod_shape(
        arch, gpu, max_model_len=max_len, gpu_memory_utilization=utilization, tensor_parallel_size=tp
    )
    return replace(shape, **overrides)


# --- the calibration file: the done-bounds ----------------------------------------


def test_kv_tokens_match_vllm_start_up_logs_within_the_bounds():
    """Median |error| <= 2%, max <= 8%, no row over-estimated by more than 3%."""
    results = [sizing_accuracy.estimate(row) for row in CALIBRATION]
    assert len(results) == 23
    summary = sizing_accuracy.summarize(results)
    over = {r.model: f"{r.error:+.2%}" for r in results if r.error > 0.03}
    assert summary.median_abs_error <= 0.02
    assert summary.max_abs_error <= 0.08
    assert not over, f"over-estimated by more than 3%: {over}"


@pytest.mark.parametrize(
    "row", CALIBRATION, ids=lambda row: f"{row['model_id']}-tp{row['tensor_parallel_size']}"
)
def test_block_rounding_turns_the_logged_pool_into_the_logged_tokens(row):
    """Given vLLM's own available KV bytes, our layout gives its token count.

    This checks each catalog model's layers, KV heads, head size, MLA latent and hybrid
    layout against a real log; the logged GiB has two decimals, so allow that rounding.
    """
    capacity = sizing_accuracy.estimate(row).capacity
    logged_kv = float(row["available_kv_cache_gib_per_gpu"]) * sizing.GIB
    pinned = replace(
        capacity, margin_bytes=capacity.margin_bytes + capacity.kv_cache_bytes_per_gpu - logged_kv
    )
    assert pinned.kv_cache_tokens == pytest.approx(int(row["kv_tokens"]), rel=0.002)


@pytest.mark.parametrize(
    "row", CALIBRATION, ids=lambda row: f"{row['model_id']}-tp{row['tensor_parallel_size']}"
)
def test_weights_match_what_vllm_loaded(row):
    capacity = sizing_accuracy.estimate(row).capacity
    logged = float(row["model_loading_gib_per_gpu"]) * sizing.GIB
    assert capacity.weight_bytes_per_gpu == pytest.approx(logged, rel=0.02)


def test_activation_term_tracks_the_logged_peak():
    """Per row within 0.65 GiB; the median row within 0.1 GiB."""
    gaps = []
    for row in CALIBRATION:
        capacity = sizing_accuracy.estimate(row).capacity
        gaps.append(abs(capacity.activation_bytes / sizing.GIB - float(row["activation_gib"])))
    assert max(gaps) < 0.65 and statistics.median(gaps) < 0.1


# --- each term ------------------------------------------------------------------------------


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


def test_budget_adds_up_on_the_torch_visible_total():
    capacity = sizing.pod_capacity(_shape(margin_gib=1.0))
    total = (
        capacity.weight_bytes_per_gpu
        + capacity.activation_bytes
        + capacity.non_torch_bytes
        + capacity.margin_bytes
        + capacity.kv_cache_bytes_per_gpu
    )
    # vLLM multiplies what torch reports (45465 MiB on an L40), not the 46068 MiB label.
    assert total == pytest.approx(L40.torch_memory_mib * sizing.MIB * 0.9)
    assert capacity.total_bytes == L40.torch_visible_mib * sizing.MIB < L40.memory_mib * sizing.MIB
    assert capacity.weight_bytes_per_gpu / sizing.GIB == pytest.approx(14.96, abs=0.01)
    assert capacity.margin_bytes == sizing.GIB
    assert capacity.fits and capacity.kv_cache_tokens % 16 == 0
    assert capacity.max_concurrent_full_sequences == capacity.kv_cache_tokens // 32768


def test_gpus_without_a_measured_torch_total_are_estimated_low():
    gpu = GpuModel(memory_mib=10000, compute_capability=8.9, display_name="custom")
    assert gpu.torch_visible_mib == 9700
    with pytest.raises(ValueError, match="torchMemoryMib"):
        GpuModel(memory_mib=10000, torch_memory_mib=10001, compute_capability=8.9, display_name="custom")


def test_activation_is_the_sampler_logits_plus_hidden_states():
    shape = _shape(gpu=H100)  # 8192 batched tokens, 1024 sequences
    logits = 3.5 * 1024 * 128256 * 4
    hidden = 4.0 * 8192 * 4096 * 2
    assert sizing.activation_bytes(shape) == pytest.approx(logits + hidden)


def test_activation_grows_with_vocabulary_and_sequences_but_not_with_tensor_parallelism():
    base = sizing.activation_bytes(_shape(gpu=H100))
    assert sizing.activation_bytes(_shape(gpu=H100, tp=4)) == base
    assert sizing.activation_bytes(_shape(gpu=H100, max_num_seqs=2048)) > base
    bigger_vocab = LLAMA_8B.model_copy(update={"vocab_size": 256000})
    assert sizing.activation_bytes(_shape(arch=bigger_vocab, gpu=H100)) > base
    # vLLM samples at most max_num_batched_tokens rows.
    assert sizing.activation_bytes(_shape(gpu=H100, max_num_seqs=8192)) == sizing.activation_bytes(
        _shape(gpu=H100, max_num_seqs=100_000)
    )


def test_non_torch_memory_jumps_with_tensor_parallelism_not_pipeline_parallelism():
    def non_torch_gib(tp, pp=1):
        return sizing.non_torch_bytes(_shape(tp=tp, pipeline_parallel_size=pp)) / sizing.GIB

    assert non_torch_gib(1) == pytest.approx(0.26)
    assert non_torch_gib(2) == pytest.approx(2.07)
    assert non_torch_gib(4) == pytest.approx(2.17)
    assert non_torch_gib(1, pp=2) < 1


def test_vllm_defaults_depend_on_the_gpu_and_exclude_the_a100():
    assert sizing.scheduler_defaults(H100) == (8192, 1024)
    assert sizing.scheduler_defaults(BUILTIN_GPUS["NVIDIA-H200"]) == (8192, 1024)
    assert sizing.scheduler_defaults(BUILTIN_GPUS["NVIDIA-A100-SXM4-80GB"]) == (2048, 256)
    assert sizing.scheduler_defaults(L40) == (2048, 256)


def test_quantized_weights_keep_embeddings_and_head_in_sixteen_bit():
    bf16 = sizing.weight_bytes(LLAMA_70B, 2, None)
    embeddings = 2 * 128256 * 8192
    assert sizing.weight_bytes(LLAMA_70B, 2, "fp8") == pytest.approx((bf16 / 2 - embeddings) + embeddings * 2)
    awq = BUILTIN_MODELS["TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ"]
    # The checkpoint's safetensors hold 24.65 GB.
    assert sizing.weight_bytes(awq, 2, None) / 1e9 == pytest.approx(24.65, abs=0.05)


def test_a_measured_weight_size_wins_for_the_checkpoint_as_shipped():
    assert sizing.weight_bytes(GEMMA_3_27B, 2, None) == 51.45 * sizing.GIB


def test_plain_models_are_one_group_of_all_layers():
    layout = sizing.kv_layout(_shape())
    assert (layout.group_size, layout.num_groups) == (32, 1)


@pytest.mark.parametrize(
    "model, tp, group_size, full_groups, local_groups",
    [
        ("google/gemma-3-27b-it", 1, 10, 1, 6),  # 10 full + 52 sliding: 52 padded to 60
        ("google/gemma-2-9b-it", 1, 21, 1, 1),  # alternating
        ("openai/gpt-oss-20b", 2, 12, 1, 1),
        ("meta-llama/Llama-4-Scout-17B-16E-Instruct", 4, 12, 1, 3),  # 3 chunked : 1 global
    ],
)
def test_hybrid_models_group_layers_as_vllm_does(model, tp, group_size, full_groups, local_groups):
    layout = sizing.kv_layout(_shape(arch=BUILTIN_MODELS[model], gpu=H100, tp=tp, max_len=8192))
    assert (layout.group_size, layout.full_groups, layout.local_groups) == (
        group_size,
        full_groups,
        local_groups,
    )


def test_sliding_window_layers_need_only_their_window_per_request():
    capacity = sizing.pod_capacity(_shape(arch=GEMMA_3_27B, gpu=H100, max_len=131072))
    full_blocks = 131072 // 16
    window_blocks = -(-(1024 - 1 + 8192) // 16) + 1
    assert capacity.blocks_for(131072) == full_blocks + 6 * window_blocks
    # Below the window a sliding group needs the whole request plus one block.
    assert capacity.blocks_for(256) == 16 + 6 * 17


def test_fit_is_decided_in_whole_blocks_and_the_suggested_length_fits_exactly():
    for arch in (LLAMA_8B, GEMMA_3_27B):
        shape = _shape(arch=arch, gpu=BUILTIN_GPUS["NVIDIA-L4"] if arch is LLAMA_8B else H100, max_len=131072)
        capacity = sizing.pod_capacity(shape)
        suggested = capacity.max_model_len_that_fits
        assert suggested % 16 == 0
        assert sizing.pod_capacity(replace(shape, max_model_len=suggested)).fits
        assert not sizing.pod_capacity(replace(shape, max_model_len=suggested + 16)).fits


def test_vllm_release_is_read_from_the_image_tag():
    assert sizing.vllm_release("vllm/vllm-openai:v0.19.1") == "0.19"
    assert sizing.vllm_release("registry.local/vllm-openai:0.21.0-cu128") == "0.21"
    assert sizing.vllm_release("vllm/vllm-openai@sha256:" + "a" * 64) is None


def test_unknown_release_falls_back_to_the_pinned_constants():
    shape = sizing.pod_shape(LLAMA_8B, H100, max_model_len=8192, gpu_memory_utilization=0.9, release="0.7")
    assert shape.profiler is sizing.PROFILER_CONSTANTS[sizing.PINNED_VLLM_RELEASE]


def test_catalog_hybrid_layout_needs_both_fields():
    with pytest.raises(ValueError, match="fullAttentionLayers and slidingWindow"):
        ModelArchitecture(**{**LLAMA_8B.model_dump(), "sliding_window": 4096})


# --- remedies -------------------------------------------------------------------------------


def test_weights_are_split_across_the_pods_gpus():
    one = sizing.pod_capacity(_shape(arch=LLAMA_70B, tp=1))
    four = sizing.pod_capacity(_shape(arch=LLAMA_70B, tp=4))
    assert four.weight_bytes_per_gpu == pytest.approx(one.weight_bytes_per_gpu / 4)


def test_llama_70b_does_not_fit_one_l40_but_fits_eight():
    assert not sizing.pod_capacity(_shape(arch=LLAMA_70B, tp=1)).weights_fit
    assert sizing.pod_capacity(_shape(arch=LLAMA_70B, tp=8)).fits


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
    fp8 = replace(shape, weight_bytes=sizing.weight_bytes(LLAMA_70B, 2, "fp8"))
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


def test_dropping_the_users_margin_is_offered_when_it_is_what_does_not_fit():
    shape = _shape(max_len=131072)
    kv_gib = sizing.pod_capacity(shape).kv_cache_bytes_per_gpu / sizing.GIB
    needed_gib = 131072 * 131072 / sizing.GIB
    with_margin = replace(shape, margin_gib=kv_gib - needed_gib + 0.5)
    assert sizing.pod_capacity(shape).fits and not sizing.pod_capacity(with_margin).fits
    assert "overheadGib: 0 (your own reserve is what does not fit)" in sizing.remedies(
        with_margin, 8, BUILTIN_GPUS, True
    )
