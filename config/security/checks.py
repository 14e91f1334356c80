"""Cross-key checks of pod security and secrets, and the warnings a weakened default earns.

Pure: no Pulumi imports.
"""

from __future__ import annotations

from config.errors import Problem
from config.stack import StackConfig


def pod_security_problems(stack: StackConfig) -> list[Problem]:
    """A non-root UID must be able to reach the cache: /root is 0700 in the vLLM image."""
    mount_path = stack.model_cache.mount_path
    if stack.pod_security.runs_as_root(stack.model_cache.mode) or not (
        mount_path == "/root" or mount_path.startswith("/root/")
    ):
        return []
    return [
        Problem(
            "modelCache.mountPath",
            mount_path,
            f"is under /root, which the vLLM image keeps at mode 0700: pods running as UID "
            f"{stack.pod_security.run_as_user} cannot reach it",
            "use a path outside /root such as /var/cache/huggingface (the default), or set "
            "llm-serving:podSecurity.runAsRoot: true",
        )
    ]


def security_warnings(stack: StackConfig) -> list[str]:
    """Say so when pods run as root because the storage needs it (never silently)."""
    security = stack.pod_security
    if security.run_as_root is None and security.runs_as_root(stack.model_cache.mode):
        return [
            "pods run as root: the hostPath model cache is a node directory kubelet creates "
            "owned by root (fsGroup does not apply to hostPath). To run as UID "
            f"{security.run_as_user}: on the node, `install -d -o {security.run_as_user} "
            f"-g {security.fs_group} {stack.model_cache.host_path.path}`, then set "
            "llm-serving:podSecurity.runAsRoot: false"
        ]
    return []


def secret_problems(stack: StackConfig, has_hf_token: bool) -> list[Problem]:
    if has_hf_token or stack.hugging_face.existing_secret:
        return []
    catalog = stack.model_catalog
    gated = sorted(
        {
            pool.model
            for pool in stack.serving_pools().values()
            if pool.model in catalog and catalog[pool.model].gated
        }
    )
    if not gated:
        return []
    return [
        Problem(
            key="hfToken",
            value=None,
            reason=f"not set, and {', '.join(gated)} is gated on Hugging Face",
            fix="run `pulumi config set --secret hfToken <token>` (or set "
            "llm-serving:huggingFace.existingSecret to a Secret holding it)",
        )
    ]
