"""Objects every workload gets the same way: its Service, its PodDisruptionBudget and,
for workloads that talk to the API server, a ServiceAccount bound to a namespaced Role."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from config.serving.sections import DisruptionBudgetConfig, ServiceConfig


def in_cluster_url(service: str, namespace: str, port: int) -> str:
    """How pods in the cluster reach a Service."""
    return f"http://{service}.{namespace}.svc.cluster.local:{port}"


def service_url(service: k8s.core.v1.Service, port: int) -> pulumi.Output[str]:
    """`in_cluster_url` of a Service this program creates."""
    return pulumi.Output.all(service.metadata.name, service.metadata.namespace).apply(
        lambda names: in_cluster_url(names[0], names[1], port)
    )


def service_readiness(config: ServiceConfig, workload_awaited: bool = True) -> dict[str, str]:
    """Annotations telling the provider what `pulumi up` waits for on a Service.

    The provider's built-in Service awaiter (pulumi-kubernetes provider/pkg/await/
    service.go at the pinned commit) restarts a 10 s "settle" timer on every change to
    the Service's Endpoints and succeeds on the first timer that finds no not-ready
    address: it adds ~10 s after the pods are Ready, and it does not even require a
    ready endpoint (a selector matching no pod passes after 10 s). What it checks of
    our pods, every replica Ready, the Deployment's awaiter already waits for; that the
    selector matches the pods is fixed by construction (one `selector_labels` for both)
    and asserted by the tests. So a ClusterIP or NodePort Service is not awaited. A
    LoadBalancer's address is a check users rely on: it is awaited directly on the
    Service's status (`pulumi.com/waitFor`), without the settle timer.

    `workload_awaited=False` (the pods belong to an object the provider does not
    await, a LeaderWorkerSet): the Service awaiter is then the only wait on the pods
    and stays.
    """
    if not workload_awaited:
        return {}
    if config.type == "LoadBalancer":
        return {"pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress[0]}"}
    return {"pulumi.com/skipAwait": "true"}


# Traefik's sticky-session annotations on a Service (Kubernetes Ingress provider,
# Traefik v3 docs reference/routing-configuration/kubernetes/ingress.md).
TRAEFIK_STICKY = "traefik.ingress.kubernetes.io/service.sticky.cookie"


def ingress_affinity(config: ServiceConfig, cookie: str) -> dict[str, str]:
    """ClientIP affinity as an ingress controller can keep it.

    kube-proxy applies `sessionAffinity: ClientIP` only to connections through the
    ClusterIP; Traefik (k3s's ingress controller) sends to the endpoints directly, so
    behind the Ingress every request of a client would land on any pod and lose vLLM's
    prefix cache. Traefik keeps a client on one pod by a cookie instead (its only
    affinity on a plain Ingress; client-IP hashing, `hrw`, needs an IngressRoute and
    the real client address). The cookie names a backend, nothing secret: not `Secure`,
    so it also works on a plain-HTTP entrypoint; HttpOnly; as long-lived as the
    ClientIP timeout. Clients that keep cookies (an OpenAI SDK client object reused)
    stay on their pod; others are spread as before.
    """
    if config.session_affinity != "ClientIP":
        return {}
    return {
        TRAEFIK_STICKY: "true",
        f"{TRAEFIK_STICKY}.name": cookie,
        f"{TRAEFIK_STICKY}.httponly": "true",
        f"{TRAEFIK_STICKY}.samesite": "lax",
        f"{TRAEFIK_STICKY}.maxage": str(config.session_affinity_timeout_seconds),
    }


def service_spec(
    config: ServiceConfig, selector: dict[str, str], ports: list[k8s.core.v1.ServicePortArgs]
) -> k8s.core.v1.ServiceSpecArgs:
    """A Service for a workload's pods: type and session affinity from config."""
    client_ip = config.session_affinity == "ClientIP"
    return k8s.core.v1.ServiceSpecArgs(
        type=config.type,
        selector=selector,
        ports=ports,
        session_affinity=config.session_affinity,
        session_affinity_config=(
            k8s.core.v1.SessionAffinityConfigArgs(
                client_ip=k8s.core.v1.ClientIPConfigArgs(
                    timeout_seconds=config.session_affinity_timeout_seconds
                )
            )
            if client_ip
            else None
        ),
    )


def disruption_budget(
    resource_name: str,
    metadata: k8s.meta.v1.ObjectMetaArgs,
    config: DisruptionBudgetConfig,
    selector: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.policy.v1.PodDisruptionBudget | None:
    """A PDB whose selector is the workload's own (a PDB without one protects nothing)."""
    if not config.enabled:
        return None
    return k8s.policy.v1.PodDisruptionBudget(
        resource_name,
        metadata=metadata,
        spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
            max_unavailable=config.max_unavailable,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
        ),
        opts=opts,
    )


def service_account_with_role(
    resource_name: str,
    metadata: k8s.meta.v1.ObjectMetaArgs,
    namespace: pulumi.Input[str],
    rules: list[k8s.rbac.v1.PolicyRuleArgs],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.ServiceAccount:
    """A ServiceAccount, a Role with exactly `rules` in its namespace, and the binding;
    all three named by `metadata`."""
    account = k8s.core.v1.ServiceAccount(f"{resource_name}-sa", metadata=metadata, opts=opts)
    role = k8s.rbac.v1.Role(f"{resource_name}-role", metadata=metadata, rules=rules, opts=opts)
    k8s.rbac.v1.RoleBinding(
        f"{resource_name}-rolebinding",
        metadata=metadata,
        role_ref=k8s.rbac.v1.RoleRefArgs(
            api_group="rbac.authorization.k8s.io", kind="Role", name=role.metadata.name
        ),
        subjects=[
            k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=account.metadata.name, namespace=namespace)
        ],
        opts=opts,
    )
    return account
