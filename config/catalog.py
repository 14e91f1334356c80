"""Built-in model and GPU catalogs: the facts sizing needs, and nothing else.

Pure data. A stack may add entries (`llm-serving:models`, `llm-serving:gpus`) or
override a built-in one by using the same key; see `schema.py`.

Sources: each model's `config.json` on the Hugging Face hub and the GPU Feature
Discovery label values seen on real clusters (../shared/notes/vllm.md, sections 3).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

AttentionKind = Literal["mha", "gqa", "mla"]
WeightDtype = Literal["bfloat16", "float16", "float32"]
# Quantizations whose weights ship pre-quantized in the checkpoint; vLLM cannot
# apply them on the fly to an unquantized model.
CheckpointQuantization = Literal["awq", "gptq", "fp8", "compressed-tensors"]


class CatalogEntry(BaseModel):
    """Shared pydantic settings: camelCase keys in YAML, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


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
    params_billion: float = Field(gt=0)
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
        return self


class GpuModel(CatalogEntry):
    """One GPU product, keyed by its `nvidia.com/gpu.product` label value."""

    memory_mib: int = Field(gt=0, description="as the nvidia.com/gpu.memory label reports it")
    compute_capability: float = Field(gt=0)
    display_name: str
    # GPUs per node where the product only ships in one form (HGX/DGX baseboards of
    # 8 SXM GPUs); None where it varies (PCIe cards). Multi-node pools use it.
    gpus_per_node: int | None = Field(default=None, gt=0)

    @property
    def supports_bfloat16(self) -> bool:
        return self.compute_capability >= 8.0


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
    "TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ": ModelArchitecture(
        **_MIXTRAL, default_dtype="float16", quantization="awq", weight_gib=23.0
    ),
    "deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct": ModelArchitecture(
        num_layers=27,
        hidden_size=2048,
        intermediate_size=8 * 1408,  # 6 routed + 2 shared experts of width 1408
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
        params_billion=0.125,
        default_dtype="float16",
        max_context=2048,
    ),
}

BUILTIN_GPUS: dict[str, GpuModel] = {
    "Tesla-T4": GpuModel(memory_mib=15360, compute_capability=7.5, display_name="T4 16GB"),
    "NVIDIA-A10G": GpuModel(memory_mib=23028, compute_capability=8.6, display_name="A10G 24GB"),
    "NVIDIA-L4": GpuModel(memory_mib=23034, compute_capability=8.9, display_name="L4 24GB"),
    "NVIDIA-L40": GpuModel(memory_mib=46068, compute_capability=8.9, display_name="L40 48GB"),
    "NVIDIA-L40S": GpuModel(memory_mib=46068, compute_capability=8.9, display_name="L40S 48GB"),
    "NVIDIA-A100-SXM4-40GB": GpuModel(
        memory_mib=40960, compute_capability=8.0, display_name="A100 40GB SXM4", gpus_per_node=8
    ),
    "NVIDIA-A100-SXM4-80GB": GpuModel(
        memory_mib=81920, compute_capability=8.0, display_name="A100 80GB SXM4", gpus_per_node=8
    ),
    "NVIDIA-A100-80GB-PCIe": GpuModel(
        memory_mib=81920, compute_capability=8.0, display_name="A100 80GB PCIe"
    ),
    "NVIDIA-H100-80GB-HBM3": GpuModel(
        memory_mib=81559, compute_capability=9.0, display_name="H100 80GB SXM", gpus_per_node=8
    ),
    "NVIDIA-H200": GpuModel(
        memory_mib=143771, compute_capability=9.0, display_name="H200 141GB", gpus_per_node=8
    ),
}
