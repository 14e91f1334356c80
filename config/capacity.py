"""What preview reports per pool: the memory sum, KV-cache tokens and layout.

Pure: no Pulumi imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from config import sizing
from config.serving import parallel_layout


@dataclass(frozen=True)
class MemoryTerms:
    """One GPU's memory, term by term as vLLM sums it at start-up (GiB)."""

    total: float  # torch-visible total
    gpu_memory_utilization: float
    weights: float
    activation: float
    non_torch: float
    margin: float  # the pool's overheadGib
    kv_cache: float
    lora: float = 0.0  # LoRA adapter slots (pools.<name>.lora)

    @classmethod
    def of(cls, capacity: sizing.PodCapacity) -> MemoryTerms:
        return cls(
            total=capacity.total_bytes / sizing.GIB,
            gpu_memory_utilization=capacity.shape.gpu_memory_utilization,
            weights=capacity.weight_bytes_per_gpu / sizing.GIB,
            activation=capacity.activation_bytes / sizing.GIB,
            non_torch=capacity.non_torch_bytes / sizing.GIB,
            margin=capacity.margin_bytes / sizing.GIB,
            kv_cache=capacity.kv_cache_bytes_per_gpu / sizing.GIB,
            lora=capacity.lora_bytes / sizing.GIB,
        )

    def as_output(self) -> dict:
        output = {
            "total": round(self.total, 2),
            "gpuMemoryUtilization": self.gpu_memory_utilization,
            "requested": round(self.total * self.gpu_memory_utilization, 2),
            "weights": round(self.weights, 2),
            "activation": round(self.activation, 2),
            "nonTorch": round(self.non_torch, 2),
            "overhead": round(self.margin, 2),
            "kvCache": round(self.kv_cache, 2),
        }
        if self.lora:
            output["loraAdapters"] = round(self.lora, 3)
        return output

    def describe(self) -> str:
        """The sum in one line: `total x util - weights - ... = KV`."""
        margin = f" - {self.margin:.2f} overheadGib" if self.margin else ""
        margin += f" - {self.lora:.2f} LoRA slots" if self.lora else ""
        return (
            f"{self.total:.2f} GiB total x {self.gpu_memory_utilization} - {self.weights:.2f} weights - "
            f"{self.activation:.2f} activation - {self.non_torch:.2f} non-torch{margin} = "
            f"{self.kv_cache:.2f} GiB KV cache per GPU"
        )


@dataclass(frozen=True)
class PoolCapacity:
    """What one pool can hold, per pod, on its smallest accepted GPU."""

    pool: str
    model: str
    gpu_product: str
    pods: int
    gpus_per_pod: int
    max_model_len: int
    kv_cache_tokens_per_pod: int
    max_concurrent_full_sequences: int
    memory: MemoryTerms
    # One pod per replica, or a group of whole nodes (parallel_layout).
    layout: parallel_layout.PoolLayout | None = None

    @property
    def nodes_per_replica(self) -> int:
        return self.layout.nodes_per_replica if self.layout else 1

    @property
    def total_gpus(self) -> int:
        return self.pods * self.gpus_per_pod

    @property
    def weights_gib_per_gpu(self) -> float:
        return self.memory.weights

    @property
    def kv_cache_gib_per_gpu(self) -> float:
        return self.memory.kv_cache

    def as_output(self) -> dict:
        """`pods` counts replicas and `...PerPod` figures are per replica (for a
        multi-node pool, a group of `nodesPerReplica` pods; see `perNode`)."""
        output = {
            "model": self.model,
            "gpuProduct": self.gpu_product,
            "pods": self.pods,
            "gpusPerPod": self.gpus_per_pod,
            "totalGpus": self.total_gpus,
            "maxModelLen": self.max_model_len,
            "kvCacheTokensPerPod": self.kv_cache_tokens_per_pod,
            "maxConcurrentFullLengthSequencesPerPod": self.max_concurrent_full_sequences,
            "weightsGiBPerGpu": round(self.weights_gib_per_gpu, 2),
            "kvCacheGiBPerGpu": round(self.kv_cache_gib_per_gpu, 2),
            "memoryGiBPerGpu": self.memory.as_output(),
            "nodesPerReplica": self.nodes_per_replica,
        }
        if self.layout and self.layout.multi_node:
            output["perNode"] = parallel_layout.per_node_figures(
                self.layout, self.weights_gib_per_gpu, self.kv_cache_gib_per_gpu
            ).as_output()
        return output

    def describe(self) -> str:
        return (
            f"{self.pool}: {self.model} on {self.gpu_product}, {self.memory.describe()}: "
            f"{self.kv_cache_tokens_per_pod} KV tokens per pod, "
            f"{self.max_concurrent_full_sequences} full {self.max_model_len}-token sequences"
        )


@dataclass(frozen=True)
class CapacityReport:
    pools: dict[str, PoolCapacity]
    warnings: list[str] = field(default_factory=list)

    @property
    def total_gpus(self) -> int:
        return sum(p.total_gpus for p in self.pools.values())

    def as_output(self) -> dict:
        return {
            "totalGpus": self.total_gpus,
            "pools": {name: p.as_output() for name, p in self.pools.items()},
        }

    def max_model_len(self, pool: str) -> int:
        return self.pools[pool].max_model_len

    def summary_lines(self) -> list[str]:
        """One line per pool with vLLM's memory sum, for the preview log."""
        return [pool.describe() for pool in self.pools.values()]

    def weights_gib(self, pool: str) -> float:
        """The whole checkpoint one replica loads (GiB): per GPU times the replica's
        GPUs (`gpus_per_pod` counts a multi-node group's GPUs, all its nodes')."""
        capacity = self.pools.get(pool)
        return capacity.weights_gib_per_gpu * capacity.gpus_per_pod if capacity else 0.0

    def layout(self, pool: str) -> parallel_layout.PoolLayout:
        """Pods per replica and GPUs per pod: decided once, here, for every component."""
        capacity = self.pools[pool]
        if capacity.layout is not None:
            return capacity.layout
        return parallel_layout.PoolLayout(nodes_per_replica=1, gpus_per_pod=capacity.gpus_per_pod)
