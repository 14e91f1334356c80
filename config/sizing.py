"""GPU memory arithmetic for one vLLM pod, term by term as vLLM 0.19 does it at start-up.

vLLM's worker (vllm/v1/worker/gpu_worker.py, `determine_available_memory`) requests
`gpu_memory_utilization x total`, where total is what torch/CUDA reports (less than the
GFD label), loads the weights, runs one profiling forward pass at
`max_num_batched_tokens` plus a dummy sampler pass at `max_num_seqs`, and gives the
KV cache what is left:

    KV pool = utilization x torch total - weights - activation peak - non-torch increase

CUDA-graph memory is captured afterwards and not subtracted in 0.19. The pool is then
cut into blocks (vllm/v1/core/kv_cache_utils.py) and vLLM refuses to start if one full
`max_model_len` request does not fit. We do the same sum at preview time so that a
config vLLM would refuse never reaches the cluster, and report each term.

Calibrated on ../shared/data/vllm-kv-calibration.csv (23 vLLM 0.19 start-up logs on
H100, llm-d-planner PR #205); `bench/sizing_accuracy.py` prints how close it is.

Pure functions, no Pulumi imports. Every quantity is in bytes unless named `_gib`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from config.catalog import GpuModel, ModelArchitecture
from config.serving.lora import LoraConfig, lora_bytes_per_gpu

GIB = 1024**3
MIB = 1024**2

# The vLLM release the memory model below reproduces: the release of the default image
# (config/release.py VLLM_IMAGE, vllm/vllm-openai:v0.19.1).
PINNED_VLLM_RELEASE = "0.19"

DTYPE_BYTES = {
    "bfloat16": 2,
    "float16": 2,
    "half": 2,
    "float32": 4,
    "float": 4,
}
# Bytes per quantized parameter, scales included. Embeddings, the output head and a
# multimodal encoder stay 16-bit (see `weight_bytes`).
_GROUP_128_INT4 = 0.5 + (2 + 0.5) / 128  # 4-bit weights + fp16 scale and 4-bit zero per 128
QUANTIZED_BYTES_PER_PARAM = {
    # Mixtral-8x7B AWQ: 46.4B quantized x 0.5195 + 0.26B x 2 = 24.65 GB, the checkpoint's size.
    "awq": _GROUP_128_INT4,
    "awq_marlin": _GROUP_128_INT4,
    "gptq": _GROUP_128_INT4,
    "gptq_marlin": _GROUP_128_INT4,
    # fp8 (online or checkpoint) and W8A8 compressed-tensors: one byte, per-channel or
    # per-tensor scales are negligible. RedHatAI Mistral-Small-3.1 w8a8: 24.04 GiB
    # computed vs 24.07 GiB logged (calibration CSV).
    "fp8": 1.0,
    "compressed-tensors": 1.0,
    # OCP MXFP4: 4-bit values + one 8-bit scale per 32.
    "mxfp4": 0.5 + 1 / 32,
}
# vLLM's default block size for CUDA attention backends (vllm/config/cache.py).
DEFAULT_BLOCK_SIZE = 16

# Scheduler defaults of `vllm serve` (UsageContext.OPENAI_API_SERVER), from
# EngineArgs.get_batch_defaults in vllm/engine/arg_utils.py: devices with at least 70 GiB
# of torch-visible memory whose name does not contain "a100" get 8192 batched tokens and
# 1024 sequences; every other GPU (A100 included, vLLM PR #17885) gets 2048 and 256.
LARGE_GPU_BYTES = 70 * GIB
DEFAULT_BATCHED_TOKENS = {True: 8192, False: 2048}
DEFAULT_MAX_NUM_SEQS = {True: 1024, False: 256}


@dataclass(frozen=True)
class ProfilerConstants:
    """How one vLLM release's memory profiler behaves, fitted on that release's logs.

    Each constant is a count of tensors or a measured memory increase, not a per-model
    correction: the same numbers apply to every model.
    """

    release: str
    # fp32 [max_num_seqs, vocab] tensors alive at the dummy sampler's peak (logits,
    # their float copy, softmax/logprobs and top-k/top-p scratch). Calibration CSV: the
    # activation of every row minus hidden states, divided by 1024 x vocab x 4 bytes,
    # is 3.4 to 3.9 (Gemma 2/3: 3.6-3.9 with 256k vocabularies).
    sampler_logit_copies: float
    # 16-bit [max_num_batched_tokens, hidden] tensors alive at that peak (the profiling
    # pass's output, residual and norm buffers). With 4, the 11 dense text-only rows of
    # the calibration CSV come out between 0.09 GiB under and 0.13 GiB over the logged
    # peak; MoE and multimodal rows log up to 0.6 GiB more (fused-MoE and encoder
    # buffers), which this term does not model.
    hidden_state_copies: float
    # Non-torch memory increase during profiling at TP 1 (CUDA context, cuBLAS
    # workspaces): 0.24-0.26 GiB in 19 of the 21 TP-1 rows of the calibration CSV.
    non_torch_gib: float
    # NCCL and custom all-reduce buffers a TP group adds per GPU: 2.07 GiB non-torch at
    # TP 2 (Kimi-VL, gpt-oss-20b and Mistral-Small w8a8 rows) minus the TP-1 figure...
    tp_communicator_gib: float
    # ...and per rank beyond two: the TP-4 row (Llama-4-Scout) logs 2.17 GiB.
    tp_communicator_per_extra_rank_gib: float
    # Pipeline-parallel send/receive buffers. No calibration row uses PP; issue 12 reports
    # that PP-only runs add little over TP 1, so this is a margin, not a measurement.
    pp_communicator_gib: float


PROFILER_CONSTANTS: dict[str, ProfilerConstants] = {
    "0.19": ProfilerConstants(
        release="0.19",
        sampler_logit_copies=3.5,
        hidden_state_copies=4.0,
        non_torch_gib=0.26,
        tp_communicator_gib=1.81,
        tp_communicator_per_extra_rank_gib=0.05,
        pp_communicator_gib=0.25,
    ),
}


# CUDA-graph pool memory vLLM 0.19 captures after sizing the KV cache, outside
# `gpu_memory_utilization` (not subtracted before 0.21): at most 1.55 GiB in the
# calibration CSV (gpt-oss-20b, cuda_graph_actual_gib).
CUDA_GRAPH_GIB = 1.55


def vllm_release(image: str) -> str | None:
    """The `major.minor` release an image tag names (`vllm/vllm-openai:v0.19.1` -> 0.19)."""
    match = re.search(r":v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+@]|$)", image)
    return f"{match.group(1)}.{match.group(2)}" if match else None


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
    margin_gib: float  # the pool's overheadGib: the user's own reserve, on top of vLLM's sum
    profiler: ProfilerConstants = PROFILER_CONSTANTS[PINNED_VLLM_RELEASE]
    # LoRA adapter slots on one GPU (config/serving/lora.py), allocated with the model.
    lora_bytes_per_gpu: float = 0.0

    @property
    def gpus_per_pod(self) -> int:
        return self.tensor_parallel_size * self.pipeline_parallel_size


@dataclass(frozen=True)
class KvLayout:
    """How vLLM cuts the KV pool of one GPU into blocks (vllm/v1/core/kv_cache_utils.py).

    Layers of one attention kind form groups of `group_size` layers; one block of the
    pool holds `block_size` tokens for `group_size` layers, and each group takes its
    own blocks. A plain model is one group of all its layers.
    """

    page_bytes: int  # one layer, one block
    group_size: int
    full_groups: int
    local_groups: int
    block_size: int
    local_window: int | None

    @property
    def num_groups(self) -> int:
        return self.full_groups + self.local_groups

    @property
    def block_bytes(self) -> int:
        return self.page_bytes * self.group_size


@dataclass(frozen=True)
class PodCapacity:
    """The memory budget of one GPU of a pod, term by term, and what the KV cache gets."""

    shape: PodShape
    total_bytes: float  # torch-visible total
    weight_bytes_per_gpu: float
    activation_bytes: float
    non_torch_bytes: float
    margin_bytes: float
    kv_layout: KvLayout
    lora_bytes: float = 0.0

    @property
    def requested_bytes(self) -> float:
        return self.total_bytes * self.shape.gpu_memory_utilization

    @property
    def kv_cache_bytes_per_gpu(self) -> float:
        return (
            self.requested_bytes
            - self.weight_bytes_per_gpu
            - self.activation_bytes
            - self.non_torch_bytes
            - self.margin_bytes
            - self.lora_bytes
        )

    @property
    def num_blocks(self) -> int:
        """vLLM's num_gpu_blocks: `available // page_size // layers per group`."""
        if self.kv_cache_bytes_per_gpu <= 0:
            return 0
        return int(self.kv_cache_bytes_per_gpu // self.kv_layout.block_bytes)

    @property
    def kv_cache_tokens(self) -> int:
        """Tokens of KV cache per pod, as vLLM 0.19 logs "GPU KV cache size: N tokens".

        `num_blocks // groups x block_size`: for hybrid models that counts every group's
        blocks alike (gemma-3-27b: 15999 blocks // 7 groups x 16 = 36560, the logged value).
        """
        return self.num_blocks // self.kv_layout.num_groups * self.kv_layout.block_size

    def blocks_for(self, tokens: int) -> int:
        """Blocks one request of `tokens` tokens takes from the pool (all groups)."""
        layout = self.kv_layout
        full = math.ceil(tokens / layout.block_size)
        blocks = layout.full_groups * full
        if layout.local_groups:
            assert layout.local_window is not None
            # A windowed layer keeps the window plus one scheduling step of tokens, and one
            # block because the window need not start on a block boundary
            # (SlidingWindowSpec.max_memory_usage_bytes, vllm/v1/kv_cache_interface.py).
            # Llama 4's chunked layers (ChunkedLocalAttentionSpec) need at most one block
            # less; counting them as sliding errs on the safe side.
            window_tokens = min(layout.local_window - 1 + self.shape.max_num_batched_tokens, tokens)
            blocks += layout.local_groups * (math.ceil(window_tokens / layout.block_size) + 1)
        return blocks

    @property
    def weights_fit(self) -> bool:
        return self.kv_cache_bytes_per_gpu > 0

    @property
    def fits(self) -> bool:
        """vLLM starts: the pool holds one request of `max_model_len` tokens."""
        return self.num_blocks >= self.blocks_for(self.shape.max_model_len)

    @property
    def max_concurrent_full_sequences(self) -> int:
        return self.num_blocks // self.blocks_for(self.shape.max_model_len)

    @property
    def max_model_len_that_fits(self) -> int:
        """The longest context one request can have, in whole blocks (0 if none)."""
        block = self.kv_layout.block_size
        low, high = 0, max(self.num_blocks, 0)  # in blocks of context
        while low < high:
            mid = (low + high + 1) // 2
            if self.blocks_for(mid * block) <= self.num_blocks:
                low = mid
            else:
                high = mid - 1
        return low * block


def kv_bytes_per_token_per_layer(
    arch: ModelArchitecture, tensor_parallel_size: int, kv_dtype_bytes: int
) -> int:
    """KV cache bytes one token occupies in one layer on one GPU.

    K and V (2) x KV heads on this GPU x head size x dtype bytes (AttentionSpec in
    vllm/v1/kv_cache_interface.py). Under TP each GPU holds `max(1, kv_heads // tp)`
    heads (replicated when TP exceeds them). MLA caches one latent of
    kv_lora_rank + qk_rope_head_dim that TP does not split.
    """
    if arch.attention == "mla":
        assert arch.kv_lora_rank is not None and arch.qk_rope_head_dim is not None
        return (arch.kv_lora_rank + arch.qk_rope_head_dim) * kv_dtype_bytes
    heads_per_gpu = max(1, arch.num_kv_heads // tensor_parallel_size)
    return 2 * heads_per_gpu * arch.head_dim * kv_dtype_bytes


def kv_bytes_per_token_per_gpu(
    arch: ModelArchitecture, tensor_parallel_size: int, pipeline_parallel_size: int, kv_dtype_bytes: int
) -> int:
    """KV bytes one token occupies on one GPU, over all its layers (PP splits the layers)."""
    layers_per_gpu = math.ceil(arch.num_layers / pipeline_parallel_size)
    return layers_per_gpu * kv_bytes_per_token_per_layer(arch, tensor_parallel_size, kv_dtype_bytes)


def kv_layout(shape: PodShape) -> KvLayout:
    """vLLM's grouping of one GPU's layers (`_get_kv_cache_groups_uniform_page_size`).

    Group size is the smaller layer count of the two kinds, or the larger one when it is
    less than 1.5 times the smaller (fewer padding layers); each kind fills
    ceil(count / group size) groups.
    """
    arch, pp = shape.arch, shape.pipeline_parallel_size
    page = shape.block_size * kv_bytes_per_token_per_layer(
        arch, shape.tensor_parallel_size, shape.kv_dtype_bytes
    )
    full = math.ceil((arch.full_attention_layers or arch.num_layers) / pp)
    local = math.ceil(arch.local_attention_layers / pp)
    if local == 0:
        return KvLayout(page, full, 1, 0, shape.block_size, None)
    counts = [count for count in (full, local) if count]
    group = min(counts)
    if max(counts) < 1.5 * group:
        group = max(counts)
    return KvLayout(
        page_bytes=page,
        group_size=group,
        full_groups=math.ceil(full / group),
        local_groups=math.ceil(local / group),
        block_size=shape.block_size,
        local_window=arch.sliding_window,
    )


def activation_bytes(shape: PodShape) -> float:
    """Peak torch memory of vLLM's profiling run, beyond the weights.

    The peak is at the dummy sampler pass, after the forward pass's per-layer
    temporaries are freed: fp32 logits of `max_num_seqs` rows (vLLM caps them at
    `max_num_batched_tokens`) over the whole vocabulary, a few copies of them, plus the
    forward pass's hidden states. It does not shrink with TP: the sampler runs on the
    gathered logits on every rank (calibration CSV: Kimi-VL logs 2.92 GiB at TP 1 and
    2.85 GiB at TP 2).
    """
    constants = shape.profiler
    rows = min(shape.max_num_seqs, shape.max_num_batched_tokens)
    logits = constants.sampler_logit_copies * rows * shape.arch.vocab_size * 4
    hidden = constants.hidden_state_copies * shape.max_num_batched_tokens * shape.arch.hidden_size
    return logits + hidden * shape.activation_dtype_bytes


def non_torch_bytes(shape: PodShape) -> float:
    """Memory vLLM's profiler sees outside torch's allocator: CUDA context and NCCL."""
    constants = shape.profiler
    gib = constants.non_torch_gib
    tp = shape.tensor_parallel_size
    if tp > 1:
        gib += constants.tp_communicator_gib + constants.tp_communicator_per_extra_rank_gib * (tp - 2)
    if shape.pipeline_parallel_size > 1:
        gib += constants.pp_communicator_gib
    return gib * GIB


def pod_capacity(shape: PodShape) -> PodCapacity:
    return PodCapacity(
        shape=shape,
        total_bytes=shape.gpu.torch_visible_mib * MIB,
        weight_bytes_per_gpu=shape.weight_bytes / shape.gpus_per_pod,
        activation_bytes=activation_bytes(shape),
        non_torch_bytes=non_torch_bytes(shape),
        margin_bytes=shape.margin_gib * GIB,
        kv_layout=kv_layout(shape),
        lora_bytes=shape.lora_bytes_per_gpu,
    )


def weight_bytes(arch: ModelArchitecture, dtype_bytes: int, quantization: str | None) -> float:
    """Bytes of weights for the whole model, as loaded on the GPUs.

    A catalog `weightGib` (a measured size) wins for the checkpoint as shipped. Otherwise
    params x bytes; a quantized model keeps its embeddings, output head and multimodal
    encoder in 16 bit (vLLM quantizes linear layers only; llm-compressor and AWQ
    recipes skip lm_head and vision towers).
    """
    checkpoint_weights_apply = arch.quantization is not None or quantization is None
    if arch.weight_gib is not None and checkpoint_weights_apply:
        return arch.weight_gib * GIB
    params = arch.params_billion * 1e9
    method = quantization or arch.quantization
    if not method:
        return params * dtype_bytes
    sixteen_bit = arch.embedding_params + arch.encoder_params_billion * 1e9
    return (params - sixteen_bit) * QUANTIZED_BYTES_PER_PARAM[method] + sixteen_bit * 2


def scheduler_defaults(gpu: GpuModel) -> tuple[int, int]:
    """vLLM's default (max_num_batched_tokens, max_num_seqs) for `vllm serve` on this GPU."""
    large = gpu.torch_visible_mib * MIB >= LARGE_GPU_BYTES and "a100" not in gpu.display_name.lower()
    return DEFAULT_BATCHED_TOKENS[large], DEFAULT_MAX_NUM_SEQS[large]


def pod_shape(
    arch: ModelArchitecture,
    gpu: GpuModel,
    *,
    max_model_len: int,
    gpu_memory_utilization: float,
    tensor_parallel_size: int = 1,
    pipeline_parallel_size: int = 1,
    dtype: str = "auto",
    quantization: str | None = None,
    kv_cache_dtype: str = "auto",
    block_size: int | None = None,
    max_num_batched_tokens: int | None = None,
    max_num_seqs: int | None = None,
    margin_gib: float = 0.0,
    release: str = PINNED_VLLM_RELEASE,
    lora: LoraConfig | None = None,
) -> PodShape:
    """The shape of one pod from engine arguments, with vLLM's defaults for unset ones."""
    if dtype == "auto":
        dtype = arch.default_dtype
    dtype_bytes = DTYPE_BYTES[dtype]  # bfloat16 falls back to float16 on old GPUs: same size
    default_tokens, default_seqs = scheduler_defaults(gpu)
    return PodShape(
        arch=arch,
        gpu=gpu,
        tensor_parallel_size=tensor_parallel_size,
        pipeline_parallel_size=pipeline_parallel_size,
        max_model_len=max_model_len,
        gpu_memory_utilization=gpu_memory_utilization,
        weight_bytes=weight_bytes(arch, dtype_bytes, quantization),
        activation_dtype_bytes=dtype_bytes,
        kv_dtype_bytes=1 if kv_cache_dtype.startswith("fp8") else dtype_bytes,
        block_size=block_size or DEFAULT_BLOCK_SIZE,
        max_num_batched_tokens=max_num_batched_tokens or default_tokens,
        max_num_seqs=max_num_seqs or default_seqs,
        margin_gib=margin_gib,
        profiler=PROFILER_CONSTANTS.get(release, PROFILER_CONSTANTS[PINNED_VLLM_RELEASE]),
        lora_bytes_per_gpu=lora_bytes_per_gpu(arch, lora, dtype_bytes, tensor_parallel_size) if lora else 0.0,
    )


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
    """Changes that would make `shape` fit, each in stack-config words, each re-verified."""
    found: list[str] = []
    tp = _smallest_fitting_tp(shape, max_gpus_per_node)
    if tp is not None and tp > shape.tensor_parallel_size:
        found.append(f"tensorParallelSize: {tp} ({tp * shape.pipeline_parallel_size} GPUs per pod)")
    if online_quantization_allowed:
        fp8_weights = weight_bytes(shape.arch, shape.activation_dtype_bytes, "fp8")
        fp8_tp = _smallest_fitting_tp(replace(shape, weight_bytes=fp8_weights), max_gpus_per_node)
        if fp8_tp is not None:
            with_tp = "" if fp8_tp == shape.tensor_parallel_size else f" with tensorParallelSize: {fp8_tp}"
            found.append(f"quantization: fp8{with_tp} (or a pre-quantized AWQ/GPTQ checkpoint)")
    bigger = sorted(
        (gpu.torch_visible_mib, product)
        for product, gpu in gpu_catalog.items()
        if gpu.torch_visible_mib > shape.gpu.torch_visible_mib and pod_capacity(replace(shape, gpu=gpu)).fits
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
    if shape.margin_gib > 0 and pod_capacity(replace(shape, margin_gib=0)).fits:
        found.append("overheadGib: 0 (your own reserve is what does not fit)")
    return found
