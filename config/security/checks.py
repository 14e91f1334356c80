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
    """Say so when pods run as root because the storage needs it, and when the
    NetworkPolicy admits callers that the stack itself never puts in front of its
    endpoints (never silently)."""
    warnings = []
    security = stack.pod_security
    if security.run_as_root is None and security.runs_as_root(stack.model_cache.mode):
        warnings.append(
            "pods run as root: the hostPath model cache is a node directory kubelet creates "
            "owned by root (fsGroup does not apply to hostPath). To run as UID "
            f"{security.run_as_user}: on the node, `install -d -o {security.run_as_user} "
            f"-g {security.fs_group} {stack.model_cache.host_path.path}`, then set "
            "llm-serving:podSecurity.runAsRoot: false"
        )
    if stack.auth.enabled:
        warnings += [
            f"llm-serving:pdStacks.{name}.router.clientKeys: edge: the router serves every request "
            "that reaches it, key or not; only safe behind a gateway or ingress that checks the key "
            "(the default, validate, has the router check each client's key with a prefill worker)"
            for name, pd_stack in stack.pd_stacks.items()
            if pd_stack.router.client_keys == "edge"
        ]
    return warnings + unreachable_endpoint_warnings(stack)


def unreachable_endpoint_warnings(stack: StackConfig) -> list[str]:
    """The default callers are the Traefik pods of k3s's kube-system, the ingress
    controller an Ingress of this stack would use. A stack that renders no Ingress and
    no gateway route leaves its endpoints to whoever `networkPolicy.clients` names: by
    default nobody in a cluster without that Traefik (seed 001's prod, say)."""
    policy = stack.network_policy
    if not policy.enabled or "clients" in policy.model_fields_set:
        return []
    if stack.ingress.enabled or stack.inference_gateway.routes:
        return []
    return [
        "llm-serving:networkPolicy.clients: left at its default, the Traefik pods in kube-system, "
        "but this stack renders no Ingress and no gateway route for them to call through: only "
        "those pods may reach its endpoints. Set llm-serving:networkPolicy.clients to the pods "
        "that call it (e.g. {namespaces: [my-apps]}, or podLabels), or enable llm-serving:ingress"
    ]


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
