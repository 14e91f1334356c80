"""How one replica of a pool is laid out on nodes, and the checks on its split.

A replica needs tensorParallelSize x pipelineParallelSize GPUs. When that fits on one
node it is one pod (a Deployment replica); when it does not, it is a group of pods,
one per node, each taking a whole node's GPUs (a LeaderWorkerSet group). The choice
is made here, once, from the pool's config and the GPU catalog; components only read
the resulting `PoolLayout`.

Pure: no Pulumi imports. Kept apart from sizing.py (memory arithmetic) on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.catalog import GpuModel, ModelArchitecture
from config.errors import Problem
from config.serving.sections import PoolConfig
from config.serving.vllm_args import flag_name

# The most pipeline stages we suggest in a fix (vLLM accepts more; nobody wants them).
MAX_SUGGESTED_PIPELINE_STAGES = 16


@dataclass(frozen=True)
class PoolLayout:
    """Pods per replica and GPUs per pod."""

    nodes_per_replica: int
    gpus_per_pod: int

    @property
    def multi_node(self) -> bool:
        return self.nodes_per_replica > 1

    @property
    def gpus_per_replica(self) -> int:
        return self.nodes_per_replica * self.gpus_per_pod


@dataclass(frozen=True)
class NodeSize:
    """GPUs of one node for a pool, and where that number came from."""

    gpus: int
    source: str  # for messages: "multiNode.gpusPerNode", "the GPU catalog", ...


def node_size(pool: PoolConfig, product: str, gpu: GpuModel, max_gpus_per_node: int) -> NodeSize:
    """The pool's own setting, else the catalog's figure for its product, else the
    cluster-wide maximum."""
    if pool.multi_node.gpus_per_node is not None:
        return NodeSize(pool.multi_node.gpus_per_node, "multiNode.gpusPerNode")
    if gpu.gpus_per_node is not None:
        return NodeSize(gpu.gpus_per_node, f"the GPU catalog ({product} nodes have {gpu.gpus_per_node})")
    return NodeSize(max_gpus_per_node, "llm-serving:gpu.maxGpusPerNode")


def layout_for(pool: PoolConfig, node: NodeSize) -> PoolLayout:
    """One pod when the replica fits a node; else one whole node per pod."""
    gpus = pool.gpus_per_replica
    if gpus <= node.gpus:
        return PoolLayout(nodes_per_replica=1, gpus_per_pod=gpus)
    return PoolLayout(nodes_per_replica=-(-gpus // node.gpus), gpus_per_pod=node.gpus)


def split_problems(key: str, pool: PoolConfig, arch: ModelArchitecture) -> list[Problem]:
    """The model must split evenly: attention heads by TP (vLLM refuses otherwise),
    layers by PP (so that every stage, and every GPU, holds what sizing assumed)."""
    problems = []
    pp = pool.pipeline_parallel_size
    if arch.num_layers % pp:
        valid = [n for n in range(1, MAX_SUGGESTED_PIPELINE_STAGES + 1) if arch.num_layers % n == 0]
        problems.append(
            Problem(
                f"{key}.pipelineParallelSize",
                pp,
                f"{pool.model} has {arch.num_layers} layers, which do not split evenly into {pp} "
                "pipeline stages",
                f"use one of {', '.join(map(str, valid))}",
            )
        )
    return problems


def multi_node_problems(
    key: str,
    pool: PoolConfig,
    products: list[str],
    catalog: dict[str, GpuModel],
    node: NodeSize,
    in_pd_stack: bool,
) -> list[Problem]:
    """What a replica spanning nodes needs: whole nodes, one product, a node size the
    catalog agrees with, and a plain pool (not a P/D role)."""
    gpus = pool.gpus_per_replica
    problems = []
    declared = pool.multi_node.gpus_per_node
    for product in products:
        known = catalog[product].gpus_per_node
        if declared is not None and known is not None and declared > known:
            problems.append(
                Problem(
                    f"{key}.multiNode.gpusPerNode",
                    declared,
                    f"{product} nodes have {known} GPUs (GPU catalog); a pod asking for "
                    f"{declared} would stay Pending",
                    f"use {known} or less, or describe your nodes under llm-serving:gpus",
                )
            )
    if gpus <= node.gpus:
        return problems
    if gpus % node.gpus:
        whole = [node.gpus * n for n in range(2, 5)]
        problems.append(
            Problem(
                f"{key}.tensorParallelSize",
                pool.tensor_parallel_size,
                f"a replica needs {gpus} GPUs (tensorParallelSize x pipelineParallelSize), more than "
                f"one node's {node.gpus} ({node.source}) and not a whole number of nodes",
                f"make tensorParallelSize x pipelineParallelSize one of {', '.join(map(str, whole))} "
                f"(e.g. tensorParallelSize {node.gpus}, pipelineParallelSize "
                f"{-(-gpus // node.gpus)})",
            )
        )
    for index, arg in enumerate(pool.extra_args):
        if flag_name(arg) == "--distributed-executor-backend":
            problems.append(
                Problem(
                    f"{key}.extraArgs[{index}]",
                    None,
                    "sets --distributed-executor-backend, but a multi-node pool runs vLLM's ranks on "
                    "its group's Ray cluster",
                    "remove it: multi-node pools render --distributed-executor-backend ray",
                )
            )
    if len(products) != 1:
        problems.append(
            Problem(
                f"{key}.gpuProducts",
                products,
                f"a replica spans {-(-gpus // node.gpus)} nodes, which must all be of one GPU product",
                "accept exactly one product for this pool (gpuProducts: [<product>])",
            )
        )
    if in_pd_stack:
        problems.append(
            Problem(
                f"{key}.tensorParallelSize",
                pool.tensor_parallel_size,
                f"a prefill/decode role would span nodes ({gpus} GPUs, {node.gpus} per node); "
                "multi-node roles are not supported",
                "fit the role on one node (quantize or lower tensorParallelSize) or serve the model "
                "as a plain multi-node pool",
            )
        )
    return problems


def tensor_parallelism_spans_nodes(pool: PoolConfig, layout: PoolLayout) -> bool:
    """TP all-reduces every layer; across nodes it runs at network speed."""
    return layout.multi_node and pool.tensor_parallel_size > layout.gpus_per_pod


@dataclass(frozen=True)
class PerNodeFigures:
    """What one node of a multi-node replica holds."""

    gpus: int
    weights_gib: float
    kv_cache_gib: float

    def as_output(self) -> dict:
        return {
            "gpus": self.gpus,
            "weightsGiB": round(self.weights_gib, 2),
            "kvCacheGiB": round(self.kv_cache_gib, 2),
        }


def per_node_figures(
    layout: PoolLayout, weights_gib_per_gpu: float, kv_cache_gib_per_gpu: float
) -> PerNodeFigures:
    return PerNodeFigures(
        gpus=layout.gpus_per_pod,
        weights_gib=weights_gib_per_gpu * layout.gpus_per_pod,
        kv_cache_gib=kv_cache_gib_per_gpu * layout.gpus_per_pod,
    )
