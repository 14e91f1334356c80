"""Cross-key checks of the model cache: where it may be mounted, and whether the pods
sharing a ReadWriteOnce claim fit the one node it binds them to.

Pure: no Pulumi imports.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.errors import Problem
from config.stack import StackConfig
from config.storage.sections import is_within

# Directories a volume may not be mounted on, or inside: the container needs them
# (devices, the /dev/shm NCCL uses, kernel interfaces, its own system files).
_CONTAINER_SYSTEM_DIRECTORIES = (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr", "/var/run",
)  # fmt: skip


_CONTAINER_SYSTEM_PARENTS = ("/root", "/home", "/var", "/tmp", "/opt")


def mount_path_problems(stack: StackConfig) -> list[Problem]:
    path = stack.model_cache.mount_path
    if any(is_within(path, d) for d in _CONTAINER_SYSTEM_DIRECTORIES) or path in _CONTAINER_SYSTEM_PARENTS:
        return [
            Problem(
                "modelCache.mountPath",
                path,
                "would cover a directory the container needs (such as /dev/shm, which NCCL uses, "
                "or the image's system files)",
                "mount the cache on a directory of its own, such as /var/cache/huggingface",
            )
        ]
    return []


@dataclass(frozen=True)
class CacheUser:
    """One serving pool as a user of the model cache: its pods at their most, and the
    GPUs of the node they run on (config/serving/parallel_layout.py)."""

    key: str  # where the pool's config lives: pools.<name> or pdStacks.<stack>.<role>
    count_key: str  # what sets its replica count: replicas or autoscaling.maxReplicas
    pods: int  # every replica up to the autoscaler's maximum, times pods per replica
    gpus_per_pod: int
    nodes_per_replica: int
    node_gpus: int
    node_source: str

    @property
    def gpus(self) -> int:
        return self.pods * self.gpus_per_pod

    def describe(self) -> str:
        return f"{self.key} {_count(self.pods, 'pod')} x {_count(self.gpus_per_pod, 'GPU')}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


_SHOWN_USERS = 4
_RWX_FIXES = (
    "set modelCache.pvc.accessMode to ReadWriteMany (a StorageClass that supports it) or use "
    "modelCache.mode longhorn"
)
_PINNED_FIXES = (
    "unset modelCache.hostPath.nodeName (each node then keeps the weights in its own directory) or use "
    "modelCache.mode longhorn (one ReadWriteMany volume)"
)


def _per_pool_claim(user: CacheUser) -> tuple[list[Problem], list[str]]:
    """modelCache.mode pvc, ReadWriteOnce: each pool's pods share a claim of their own."""
    key, value = "modelCache.pvc.accessMode", "ReadWriteOnce"
    if user.nodes_per_replica > 1:
        reason = (
            f"gives {user.key} one ReadWriteOnce claim, which mounts on one node only, but each of its "
            f"replicas spans {user.nodes_per_replica} nodes ({user.describe()})"
        )
        return [Problem(key, value, reason, _RWX_FIXES)], []
    if user.gpus > user.node_gpus:
        reason = (
            f"gives {user.key} one ReadWriteOnce claim, so all its pods must run on one node: "
            f"{_count(user.pods, 'pod')} (its {user.count_key}) x {_count(user.gpus_per_pod, 'GPU')} = "
            f"{user.gpus} GPUs, "
            f"more than a node's {user.node_gpus} ({user.node_source})"
        )
        fewer = f"lower {user.key}.{user.count_key} to {user.node_gpus // user.gpus_per_pod}"
        return [Problem(key, value, reason, f"{_RWX_FIXES}, or {fewer}")], []
    if user.pods > 1:
        return [], [
            f"{user.key}: {user.pods} pods share one ReadWriteOnce model-cache claim; they must all run "
            f"on one node ({user.gpus} of its {user.node_gpus} GPUs; set modelCache.pvc.accessMode to "
            "ReadWriteMany or use modelCache.mode longhorn to spread them)"
        ]
    return [], []


def _pinned_claim(stack: StackConfig, users: list[CacheUser]) -> list[Problem]:
    """modelCache.mode hostPath with nodeName: every pool's pods share one claim on that node."""
    key, value = "modelCache.hostPath.nodeName", stack.model_cache.host_path.node_name
    users = [user for user in users if user.pods > 0]
    spanning = [user for user in users if user.nodes_per_replica > 1]
    if spanning:
        reason = (
            f"pins the one ReadWriteOnce model-cache claim every pool shares to one node, but each replica "
            f"of {spanning[0].key} spans {spanning[0].nodes_per_replica} nodes"
        )
        return [Problem(key, value, reason, _PINNED_FIXES)]
    total = sum(user.gpus for user in users)
    node = min(users, key=lambda user: user.node_gpus, default=None)
    if node is None or total <= node.node_gpus:
        return []
    shown = ", ".join(user.describe() for user in users[:_SHOWN_USERS])
    if len(users) > _SHOWN_USERS:
        shown += f" and {len(users) - _SHOWN_USERS} more pools"
    reason = (
        "pins the one ReadWriteOnce model-cache claim every pool shares, and so every pod, to one node, "
        f"but they need {total} GPUs at once ({shown}), more than the node's {node.node_gpus} "
        f"({node.node_source})"
    )
    fix = f"{_PINNED_FIXES}, or lower the pools' replicas to fit {node.node_gpus} GPUs"
    return [Problem(key, value, reason, fix)]


def read_write_once_problems(stack: StackConfig, users: list[CacheUser]) -> tuple[list[Problem], list[str]]:
    """A ReadWriteOnce claim forces every pod mounting it onto one node: refuse the pods
    that cannot fit it (a multi-node replica never can), warn about those that must
    squeeze. Returns (problems, warnings)."""
    cache = stack.model_cache
    if cache.mode == "hostPath" and cache.host_path.node_name:
        return _pinned_claim(stack, users), []
    if cache.mode != "pvc" or cache.pvc.access_mode != "ReadWriteOnce":
        return [], []
    problems: list[Problem] = []
    warnings: list[str] = []
    for user in users:
        found, noted = _per_pool_claim(user)
        problems += found
        warnings += noted
    return problems, warnings
