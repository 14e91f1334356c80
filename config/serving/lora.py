"""LoRA adapters of a pool (`pools.<name>.lora`): the config section, where each adapter
lands in the model cache, the `vllm serve` flags, and the GPU memory vLLM reserves
for them.

An adapter is served under its key: a client sends it as the request's `model`, and
vLLM's `/v1/models` lists it beside the base model. Adapters always reach the cache
through a download Job (components/storage/model_cache.py), from the hub at the
revision `release.modelRevisions` pins or from S3, so vLLM loads them from a local
directory at start-up and never asks the hub for them.

Facts of vLLM 0.19.1 are cited from its source (vllm/config/lora.py,
vllm/lora/layers/*.py); ../shared/notes and /docs/sizing.md carry the arithmetic.

Pure: no Pulumi imports.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import Field, model_validator

from config.catalog import ModelArchitecture
from config.kube_types import Int32, ModelId, ServedModelName
from config.section import Section
from config.storage.sections import S3Source

# vLLM 0.19.1 `MaxLoRARanks` (vllm/config/lora.py): the only values --max-lora-rank takes.
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
LoraRank = Literal[1, 8, 16, 32, 64, 128, 256, 320, 512]

# Adapters batched together when `maxLoras` is unset: every adapter, up to this many
# (vLLM's own default is 1, which serializes requests for different adapters).
DEFAULT_MAX_LORAS = 4

# vLLM 0.19.1 refuses LoRA for a larger vocabulary (vllm/lora/layers/logits_processor.py:91).
LORA_MAX_VOCAB = 258048

# Hub adapters land under <mountPath>/lora/<repository>/<revision>.
ADAPTER_DIRECTORY = "lora"


class LoraAdapter(Section):
    """One adapter: where it comes from, and the facts of it preview checks (its
    `adapter_config.json` says `r` and `base_model_name_or_path`)."""

    # A Hugging Face repository; its commit is pinned in release.modelRevisions, as a
    # model's is.
    hub: ModelId | None = None
    s3: S3Source | None = None
    rank: Int32 = Field(ge=1, le=max(LORA_RANKS))
    # The model it was trained on: must be the pool's `model`.
    base_model: ModelId

    @model_validator(mode="after")
    def _one_source(self) -> LoraAdapter:
        if (self.hub is None) == (self.s3 is None):
            raise ValueError("needs exactly one source: hub (a repository id) or s3 {bucket, prefix}")
        return self


class LoraConfig(Section):
    """Adapters one pool serves on top of its base model (vLLM `--enable-lora`)."""

    # At most 63: the gateway's model-header rule matches the model and each adapter,
    # and an HTTPRoute rule holds 64 matches.
    adapters: dict[ServedModelName, LoraAdapter] = Field(min_length=1, max_length=63)
    # Adapters in one batch, each holding a slot of GPU memory (vLLM --max-loras).
    # Unset: every adapter, at most DEFAULT_MAX_LORAS.
    max_loras: Int32 | None = Field(default=None, ge=1, le=256)
    # The rank every slot is allocated for (vLLM --max-lora-rank). Unset: the smallest
    # value vLLM accepts that holds the largest adapter's rank.
    max_lora_rank: LoraRank | None = None
    # Adapters kept in CPU memory for quick swaps (vLLM --max-cpu-loras; vLLM's
    # default: maxLoras).
    max_cpu_loras: Int32 | None = Field(default=None, ge=1, le=1024)
    # Let holders of the API key load and unload adapters at run time
    # (/v1/load_lora_adapter). Off: only the adapters listed here are served.
    runtime_loading: bool = False

    @property
    def slots(self) -> int:
        """vLLM's max_loras as rendered."""
        return self.max_loras or min(len(self.adapters), DEFAULT_MAX_LORAS)

    @property
    def largest_rank(self) -> int:
        return max(adapter.rank for adapter in self.adapters.values())

    @property
    def rank(self) -> int:
        """vLLM's max_lora_rank as rendered."""
        if self.max_lora_rank is not None:
            return self.max_lora_rank
        return next((rank for rank in LORA_RANKS if rank >= self.largest_rank), LORA_RANKS[-1])


def render_lora_args(lora: LoraConfig, served_name: str, paths: dict[str, str]) -> list[str]:
    """`--enable-lora` and its limits, and one `--lora-modules` JSON item per adapter
    (vLLM 0.19.1 LoRAParserAction: name, path, base_model_name), `paths` by adapter."""
    args = ["--enable-lora", "--max-loras", str(lora.slots), "--max-lora-rank", str(lora.rank)]
    if lora.max_cpu_loras is not None:
        args += ["--max-cpu-loras", str(lora.max_cpu_loras)]
    modules = [
        json.dumps({"name": name, "path": paths[name], "base_model_name": served_name}, separators=(",", ":"))
        for name in lora.adapters
    ]
    return [*args, "--lora-modules", *modules]


def lora_bytes_per_gpu(
    arch: ModelArchitecture, lora: LoraConfig, dtype_bytes: int, tensor_parallel_size: int
) -> float:
    """GPU memory of the adapter slots on one GPU, allocated with the model (before
    vLLM profiles memory, so it comes out of the KV cache).

    vLLM 0.19.1 wraps every module it supports (target_modules unset,
    vllm/lora/model_manager.py:581) and gives each, per slot, A (rank x input) and
    B (output x rank) in the model's dtype (vllm/lora/layers/base_linear.py:35):
    - a column-parallel layer splits B's output over TP ranks, a row-parallel layer
      splits A's input, and the other factor stays whole on every rank (qkv_proj and
      gate_up_proj are column-parallel, o_proj and down_proj row-parallel);
    - the input embedding (vocal_parallel_embedding.py:49) and the output head
      (logits_processor.py:93) hold A and B over the whole vocabulary on every rank.
    Mixture-of-experts layers are counted as one dense MLP: their per-expert adapter
    weights are not (docs/sizing.md says so).
    """
    tp = tensor_parallel_size
    hidden = arch.hidden_size
    q_out = arch.num_attention_heads * arch.head_dim
    kv_out = arch.num_kv_heads * arch.head_dim
    inner = arch.intermediate_size
    # Column parallel: A whole (rank x input), B split (output / tp x rank).
    qkv = 3 * hidden + (q_out + 2 * kv_out) / tp  # A of q, k and v slices, B split
    gate_up = 2 * hidden + 2 * inner / tp
    # Row parallel: A split (rank x input / tp), B whole (output x rank).
    o_proj = q_out / tp + hidden
    down = inner / tp + hidden
    per_rank_per_layer = qkv + gate_up + o_proj + down
    # Embedding: A vocab x rank, B hidden x rank; output head: A rank x hidden,
    # B vocab x rank. Both whole on every rank, tied embeddings or not.
    per_rank_vocab = 2 * (arch.vocab_size + hidden)
    per_rank = arch.num_layers * per_rank_per_layer + per_rank_vocab
    return lora.slots * lora.rank * per_rank * dtype_bytes
