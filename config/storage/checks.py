"""Cross-key checks of the model cache: where it may be mounted.

Pure: no Pulumi imports.
"""

from __future__ import annotations

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
