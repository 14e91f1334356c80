"""What a stack creates, by kind and name, and on which ports: checked for clashes.

Kubernetes keeps one object of a kind and name per namespace (Namespaces: one per
cluster), and a pod or Service one port per number. Two config keys that would create
the same object, or one port twice, fail only at `pulumi up`, half-applied; here they
fail at preview. Names come from config/names.py, the functions the components use.
Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.errors import Problem
from config.names import (
    HF_TOKEN_SECRET_NAME,
    PD_ROLES,
    SHARED_CLAIM_NAME,
    adapters_job_name,
    epp_name,
    pool_claim_name,
    prefetch_job_name,
    role_pool_name,
    router_name,
)
from config.serving.sections import PoolConfig
from config.stack import StackConfig

# Kubernetes reserves the `kube-` prefix for its own namespaces (kube-system,
# kube-public, kube-node-lease). `default` always exists: creating it fails, and
# `pulumi destroy` would try to delete it.
RESERVED_NAMESPACE_PREFIX = "kube-"
ALWAYS_PRESENT_NAMESPACES = ("default",)


@dataclass(frozen=True)
class PlannedObject:
    kind: str
    name: str
    key: str  # the config key that makes the program create it
    namespaced: bool = True


def _workload_objects(name: str, pool: PoolConfig, key: str, monitored: bool) -> list[PlannedObject]:
    kinds = ["Deployment", "Service"]
    if pool.disruption_budget.enabled:
        kinds.append("PodDisruptionBudget")
    if pool.autoscaling.mode == "hpa":
        kinds.append("HorizontalPodAutoscaler")
    elif pool.autoscaling.mode == "keda":
        kinds.append("ScaledObject")
    if monitored:
        kinds.append("ServiceMonitor")
    return [PlannedObject(kind, name, key) for kind in kinds]


def planned_objects(stack: StackConfig, *, has_hf_token: bool) -> list[PlannedObject]:
    """Every named object the program creates for this config."""
    monitored = stack.monitoring.enabled
    objects: list[PlannedObject] = []
    for name, pool, key in stack.serving_pool_entries():
        objects += _workload_objects(name, pool, key, monitored)
    for name, pd_stack in stack.pd_stacks.items():
        router = pd_stack.router
        key = f"pdStacks.{name}.router"
        kinds = ["Deployment", "Service"]
        if router.disruption_budget.enabled:
            kinds.append("PodDisruptionBudget")
        if router.discovery == "pods":
            kinds += ["ServiceAccount", "Role", "RoleBinding"]
        if monitored:
            kinds.append("ServiceMonitor")
        objects += [PlannedObject(kind, router_name(name), key) for kind in kinds]
    for name in stack.inference_gateway.routes:
        if name in stack.pools:  # a P/D stack is routed to its router, no picker
            key = f"inferenceGateway.routes.{name}"
            objects += [PlannedObject(kind, epp_name(name), key) for kind in ("Deployment", "Service")]
    cache = stack.model_cache
    for name, pool, key in stack.serving_pool_entries():
        if cache.mode == "pvc":
            objects.append(PlannedObject("PersistentVolumeClaim", pool_claim_name(name), key))
        if pool.source.downloaded_by_job(cache.prefetch.enabled):
            objects.append(PlannedObject("Job", prefetch_job_name(name), key))
        if pool.lora is not None:
            objects.append(PlannedObject("Job", adapters_job_name(name), f"{key}.lora"))
    if cache.mode != "pvc":
        objects.append(PlannedObject("PersistentVolumeClaim", SHARED_CLAIM_NAME, "modelCache"))
    if has_hf_token and not stack.hugging_face.existing_secret:
        objects.append(PlannedObject("Secret", HF_TOKEN_SECRET_NAME, "hfToken"))
    if stack.auth.enabled and not stack.auth.existing_secret:
        objects.append(PlannedObject("Secret", stack.auth.secret_name, "auth.secretName"))
    for namespace, key in created_namespaces(stack):
        objects.append(PlannedObject("Namespace", namespace, key, namespaced=False))
    return objects


def created_namespaces(stack: StackConfig) -> list[tuple[str, str]]:
    """(namespace, config key) of every Namespace the program creates."""
    created = []
    if stack.create_namespace:
        created.append((stack.namespace, "namespace"))
    addons = [
        (stack.gpu.operator, "gpu.operator.namespace", True),
        (stack.leader_worker_set, "leaderWorkerSet.namespace", True),
        (
            stack.inference_gateway.implementation,
            "inferenceGateway.implementation.namespace",
            bool(stack.inference_gateway.routes),
        ),
        (stack.model_cache.longhorn, "modelCache.longhorn.namespace", stack.model_cache.mode == "longhorn"),
        (
            stack.monitoring.kube_prometheus_stack,
            "monitoring.kubePrometheusStack.namespace",
            stack.monitoring.enabled,
        ),
    ]
    for addon, key, in_use in addons:
        if in_use and addon.install:
            created.append((addon.namespace, key))
    return created


def check_object_names(stack: StackConfig, *, has_hf_token: bool) -> list[Problem]:
    """Two config keys that would create objects of one kind and name: one problem per
    pair of keys, reported at the key that comes first in the stack file."""
    first: dict[tuple[str, str], PlannedObject] = {}
    clashes: dict[tuple[str, str], list[str]] = {}
    for planned in planned_objects(stack, has_hf_token=has_hf_token):
        seen = first.setdefault((planned.kind, planned.name), planned)
        if seen is not planned and seen.key != planned.key:
            clashes.setdefault((seen.key, planned.key), []).append(f"{planned.kind} {planned.name}")
    return [
        Problem(
            first_key,
            None,
            f"creates {', '.join(objects)}, and llm-serving:{second_key} would create the same; "
            "a namespace holds one object of a kind and name",
            f"rename {first_key} or {second_key}",
        )
        for (first_key, second_key), objects in clashes.items()
    ]


def check_reserved_namespaces(stack: StackConfig) -> list[Problem]:
    """Namespaces the program creates (or deploys into) that Kubernetes reserves."""
    problems = []
    for namespace, key in created_namespaces(stack):
        if namespace in ALWAYS_PRESENT_NAMESPACES:
            problems.append(
                Problem(
                    key,
                    namespace,
                    "always exists, so the program cannot create it (and destroy would try to delete it)",
                    "use a namespace of your own, or set createNamespace: false to deploy into it",
                )
            )
    for key, namespace in [("namespace", stack.namespace)] + [(k, n) for n, k in created_namespaces(stack)]:
        if namespace.startswith(RESERVED_NAMESPACE_PREFIX):
            problems.append(
                Problem(
                    key,
                    namespace,
                    "is reserved: Kubernetes keeps the kube- prefix for its own system namespaces",
                    "use a namespace of your own, such as llm-serving",
                )
            )
    return problems


def _port_clashes(key: str, where: str, ports: list[tuple[str, range]]) -> list[Problem]:
    problems = []
    for i, (name_a, range_a) in enumerate(ports):
        for name_b, range_b in ports[i + 1 :]:
            if set(range_a) & set(range_b):
                problems.append(
                    Problem(
                        key,
                        None,
                        f"{name_b} uses port {range_b.start}"
                        + (f"-{range_b.stop - 1}" if len(range_b) > 1 else "")
                        + f", which {name_a} uses too in the {where}",
                        "give each port its own number",
                    )
                )
    return problems


def check_ports(stack: StackConfig) -> list[Problem]:
    """One number per port in each pod and Service."""
    problems = []
    for name, pd_stack in stack.pd_stacks.items():
        key = f"pdStacks.{name}"
        side_channel = pd_stack.kv_transfer.side_channel_port
        for role in PD_ROLES:
            pool = pd_stack.role(role)
            # NIXL listens on one side-channel port per tensor-parallel rank.
            ranks = range(side_channel, side_channel + pool.tensor_parallel_size)
            problems += _port_clashes(
                f"{key}.kvTransfer.sideChannelPort",
                f"{role_pool_name(name, role)} pods",
                [(f"{key}.{role}.service.port", range(pool.service.port, pool.service.port + 1)),
                 ("the NIXL side channel (one port per tensor-parallel rank)", ranks)],
            )  # fmt: skip
        router = pd_stack.router
        problems += _port_clashes(
            f"{key}.router.metricsPort",
            f"{router_name(name)} pod and Service",
            [(f"{key}.router.service.port", range(router.service.port, router.service.port + 1)),
             (f"{key}.router.metricsPort", range(router.metrics_port, router.metrics_port + 1))],
        )  # fmt: skip
    return problems


def check_role_replicas(stack: StackConfig) -> list[Problem]:
    """A P/D stack with no pods in one role serves nothing."""
    problems = []
    for name, pd_stack in stack.pd_stacks.items():
        for role in PD_ROLES:
            pool: PoolConfig = getattr(pd_stack, role)
            scaling = pool.autoscaling
            if scaling.mode == "none" and pool.replicas < 1:
                problems.append(
                    Problem(
                        f"pdStacks.{name}.{role}.replicas",
                        pool.replicas,
                        f"leaves the {role} role without pods, so the stack serves nothing",
                        "use 1 or more",
                    )
                )
            elif scaling.mode != "none" and scaling.min_replicas < 1:
                problems.append(
                    Problem(
                        f"pdStacks.{name}.{role}.autoscaling.minReplicas",
                        scaling.min_replicas,
                        f"lets the {role} role scale to zero pods, and the router then fails every request",
                        "use 1 or more",
                    )
                )
    return problems
