"""Pod and container hardening, built once for every workload we create.

Every pod: no privilege escalation, every Linux capability dropped, seccomp
`RuntimeDefault`, no service-account token unless it talks to the API server. By
default also a read-only root filesystem and a fixed non-root UID/GID with `fsGroup`
(config `podSecurity`; docs/security.md "Pods").

What the pinned images need to run that way (researched, not guessed):
- `vllm/vllm-openai:v0.19.1`: built from vllm-project/vllm `docker/Dockerfile` (stage
  `vllm-openai`), which sets no `USER`, so the image runs as root by default, with
  Python packages installed system-wide (readable by any UID) and HOME=/root (not
  readable by others). Everything it writes at run time goes to paths set by
  environment variables: `VLLM_CACHE_ROOT` (default `~/.cache/vllm`; torch.compile's
  cache lives under it), `VLLM_CONFIG_ROOT` (`~/.config/vllm`), vLLM's RPC sockets in
  `tempfile.gettempdir()` (`VLLM_RPC_BASE_PATH`) (all `vllm/envs.py`); Triton's
  `TRITON_CACHE_DIR` (`~/.triton/cache`); TorchInductor's `TORCHINDUCTOR_CACHE_DIR`
  (default `/tmp/torchinductor_<getpass.getuser()>`, which fails for a UID with no
  passwd entry unless `USER` is set); FlashInfer's JIT cache under
  `FLASHINFER_WORKSPACE_BASE` (default HOME) + `.cache/flashinfer`; CUDA's
  `CUDA_CACHE_PATH` (`~/.nv/ComputeCache`); Hugging Face's `HF_HOME` (the model cache
  volume). So a writable HOME and /tmp (emptyDirs) plus those variables are all it
  needs; /dev/shm is its own tmpfs (or our memory emptyDir), not the root filesystem.
- `vllm/vllm-router:v0.1.17`: vllm-project/router `Dockerfile.router`, a
  `python:3.12-slim-bookworm` image with the Rust binary `/usr/local/bin/vllm-router`
  (chmod +x, so any UID may run it), no `USER`, ports 8080/29000 (above 1024, so no
  NET_BIND_SERVICE). It logs to stdout and writes no files; /tmp is given anyway.
- The prefetch Job runs `hf download` from the vLLM image: it writes only under
  `HF_HOME` (the cache volume), HOME and /tmp.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_kubernetes as k8s

from components.shared import PodFragment

# The scratch paths and the variables pointing libraries at them live in config/names.py,
# where validation reads them too (`env` may not override them).
from config.names import CACHE_ENV as _CACHE_ENV
from config.names import HOME, TMP
from config.names import NO_TELEMETRY_ENV as _NO_TELEMETRY_ENV
from config.security.sections import PodSecurityConfig

HOME_VOLUME = "home"
TMP_VOLUME = "tmp"


def _empty_dir(name: str, size: str) -> k8s.core.v1.VolumeArgs:
    return k8s.core.v1.VolumeArgs(name=name, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit=size))


@dataclass(frozen=True)
class PodSecurity:
    """The hardening of every pod of a stack: merge `pod_context` into each PodSpec,
    `container_context` into each container, and a scratch fragment where it writes."""

    config: PodSecurityConfig
    # The storage's verdict (PodSecurityConfig.runs_as_root). Even as root,
    # capabilities stay dropped, escalation off and seccomp on.
    as_root: bool

    @property
    def pod_context(self) -> k8s.core.v1.PodSecurityContextArgs:
        seccomp = k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")
        if self.as_root:
            return k8s.core.v1.PodSecurityContextArgs(run_as_user=0, run_as_group=0, seccomp_profile=seccomp)
        return k8s.core.v1.PodSecurityContextArgs(
            run_as_non_root=True,
            run_as_user=self.config.run_as_user,
            run_as_group=self.config.run_as_group,
            fs_group=self.config.fs_group,
            # Ownership is fixed once, not re-walked over a 500 GiB cache at each start.
            fs_group_change_policy="OnRootMismatch",
            seccomp_profile=seccomp,
        )

    @property
    def container_context(self) -> k8s.core.v1.SecurityContextArgs:
        return k8s.core.v1.SecurityContextArgs(
            allow_privilege_escalation=False,
            privileged=False,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
            read_only_root_filesystem=self.config.read_only_root_filesystem,
            run_as_non_root=None if self.as_root else True,
        )

    def without_cache(self) -> PodSecurity:
        """For pods that mount no model cache (routers, endpoint pickers): storage never
        forces them to root; only `podSecurity.runAsRoot: true` does."""
        return PodSecurity(self.config, as_root=self.config.run_as_root is True)

    def model_server_scratch(self) -> PodFragment:
        """HOME (compile and JIT caches) and /tmp, for vLLM and the prefetch Job."""
        return PodFragment(
            volumes=[
                _empty_dir(HOME_VOLUME, self.config.cache_size),
                _empty_dir(TMP_VOLUME, self.config.tmp_size),
            ],
            mounts=[
                k8s.core.v1.VolumeMountArgs(name=HOME_VOLUME, mount_path=HOME),
                k8s.core.v1.VolumeMountArgs(name=TMP_VOLUME, mount_path=TMP),
            ],
            env=[
                k8s.core.v1.EnvVarArgs(name=name, value=value)
                for name, value in {**_CACHE_ENV, **_NO_TELEMETRY_ENV}.items()
            ],
        )

    def tmp_scratch(self) -> PodFragment:
        """/tmp only, for the Go and Rust programs (router, endpoint picker): they write
        no files, but a program may expect a temp dir."""
        return PodFragment(
            volumes=[_empty_dir(TMP_VOLUME, self.config.tmp_size)],
            mounts=[k8s.core.v1.VolumeMountArgs(name=TMP_VOLUME, mount_path=TMP)],
            env=[k8s.core.v1.EnvVarArgs(name="TMPDIR", value=TMP)],
        )
