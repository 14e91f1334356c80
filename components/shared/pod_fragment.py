"""A piece of a pod: volumes, the container's mounts of them and environment
variables, added to a pod together. Security (scratch on a read-only root), secrets (a
Secret as a file) and storage (the model cache) each give one."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class PodFragment:
    """Volumes, the container's mounts of them and environment variables, added to a
    pod together (writable scratch on a read-only root, a Secret as a file)."""

    volumes: list[k8s.core.v1.VolumeArgs] = field(default_factory=list)
    mounts: list[k8s.core.v1.VolumeMountArgs] = field(default_factory=list)
    env: list[k8s.core.v1.EnvVarArgs] = field(default_factory=list)

    def __add__(self, other: PodFragment) -> PodFragment:
        return PodFragment(self.volumes + other.volumes, self.mounts + other.mounts, self.env + other.env)
