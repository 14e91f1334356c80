"""NamespaceQuota: a ResourceQuota and a LimitRange sized from the stack itself.

The quota is what the stack needs at its largest (every pool at its autoscaler's
maximum, plus the extra pod a rollout may add, routers, prefetch Jobs, cache claims),
plus `quota.headroomPercent` on CPU, memory and storage; GPUs exactly. So a typo (a
`replicas: 80`, a second stack in the same namespace) is refused by the API server
instead of taking the cluster. The LimitRange caps any one container at the largest
the stack runs and gives containers that set nothing (a debug pod) small defaults,
which a quota on CPU and memory otherwise refuses outright.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.placement import GPU_RESOURCE
from components.serving import ROUTER_MAX_SURGE
from components.shared import PART_OF
from components.storage import PREFETCH_LIMITS, PREFETCH_REQUESTS
from config.kube_types import quantity_value
from config.serving.parallel_layout import PoolLayout
from config.stack import StackConfig

# Defaults for containers that set nothing (the stack's own containers set everything).
DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_LIMIT = {"cpu": "500m", "memory": "512Mi"}


def quantity(value: str) -> float:
    """A Kubernetes quantity as a number (cores, bytes): '500m' -> 0.5, '2Gi' -> 2**31,
    '1e3' -> 1000; read by the schema's own parser, so every quantity it accepts is read."""
    return float(quantity_value(value))


def cpu_text(cores: float) -> str:
    return f"{math.ceil(cores * 1000)}m"


def bytes_text(size: float) -> str:
    return f"{math.ceil(size / 2**20)}Mi"


@dataclass
class Budget:
    """What the stack's pods and claims add up to at their largest."""

    pods: int = 0
    gpus: int = 0
    cpu_requests: float = 0
    cpu_limits: float = 0
    memory_requests: float = 0
    memory_limits: float = 0
    claims: int = 0
    storage: float = 0
    # The largest single container's CPU and memory limits.
    largest: dict[str, float] = field(default_factory=lambda: {"cpu": 0, "memory": 0})

    def add_pods(self, count: int, requests: dict[str, str], limits: dict[str, str], gpus: int = 0) -> None:
        self.pods += count
        self.gpus += count * gpus
        self.cpu_requests += count * quantity(requests["cpu"])
        self.cpu_limits += count * quantity(limits["cpu"])
        self.memory_requests += count * quantity(requests["memory"])
        self.memory_limits += count * quantity(limits["memory"])
        for key in ("cpu", "memory"):
            self.largest[key] = max(self.largest[key], quantity(limits[key]))


def stack_budget(stack: StackConfig, layouts: dict[str, PoolLayout]) -> Budget:
    """The stack at its largest: pools at max replicas + rollout surge (each replica
    `layouts[pool].nodes_per_replica` pods), routers + surge, endpoint pickers, one
    download Job per pool that gets one (an upper bound: pools sharing a model share
    one), an adapters Job per LoRA pool (its containers run one after another, so it
    counts as one download container), claims."""
    budget = Budget()
    pools = stack.serving_pools()
    for name, pool in pools.items():
        resources = pool.resources
        layout = layouts[name]
        memory = pool.container_memory(layout.nodes_per_replica)  # with a KV offload buffer
        budget.add_pods(
            (pool.max_pods + pool.rollout.max_surge) * layout.nodes_per_replica,
            {"cpu": resources.cpu, "memory": memory},
            {"cpu": resources.effective_cpu_limit, "memory": memory},
            layout.gpus_per_pod,
        )
    for pd_stack in stack.pd_stacks.values():
        router = pd_stack.router
        budget.add_pods(
            router.replicas + ROUTER_MAX_SURGE,
            {"cpu": router.resources.cpu, "memory": router.resources.memory},
            {"cpu": router.resources.effective_cpu_limit, "memory": router.resources.memory},
        )
    picker = stack.inference_gateway.endpoint_picker
    for _ in [route for route in stack.inference_gateway.routes if route in stack.pools]:
        # One picker Deployment per routed pool; Recreate strategy, so no surge.
        budget.add_pods(
            picker.replicas,
            {"cpu": picker.resources.cpu, "memory": picker.resources.memory},
            {"cpu": picker.resources.effective_cpu_limit, "memory": picker.resources.memory},
        )
    prefetch = stack.model_cache.prefetch.enabled
    download_jobs = sum(pool.source.downloaded_by_job(prefetch) for pool in pools.values())
    download_jobs += sum(pool.lora is not None for pool in pools.values())
    if download_jobs:
        budget.add_pods(download_jobs, PREFETCH_REQUESTS, PREFETCH_LIMITS)
    budget.claims = len(pools) if stack.model_cache.mode == "pvc" else 1
    budget.storage = budget.claims * quantity(stack.model_cache.size)
    return budget


def quota_hard(budget: Budget, headroom_percent: int) -> dict[str, str]:
    """ResourceQuota `spec.hard` for a budget; GPUs (an extended resource, which quota
    only counts as `requests.`) never padded."""
    pad = 1 + headroom_percent / 100
    return {
        "pods": str(budget.pods),
        f"requests.{GPU_RESOURCE}": str(budget.gpus),
        "requests.cpu": cpu_text(budget.cpu_requests * pad),
        "limits.cpu": cpu_text(budget.cpu_limits * pad),
        "requests.memory": bytes_text(budget.memory_requests * pad),
        "limits.memory": bytes_text(budget.memory_limits * pad),
        "persistentvolumeclaims": str(budget.claims),
        "requests.storage": bytes_text(budget.storage * pad),
    }


class NamespaceQuota(pulumi.ComponentResource):
    """Owns the namespace's ResourceQuota and LimitRange."""

    hard: dict[str, str]

    def __init__(
        self,
        name: str,
        stack: StackConfig,
        layouts: dict[str, PoolLayout],
        namespace: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-serving:policy:NamespaceQuota", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        budget = stack_budget(stack, layouts)
        self.hard = quota_hard(budget, stack.quota.headroom_percent)
        metadata = k8s.meta.v1.ObjectMetaArgs(
            name="llm-serving", namespace=namespace, labels={"app.kubernetes.io/part-of": PART_OF}
        )
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=metadata,
            spec=k8s.core.v1.ResourceQuotaSpecArgs(hard=self.hard),
            opts=child,
        )
        # No GPU maximum here: a LimitRange maximum makes the resource's limit
        # mandatory on every container (routers have none); the quota caps GPUs.
        largest = budget.largest
        container_max = {"cpu": cpu_text(largest["cpu"]), "memory": bytes_text(largest["memory"])}
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=metadata,
            spec=k8s.core.v1.LimitRangeSpecArgs(
                limits=[
                    k8s.core.v1.LimitRangeItemArgs(
                        type="Container",
                        default=DEFAULT_LIMIT,
                        default_request=DEFAULT_REQUEST,
                        max=container_max,
                    ),
                    k8s.core.v1.LimitRangeItemArgs(
                        type="PersistentVolumeClaim", max={"storage": stack.model_cache.size}
                    ),
                ]
            ),
            opts=child,
        )
        self.register_outputs({"hard": self.hard})
