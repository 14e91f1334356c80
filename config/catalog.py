"""Built-in model and GPU catalogs: the facts sizing needs, and nothing else.

Pure data. A stack may add entries (`llm-serving:models`, `llm-serving:gpus`) or
override a built-in one by using the same key; see `schema.py`.

Sources: each model's `config.json` on the Hugging Face hub (cited per entry) and the GPU
Feature Discovery label values seen on real clusters (../shared/notes/vllm.md, section 3).
The models of ../shared/data/vllm-kv-calibration.csv are cross-checked against vLLM 0.19's own
start-up logs: KV bytes per token against "Available KV cache memory" / "GPU KV cache size"
and weights against "Model loading took X GiB" (tests/test_sizing.py).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

AttentionKind = Literal["mha", "gqa", "mla"]
WeightDtype = Literal["bfloat16", "float16", "float32"]
# Quantizations whose weights ship pre-quantized in the checkpoint; vLLM cannot
# apply them on the fly to an unquantized model.
CheckpointQuantization = Literal["awq", "gptq", "fp8", "compressed-tensors", "mxfp4"]


class CatalogEntry(BaseModel):
    """Shared pydantic settings: camelCase keys in YAML, unknown keys rejected, and strict
    types: `true` is no number, `"8"` no integer, and floats are finite (config/kube_types.py).
    StackConfig reads the strings `pulumi config set` leaves (`"8"`, `"0.9"`) first, by the
    type expected where they stand (config/cli_scalars.py)."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        strict=True,
        allow_inf_nan=False,
    )


class ModelArchitecture(CatalogEntry):
    """What sizing needs to know about one model checkpoint."""

    num_layers: int = Field(gt=0)
    hidden_size: int = Field(gt=0)
    # Per-token MLP width that is active for one token (for MoE: experts per token x
    # expert width, plus shared experts). Drives the activation estimate only.
    intermediate_size: int = Field(gt=0)
    num_attention_heads: int = Field(gt=0)
    num_kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    attention: AttentionKind = "gqa"
    # MLA only: vLLM caches one latent of kv_lora_rank + qk_rope_head_dim per layer.
    kv_lora_rank: int | None = Field(default=None, gt=0)
    qk_rope_head_dim: int | None = Field(default=None, gt=0)
    vocab_size: int = Field(gt=0)
    # config.json `tie_word_embeddings`: the output head reuses the input embedding.
    tie_word_embeddings: bool = False
    # vLLM's model class implements SupportsLoRA (vllm/model_executor/models/*.py at the
    # pinned release); without it `--enable-lora` fails at start-up.
    supports_lora: bool = True
    # Mixture of experts: routed experts per MoE layer (config.json num_local_experts,
    # n_routed_experts or num_experts). Unset: a dense model.
    routed_experts: int | None = Field(default=None, gt=0)
    # Hybrid layouts (Gemma 2/3, gpt-oss, Llama 4): only `full_attention_layers` layers
    # attend to the whole context; the others attend to a local window of
    # `sliding_window` tokens (sliding window, or Llama 4's chunked attention).
    # Unset: every layer is full attention.
    full_attention_layers: int | None = Field(default=None, gt=0)
    sliding_window: int | None = Field(default=None, gt=0)
    params_billion: float = Field(gt=0)
    # Multimodal encoder (vision tower + projector), part of params_billion. Quantized
    # checkpoints keep it in 16 bit, like the embeddings and the output head.
    encoder_params_billion: float = Field(default=0, ge=0)
    default_dtype: WeightDtype = "bfloat16"
    quantization: CheckpointQuantization | None = None
    # Size of the weights on the GPU when it differs from params x dtype (quantized
    # checkpoints carry scales and unquantized embeddings).
    weight_gib: float | None = Field(default=None, gt=0)
    max_context: int = Field(gt=0)
    gated: bool = False

    @model_validator(mode="after")
    def _mla_needs_latent_dims(self) -> ModelArchitecture:
        if self.attention == "mla" and (self.kv_lora_rank is None or self.qk_rope_head_dim is None):
            raise ValueError("attention 'mla' needs kvLoraRank and qkRopeHeadDim")
        if self.attention != "mla" and self.num_attention_heads % self.num_kv_heads:
            raise ValueError("numAttentionHeads must be a multiple of numKvHeads")
        if (self.full_attention_layers is None) != (self.sliding_window is None):
            raise ValueError("a hybrid layout needs both fullAttentionLayers and slidingWindow")
        if self.full_attention_layers is not None and self.full_attention_layers > self.num_layers:
            raise ValueError("fullAttentionLayers cannot exceed numLayers")
        if self.encoder_params_billion >= self.params_billion:
            raise ValueError("encoderParamsBillion is part of paramsBillion and must be smaller")
        return self

    @property
    def local_attention_layers(self) -> int:
        """Layers that attend to a local window only (0 for a plain model)."""
        if self.full_attention_layers is None:
            return 0
        return self.num_layers - self.full_attention_layers

    @property
    def embedding_params(self) -> int:
        """Input embedding plus output head parameters (one matrix when tied)."""
        return self.vocab_size * self.hidden_size * (1 if self.tie_word_embeddings else 2)


class GpuModel(CatalogEntry):
    """One GPU product, keyed by its `nvidia.com/gpu.product` label value."""

    memory_mib: int = Field(gt=0, description="as the nvidia.com/gpu.memory label reports it")
    # What torch/CUDA reports as total memory (torch.cuda.mem_get_info), which is what
    # vLLM multiplies by gpu_memory_utilization. Less than the label: H100 80GB HBM3
    # 81079 vs 81559 MiB. Unset: estimated as TORCH_VISIBLE_FRACTION of the label.
    torch_memory_mib: int | None = Field(default=None, gt=0)
    compute_capability: float = Field(gt=0)
    display_name: str
    # GPUs per node where the product only ships in one form (HGX/DGX baseboards of
    # 8 SXM GPUs); None where it varies (PCIe cards). Multi-node pools use it.
    gpus_per_node: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _torch_sees_at_most_the_label(self) -> GpuModel:
        if self.torch_memory_mib is not None and self.torch_memory_mib > self.memory_mib:
            raise ValueError("torchMemoryMib cannot exceed memoryMib")
        return self

    @property
    def supports_bfloat16(self) -> bool:
        return self.compute_capability >= 8.0

    @property
    def torch_visible_mib(self) -> int:
        """Total memory as vLLM sees it (measured, or a conservative estimate)."""
        if self.torch_memory_mib is not None:
            return self.torch_memory_mib
        return int(self.memory_mib * TORCH_VISIBLE_FRACTION)


# The smallest torch/label ratio among the sourced GPUs below (T4: 14.56 GiB of
# 15360 MiB = 0.971); used for GPUs whose torch total is not known, so that sizing
# errs on the side of less memory.
TORCH_VISIBLE_FRACTION = 0.97


def _llama(layers: int, hidden: int, intermediate: int, heads: int, params: float) -> dict:
    return dict(
        num_layers=layers,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_attention_heads=heads,
        num_kv_heads=8,
        head_dim=128,
        vocab_size=128256,
        params_billion=params,
        max_context=131072,
        gated=True,
    )


_MIXTRAL = dict(
    num_layers=32,
    hidden_size=4096,
    intermediate_size=2 * 14336,  # top-2 routing: two experts' MLPs per token
    num_attention_heads=32,
    num_kv_heads=8,
    head_dim=128,
    vocab_size=32000,
    params_billion=46.7,
    max_context=32768,
    routed_experts=8,
)


def _gemma(layers: int, hidden: int, intermediate: int, heads: int, kv_heads: int, head_dim: int) -> dict:
    return dict(
        num_layers=layers,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_attention_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        tie_word_embeddings=True,
        gated=True,
    )


_GEMMA_2 = dict(vocab_size=256000, sliding_window=4096, max_context=8192)


def _gemma_3(full_attention_layers: int) -> dict:
    return dict(
        vocab_size=262208,
        full_attention_layers=full_attention_layers,
        sliding_window=1024,
        encoder_params_billion=0.42,
        max_context=131072,
    )


def _granite(hidden: int, intermediate: int, vocab: int) -> dict:
    return dict(
        num_layers=40,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_attention_heads=32,
        num_kv_heads=8,
        head_dim=hidden // 32,
        vocab_size=vocab,
        tie_word_embeddings=True,
        max_context=131072,
    )


# Mistral-Small-3.1-24B-Instruct-2503 config.json text_config: 40 layers, hidden 5120,
# intermediate 32768, 32 heads / 8 KV heads, head_dim 128, vocab 131072, 131072
# positions; 24.0B with a 0.44B Pixtral vision tower.
_MISTRAL_SMALL_3_1 = dict(
    num_layers=40,
    hidden_size=5120,
    intermediate_size=32768,
    num_attention_heads=32,
    num_kv_heads=8,
    head_dim=128,
    vocab_size=131072,
    params_billion=24.01,
    encoder_params_billion=0.44,
    max_context=131072,
)

BUILTIN_MODELS: dict[str, ModelArchitecture] = {
    "meta-llama/Llama-3.1-8B-Instruct": ModelArchitecture(**_llama(32, 4096, 14336, 32, 8.03)),
    "meta-llama/Llama-3.1-70B-Instruct": ModelArchitecture(**_llama(80, 8192, 28672, 64, 70.55)),
    "meta-llama/Llama-3.1-405B-Instruct": ModelArchitecture(**_llama(126, 16384, 53248, 128, 405.85)),
    # Meta's FP8 checkpoint of the same model: config.json has the 405B architecture
    # above plus quantization_config {quant_method: fbgemm_fp8}, which vLLM reads from
    # the checkpoint. Weights: 405.85B params x 1 byte, plus the embedding and lm_head
    # (2 x 128256 x 16384 params) that stay bfloat16: 378.0 + 3.9 = 382 GiB (computed).
    "meta-llama/Llama-3.1-405B-Instruct-FP8": ModelArchitecture(
        **_llama(126, 16384, 53248, 128, 405.85), quantization="fp8", weight_gib=382.0
    ),
    "mistralai/Mixtral-8x7B-Instruct-v0.1": ModelArchitecture(**_MIXTRAL, gated=True),
    # 4-bit group-128 AWQ with 16-bit embeddings/lm_head: 46.7B params -> 22.96 GiB, the
    # size of the checkpoint's safetensors (24.65 GB).
    "TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ": ModelArchitecture(
        **_MIXTRAL, default_dtype="float16", quantization="awq"
    ),
    "deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct": ModelArchitecture(
        num_layers=27,
        hidden_size=2048,
        intermediate_size=8 * 1408,  # 6 routed + 2 shared experts of width 1408
        routed_experts=64,
        num_attention_heads=16,
        num_kv_heads=16,
        head_dim=192,
        attention="mla",
        kv_lora_rank=512,
        qk_rope_head_dim=64,
        vocab_size=102400,
        params_billion=15.7,
        max_context=163840,
    ),
    "Qwen/Qwen2.5-0.5B-Instruct": ModelArchitecture(
        num_layers=24,
        hidden_size=896,
        intermediate_size=4864,
        num_attention_heads=14,
        num_kv_heads=2,
        head_dim=64,
        vocab_size=151936,
        tie_word_embeddings=True,
        params_billion=0.49,
        max_context=32768,
    ),
    "Qwen/Qwen3-0.6B": ModelArchitecture(
        num_layers=28,
        hidden_size=1024,
        intermediate_size=3072,
        num_attention_heads=16,
        num_kv_heads=8,
        head_dim=128,  # set explicitly in config.json; not hidden_size / heads
        vocab_size=151936,
        tie_word_embeddings=True,
        params_billion=0.6,
        max_context=40960,
    ),
    "facebook/opt-125m": ModelArchitecture(
        num_layers=12,
        hidden_size=768,
        intermediate_size=3072,
        num_attention_heads=12,
        num_kv_heads=12,
        head_dim=64,
        attention="mha",
        vocab_size=50272,
        tie_word_embeddings=True,
        params_billion=0.125,
        default_dtype="float16",
        max_context=2048,
    ),
    **{
        # The calibration file's models (../shared/data/vllm-kv-calibration.csv).
        "Qwen/Qwen3-8B": ModelArchitecture(
            # Qwen/Qwen3-8B config.json: 36 layers, hidden 4096, intermediate 12288,
            # 32 heads / 8 KV heads, head_dim 128, vocab 151936, 40960 positions; 8.19B.
            num_layers=36,
            hidden_size=4096,
            intermediate_size=12288,
            num_attention_heads=32,
            num_kv_heads=8,
            head_dim=128,
            vocab_size=151936,
            params_billion=8.19,
            max_context=40960,
        ),
        "Qwen/Qwen1.5-MoE-A2.7B": ModelArchitecture(
            # config.json: 24 layers, hidden 2048, 16 heads (MHA), head_dim 128, vocab 151936,
            # 60 experts of 1408, 4 per token, plus a shared expert of 5632; 14.3B.
            num_layers=24,
            hidden_size=2048,
            intermediate_size=4 * 1408 + 5632,
            routed_experts=60,
            num_attention_heads=16,
            num_kv_heads=16,
            head_dim=128,
            attention="mha",
            vocab_size=151936,
            params_billion=14.32,
            max_context=8192,
        ),
        "codellama/CodeLlama-7b-hf": ModelArchitecture(
            # config.json: 32 layers, hidden 4096, intermediate 11008, 32 heads (MHA),
            # vocab 32016, 16384 positions; 6.74B.
            num_layers=32,
            hidden_size=4096,
            intermediate_size=11008,
            num_attention_heads=32,
            num_kv_heads=32,
            head_dim=128,
            attention="mha",
            vocab_size=32016,
            params_billion=6.74,
            max_context=16384,
        ),
        "google/gemma-7b": ModelArchitecture(
            # config.json: 28 layers, hidden 3072, intermediate 24576, 16 heads (MHA),
            # head_dim 256, vocab 256000, tied embeddings, 8192 positions; 8.54B.
            num_layers=28,
            hidden_size=3072,
            intermediate_size=24576,
            num_attention_heads=16,
            num_kv_heads=16,
            head_dim=256,
            attention="mha",
            vocab_size=256000,
            tie_word_embeddings=True,
            params_billion=8.54,
            max_context=8192,
            gated=True,
        ),
        # Gemma 2 config.json: every other layer slides over a 4096-token window.
        "google/gemma-2-2b-it": ModelArchitecture(
            **_gemma(layers=26, hidden=2304, intermediate=9216, heads=8, kv_heads=4, head_dim=256),
            **_GEMMA_2,
            full_attention_layers=13,
            params_billion=2.61,
        ),
        "google/gemma-2-9b-it": ModelArchitecture(
            **_gemma(layers=42, hidden=3584, intermediate=14336, heads=16, kv_heads=8, head_dim=256),
            **_GEMMA_2,
            full_attention_layers=21,
            params_billion=9.24,
        ),
        "google/gemma-2-27b-it": ModelArchitecture(
            **_gemma(layers=46, hidden=4608, intermediate=36864, heads=32, kv_heads=16, head_dim=128),
            **_GEMMA_2,
            full_attention_layers=23,
            params_billion=27.23,
        ),
        # Gemma 3 config.json (text_config): 5 sliding layers (window 1024) per full one,
        # vocab 262208, 131072 positions, plus a 0.42B SigLIP vision tower. vLLM 0.19 loads
        # more than params x 2 bytes ("Model loading took" in the calibration logs), so the
        # logged size is used.
        "google/gemma-3-4b-it": ModelArchitecture(
            **_gemma(layers=34, hidden=2560, intermediate=10240, heads=8, kv_heads=4, head_dim=256),
            **_gemma_3(full_attention_layers=5),
            params_billion=4.3,
            weight_gib=8.58,
        ),
        "google/gemma-3-12b-it": ModelArchitecture(
            **_gemma(layers=48, hidden=3840, intermediate=15360, heads=16, kv_heads=8, head_dim=256),
            **_gemma_3(full_attention_layers=8),
            params_billion=12.2,
            weight_gib=23.31,
        ),
        "google/gemma-3-27b-it": ModelArchitecture(
            **_gemma(layers=62, hidden=5376, intermediate=21504, heads=32, kv_heads=16, head_dim=128),
            **_gemma_3(full_attention_layers=10),
            params_billion=27.4,
            weight_gib=51.45,
        ),
        # Granite 3.x config.json: 40 layers, 32 heads / 8 KV heads, tied embeddings,
        # 131072 positions; 2B: hidden 2048, intermediate 8192; 8B: hidden 4096,
        # intermediate 12800.
        "ibm-granite/granite-3.1-2b-instruct": ModelArchitecture(
            **_granite(hidden=2048, intermediate=8192, vocab=49155), params_billion=2.53
        ),
        "ibm-granite/granite-3.1-8b-instruct": ModelArchitecture(
            **_granite(hidden=4096, intermediate=12800, vocab=49155), params_billion=8.17
        ),
        "ibm-granite/granite-3.3-8b-instruct": ModelArchitecture(
            **_granite(hidden=4096, intermediate=12800, vocab=49159), params_billion=8.17
        ),
        # Granite 3.1 2B language model plus a SigLIP tower; parameters as vLLM 0.19 loads
        # them (5.54 GiB, calibration log).
        "ibm-granite/granite-vision-3.3-2b": ModelArchitecture(
            **_granite(hidden=2048, intermediate=8192, vocab=49156),
            params_billion=2.98,
            encoder_params_billion=0.4,
        ),
        "meta-llama/Llama-4-Scout-17B-16E-Instruct": ModelArchitecture(
            # config.json text_config: 48 layers, hidden 5120, 40 heads / 8 KV heads,
            # head_dim 128, vocab 202048, 16 experts of 8192 (1 per token) plus a shared
            # expert of 8192; attention_chunk_size 8192 on 3 of every 4 layers (every 4th
            # layer is global, no_rope_layers); 109B. Loaded size: 53.12 GiB per GPU at TP 4
            # (calibration log).
            num_layers=48,
            hidden_size=5120,
            intermediate_size=2 * 8192,
            routed_experts=16,
            num_attention_heads=40,
            num_kv_heads=8,
            head_dim=128,
            vocab_size=202048,
            full_attention_layers=12,
            sliding_window=8192,
            params_billion=108.6,
            encoder_params_billion=0.8,
            weight_gib=4 * 53.12,
            max_context=10485760,
            gated=True,
        ),
        "microsoft/phi-2": ModelArchitecture(
            # config.json: 32 layers, hidden 2560, intermediate 10240, 32 heads (MHA),
            # head_dim 80, vocab 51200, 2048 positions, float16; 2.78B.
            num_layers=32,
            hidden_size=2560,
            intermediate_size=10240,
            num_attention_heads=32,
            num_kv_heads=32,
            head_dim=80,
            attention="mha",
            vocab_size=51200,
            params_billion=2.78,
            default_dtype="float16",
            max_context=2048,
        ),
        "microsoft/phi-4": ModelArchitecture(
            # config.json: 40 layers, hidden 5120, intermediate 17920, 40 heads / 10 KV heads,
            # vocab 100352, 16384 positions; 14.66B.
            num_layers=40,
            hidden_size=5120,
            intermediate_size=17920,
            num_attention_heads=40,
            num_kv_heads=10,
            head_dim=128,
            vocab_size=100352,
            params_billion=14.66,
            max_context=16384,
        ),
        "mistralai/Mistral-Small-3.1-24B-Instruct-2503": ModelArchitecture(**_MISTRAL_SMALL_3_1, gated=True),
        # llm-compressor W8A8: linear layers int8; embeddings, lm_head and the vision tower
        # stay 16-bit (the recipe's ignore list).
        "RedHatAI/Mistral-Small-3.1-24B-Instruct-2503-quantized.w8a8": ModelArchitecture(
            **_MISTRAL_SMALL_3_1, quantization="compressed-tensors"
        ),
        "moonshotai/Kimi-VL-A3B-Instruct": ModelArchitecture(
            # config.json text_config (DeepSeek-V3 layout): 27 layers, hidden 2048, 16 heads,
            # MLA kv_lora_rank 512 + qk_rope_head_dim 64, vocab 163840, 64 experts of 1408
            # (6 per token) plus 2 shared; 131072 positions; 16.4B with the MoonViT tower.
            num_layers=27,
            hidden_size=2048,
            intermediate_size=8 * 1408,
            routed_experts=64,
            num_attention_heads=16,
            num_kv_heads=16,
            head_dim=192,
            attention="mla",
            kv_lora_rank=512,
            qk_rope_head_dim=64,
            vocab_size=163840,
            params_billion=16.4,
            encoder_params_billion=0.4,
            max_context=131072,
            # vLLM 0.19.1 kimi_vl.py:290: KimiVLForConditionalGeneration is not SupportsLoRA.
            supports_lora=False,
        ),
        "openai/gpt-oss-20b": ModelArchitecture(
            # config.json: 24 layers alternating sliding (window 128) and full attention,
            # hidden 2880, 64 heads / 8 KV heads, head_dim 64, vocab 201088, 32 experts of
            # 2880 (4 per token), MoE weights in MXFP4; 20.9B. Loaded size: 7.01 GiB per GPU
            # at TP 2 (calibration log).
            num_layers=24,
            hidden_size=2880,
            intermediate_size=4 * 2880,
            routed_experts=32,
            num_attention_heads=64,
            num_kv_heads=8,
            head_dim=64,
            vocab_size=201088,
            full_attention_layers=12,
            sliding_window=128,
            params_billion=20.9,
            quantization="mxfp4",
            weight_gib=2 * 7.01,
            max_context=131072,
        ),
    },
}

# torch_memory_mib: the smallest total torch reported in a public log for that GPU
# (GiB x 1024, rounded down), so that a driver that reserves more never over-fills it.
BUILTIN_GPUS: dict[str, GpuModel] = {
    # "GPU 0 has a total capacity of 14.56 GiB" (Zheng-Chong/CatVTON issue #133, GCP T4).
    "Tesla-T4": GpuModel(
        memory_mib=15360, torch_memory_mib=14909, compute_capability=7.5, display_name="T4 16GB"
    ),
    # A10G and L4: no public torch total found; estimated (TORCH_VISIBLE_FRACTION).
    "NVIDIA-A10G": GpuModel(memory_mib=23028, compute_capability=8.6, display_name="A10G 24GB"),
    "NVIDIA-L4": GpuModel(memory_mib=23034, compute_capability=8.9, display_name="L4 24GB"),
    # "total capacity of 44.40 GiB" (QwenLM/Qwen3-VL issue #2097, single L40).
    "NVIDIA-L40": GpuModel(
        memory_mib=46068, torch_memory_mib=45465, compute_capability=8.9, display_name="L40 48GB"
    ),
    # "total capacity of 44.42 GiB" (stepfun-ai/Step-Video-T2V issue #8, 8x L40S); another
    # L40S log shows 44.53 GiB (Wan-Video/Wan2.1 issue #205): the smaller one is used.
    "NVIDIA-L40S": GpuModel(
        memory_mib=46068, torch_memory_mib=45486, compute_capability=8.9, display_name="L40S 48GB"
    ),
    # "total capacity of 39.50 GiB" (TianheWu/CoSeR issue #10, A100 40GB).
    "NVIDIA-A100-SXM4-40GB": GpuModel(
        memory_mib=40960,
        torch_memory_mib=40448,
        compute_capability=8.0,
        display_name="A100 40GB SXM4",
        gpus_per_node=8,
    ),
    # "total capacity of 79.14 GiB" (lianqi1008/Control-GIC issue #6, A100 80GB); another
    # log shows 79.25 GiB (levihsu/OOTDiffusion issue #235).
    "NVIDIA-A100-SXM4-80GB": GpuModel(
        memory_mib=81920,
        torch_memory_mib=81039,
        compute_capability=8.0,
        display_name="A100 80GB SXM4",
        gpus_per_node=8,
    ),
    "NVIDIA-A100-80GB-PCIe": GpuModel(
        memory_mib=81920, torch_memory_mib=81039, compute_capability=8.0, display_name="A100 80GB PCIe"
    ),
    # 81079 MiB = 79.19 GiB: every row of ../shared/data/vllm-kv-calibration.csv (vLLM 0.19).
    "NVIDIA-H100-80GB-HBM3": GpuModel(
        memory_mib=81559,
        torch_memory_mib=81079,
        compute_capability=9.0,
        display_name="H100 80GB SXM",
        gpus_per_node=8,
    ),
    # 143156 MiB torch vs 143771 MiB nvidia-smi (issue 12's facts from vLLM logs).
    "NVIDIA-H200": GpuModel(
        memory_mib=143771,
        torch_memory_mib=143156,
        compute_capability=9.0,
        display_name="H200 141GB",
        gpus_per_node=8,
    ),
}
