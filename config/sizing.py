"""GPU memory arithmetic for one vLLM pod, as vLLM itself does it.

vLLM reserves `gpu_memory_utilization x total GPU memory` per GPU, loads the weights,
runs a profiling forward pass at `max_num_batched_tokens`, and gives what is left to
the KV cache (vllm/v1/worker/gpu_worker.py). It refuses to start if that cache
cannot hold one full `max_model_len` sequence. We do the same sum at preview time so
that a config that cannot start never reaches the cluster.

Pure functions, no Pulumi imports. Every quantity is in bytes unless named `_gib`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from config.catalog import GpuModel, ModelArchitecture

GIB = 1024**3
MIB = 1024**2

DTYPE_BYTES = {
    "bfloat16": 2,
    "float16": 2,
    "half": 2,
    "float32": 4,
    "float": 4,
}
# Bytes per parameter for weight quantizations, including group scales.
QUANTIZED_BYTES_PER_PARAM = {
    "awq": 0.5625,
    "awq_marlin": 0.5625,
    "gptq": 0.5625,
    "gptq_marlin": 0.5625,
    "fp8": 1.0,
    "compressed-tensors": 1.0,
}
# vLLM's default block size for CUDA attention backends.
DEFAULT_BLOCK_SIZE = 16
# vLLM's online-serving defaults for the scheduler depend on the GPU class: large
# (>= 70 GiB) GPUs get bigger batches.
LARGE_GPU_MIB = 70 * 1024
DEFAULT_BATCHED_TOKENS = {True: 8192, False: 2048}
DEFAULT_MAX_NUM_SEQS = {True: 1024, False: 256}


@dataclass(frozen=True)
class PodShape:
    """Everything that decides one pod's memory: the model, the GPU and the flags."""

    arch: ModelArchitecture
    gpu: GpuModel
    tensor_parallel_size: int
    pipeline_parallel_size: int
    max_model_len: int
    gpu_memory_utilization: float
    weight_bytes: float  # whole model, all GPUs together
    activation_dtype_bytes: int
    kv_dtype_bytes: int
    block_size: int
    max_num_batched_tokens: int
    max_num_seqs: int
    overhead_gib: float

    @property
    def gpus_per_pod(self) -> int:
        return self.tensor_parallel_size * self.pipeline_parallel_size


@dataclass(frozen=True)
class PodCapacity:
    """The memory budget of one GPU of a pod, and what the KV cache gets."""

    shape: PodShape
    usable_bytes: float
    weight_bytes_per_gpu: float
    activation_bytes: float
    overhead_bytes: float
    kv_bytes_per_token_per_gpu: int

    @property
    def kv_cache_bytes_per_gpu(self) -> float:
        return self.usable_bytes - self.weight_bytes_per_gpu - self.activation_bytes - self.overhead_bytes

    @property
    def kv_cache_tokens(self) -> int:
        """Tokens of KV cache per pod (every GPU of the pod holds its slice of each)."""
        if self.kv_cache_bytes_per_gpu <= 0:
            return 0
        block_bytes = self.kv_bytes_per_token_per_gpu * self.shape.block_size
        return int(self.kv_cache_bytes_per_gpu // block_bytes) * self.shape.block_size

    @property
    def tokens_needed_for_one_sequence(self) -> int:
        block = self.shape.block_size
        return math.ceil(self.shape.max_model_len / block) * block

    @property
    def max_concurrent_full_sequences(self) -> int:
        return self.kv_cache_tokens // self.shape.max_model_len

    @property
    def weights_fit(self) -> bool:
        return self.kv_cache_bytes_per_gpu > 0

    @property
    def fits(self) -> bool:
        return self.kv_cache_tokens >= self.tokens_needed_for_one_sequence

    @property
    def max_model_len_that_fits(self) -> int:
        """The longest context whose KV cache fits, rounded down to a block."""
        return self.kv_cache_tokens


def kv_bytes_per_token_per_gpu(
    arch: ModelArchitecture, tensor_parallel_size: int, pipeline_parallel_size: int, kv_dtype_bytes: int
) -> int:
    """KV cache bytes one token occupies on one GPU of the pod.

    Per layer: K and V (2) x KV heads on this GPU x head size x dtype bytes. Under
    TP each GPU holds `max(1, kv_heads // tp)` heads (heads are replicated when TP
    exceeds them). MLA caches one latent (kv_lora_rank + qk_rope_head_dim) per layer
    that TP does not split. PP splits the layers.
    """
    layers_per_gpu = math.ceil(arch.num_layers / pipeline_parallel_size)
    if arch.attention == "mla":
        assert arch.kv_lora_rank is not None and arch.qk_rope_head_dim is not None
        per_layer = (arch.kv_lora_rank + arch.qk_rope_head_dim) * kv_dtype_bytes
    else:
        heads_per_gpu = max(1, arch.num_kv_heads // tensor_parallel_size)
        per_layer = 2 * heads_per_gpu * arch.head_dim * kv_dtype_bytes
    return layers_per_gpu * per_layer


def activation_bytes(shape: PodShape) -> float:
    """Peak activation memory of vLLM's profiling pass, estimated.

    The profiling run pushes `max_num_batched_tokens` tokens through one layer at a
    time (residual, attention projections and the MLP's gate/up outputs, the MLP
    split by TP), then samples `max_num_seqs` rows of fp32 logits.
    """
    arch = shape.arch
    per_token = 4 * arch.hidden_size + 2 * arch.intermediate_size / shape.tensor_parallel_size
    hidden = shape.max_num_batched_tokens * per_token * shape.activation_dtype_bytes
    logits = shape.max_num_seqs * arch.vocab_size * 4
    return hidden + logits


def pod_capacity(shape: PodShape) -> PodCapacity:
    return PodCapacity(
        shape=shape,
        usable_bytes=shape.gpu.memory_mib * MIB * shape.gpu_memory_utilization,
        weight_bytes_per_gpu=shape.weight_bytes / shape.gpus_per_pod,
        activation_bytes=activation_bytes(shape),
        overhead_bytes=shape.overhead_gib * GIB,
        kv_bytes_per_token_per_gpu=kv_bytes_per_token_per_gpu(
            shape.arch,
            shape.tensor_parallel_size,
            shape.pipeline_parallel_size,
            shape.kv_dtype_bytes,
        ),
    )


def weight_bytes(arch: ModelArchitecture, dtype_bytes: int, quantization: str | None) -> float:
    """Bytes of weights for the whole model, as loaded on the GPUs.

    `quantization` is the pool's flag; for a pre-quantized checkpoint it can only
    name the checkpoint's own method (validation checks that), so the checkpoint's
    measured size applies.
    """
    checkpoint_weights_apply = arch.quantization is not None or quantization is None
    if arch.weight_gib is not None and checkpoint_weights_apply:
        return arch.weight_gib * GIB
    method = quantization or arch.quantization
    per_param = QUANTIZED_BYTES_PER_PARAM[method] if method else dtype_bytes
    return arch.params_billion * 1e9 * per_param


def scheduler_defaults(gpu: GpuModel) -> tuple[int, int]:
    """vLLM's default (max_num_batched_tokens, max_num_seqs) for this GPU class."""
    large = gpu.memory_mib >= LARGE_GPU_MIB
    return DEFAULT_BATCHED_TOKENS[large], DEFAULT_MAX_NUM_SEQS[large]


def valid_tensor_parallel_sizes(arch: ModelArchitecture, limit: int) -> list[int]:
    """TP sizes vLLM accepts for this model (they divide the attention heads), up to limit."""
    return [tp for tp in range(1, limit + 1) if arch.num_attention_heads % tp == 0]


def _smallest_fitting_tp(shape: PodShape, max_gpus_per_node: int) -> int | None:
    """The smallest valid TP, at least the current one, at which `shape` fits."""
    limit = max_gpus_per_node // shape.pipeline_parallel_size
    for tp in valid_tensor_parallel_sizes(shape.arch, limit):
        if tp >= shape.tensor_parallel_size and pod_capacity(replace(shape, tensor_parallel_size=tp)).fits:
            return tp
    return None


def remedies(
    shape: PodShape,
    max_gpus_per_node: int,
    gpu_catalog: dict[str, GpuModel],
    online_quantization_allowed: bool,
) -> list[str]:
    """Changes that would make `shape` fit, each in stack-config words."""
    found: list[str] = []
    tp = _smallest_fitting_tp(shape, max_gpus_per_node)
    if tp is not None and tp > shape.tensor_parallel_size:
        found.append(f"tensorParallelSize: {tp} ({tp * shape.pipeline_parallel_size} GPUs per pod)")
    if online_quantization_allowed:
        fp8_weights = shape.arch.params_billion * 1e9 * QUANTIZED_BYTES_PER_PARAM["fp8"]
        fp8_tp = _smallest_fitting_tp(replace(shape, weight_bytes=fp8_weights), max_gpus_per_node)
        if fp8_tp is not None:
            with_tp = "" if fp8_tp == shape.tensor_parallel_size else f" with tensorParallelSize: {fp8_tp}"
            found.append(f"quantization: fp8{with_tp} (or a pre-quantized AWQ/GPTQ checkpoint)")
    bigger = sorted(
        (gpu.memory_mib, product)
        for product, gpu in gpu_catalog.items()
        if gpu.memory_mib > shape.gpu.memory_mib and pod_capacity(replace(shape, gpu=gpu)).fits
    )
    if bigger:
        found.append(f"gpuProducts: [{bigger[0][1]}] (a GPU with more memory)")
    capacity = pod_capacity(shape)
    if capacity.weights_fit and capacity.max_model_len_that_fits >= shape.block_size:
        found.append(f"maxModelLen: {capacity.max_model_len_that_fits} or less")
    if shape.kv_dtype_bytes > 1 and pod_capacity(replace(shape, kv_dtype_bytes=1)).fits:
        found.append("kvCacheDtype: fp8 (halves the KV cache)")
    if shape.gpu_memory_utilization < 0.95 and pod_capacity(replace(shape, gpu_memory_utilization=0.95)).fits:
        found.append("gpuMemoryUtilization: 0.95")
    return found
