"""PDRouterStack: prefill and decode pools of one model behind vllm-router (seed 001).

Prefill pods compute the prompt's KV cache and hand it to a decode pod over NIXL;
vllm-router picks the pair (consistent hashing by default) and streams the decode
pod's answer back. Built from two VllmPools, so everything a pool guarantees (GPU
placement, probes, PDB, cache, secrets) holds for each role; this component adds the
KV-transfer wiring and the router with its Service, PDB and, for pod discovery, RBAC.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.placement import GpuScheduling
from components.security import API_SERVER, CLIENTS, PROMETHEUS, PodSecurity, ServedPort, Workload
from components.serving.vllm_pool import PORT_NAME, VllmPool, VllmPoolSpec, drain_before_stop
from components.shared import (
    PodSecrets,
    ScrapeTarget,
    disruption_budget,
    in_cluster_url,
    ingress_affinity,
    selector_labels,
    service_account_with_role,
    service_readiness,
    service_spec,
    service_url,
    workload_labels,
)
from components.storage import CacheMount
from config import names
from config.names import PD_ROLES, role_pool_name
from config.serving.router_args import RoleEndpoint, render_router_args
from config.serving.sections import KvTransferConfig, PDStackConfig
from config.serving.vllm_args import render_kv_transfer_args, render_vllm_args

ROUTER_CONTAINER = "router"
METRICS_PORT_NAME = "metrics"
NIXL_PORT_NAME = "nixl"
UCX_PORT_NAME = "ucx"
ROUTER_MAX_SURGE = 1
# Inside the default 30 s grace period: what a replaced router pod keeps serving while
# Services and ingress drop it (see VllmPool's rollout.drainSeconds).
ROUTER_DRAIN_SECONDS = 5


@dataclass(frozen=True)
class PDRouterStackSpec:
    """A validated P/D stack and what it resolves to in this deployment."""

    name: str
    namespace: pulumi.Input[str]
    config: PDStackConfig
    images: dict[str, str]  # role -> vLLM image
    router_image: str
    revisions: dict[str, str | None]  # role -> the model's pinned commit
    image_pull_policy: str
    max_model_len: dict[str, int]  # role -> resolved max model length
    weights_gib: dict[str, float]  # role -> the checkpoint as loaded (startup budget)


def nixl_env(transfer: KvTransferConfig) -> list[k8s.core.v1.EnvVarArgs]:
    """NIXL's side channel listens on the pod IP (its default, localhost, is unreachable
    from the peer pod); UCX, which carries the KV data, listens only in the stack's port
    range (by default the OS picks any port, which no NetworkPolicy could admit)."""
    return [
        k8s.core.v1.EnvVarArgs(
            name=names.NIXL_SIDE_CHANNEL_HOST_ENV,
            value_from=k8s.core.v1.EnvVarSourceArgs(
                field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="status.podIP")
            ),
        ),
        k8s.core.v1.EnvVarArgs(name=names.NIXL_SIDE_CHANNEL_PORT_ENV, value=str(transfer.side_channel_port)),
        k8s.core.v1.EnvVarArgs(name=names.UCX_TCP_PORT_RANGE_ENV, value=transfer.ucx_port_range),
    ]


class PDRouterStack(pulumi.ComponentResource):
    """Clients use `router_url`; it serves the OpenAI API for the stack's model."""

    router_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        spec: PDRouterStackSpec,
        scheduling: dict[str, GpuScheduling],
        caches: dict[str, CacheMount],
        secrets: PodSecrets,
        security: PodSecurity,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-serving:inference:PDRouterStack", name, None, opts)
        self.spec = spec
        self.secrets = secrets
        self.security = security
        child = pulumi.ResourceOptions(parent=self)
        config = spec.config

        self.pools: dict[str, VllmPool] = {}
        for role in PD_ROLES:
            pool = config.role(role)
            pool_name = role_pool_name(spec.name, role)
            self.pools[role] = VllmPool(
                pool_name,
                VllmPoolSpec(
                    name=pool_name,
                    namespace=spec.namespace,
                    pool=pool,
                    image=spec.images[role],
                    image_pull_policy=spec.image_pull_policy,
                    vllm_args=render_vllm_args(
                        pool,
                        spec.max_model_len[role],
                        caches[role].model_path,
                        spec.revisions[role],
                        caches[role].adapter_paths,
                    )
                    + render_kv_transfer_args(config.kv_transfer),
                    component=role,
                    weights_gib=spec.weights_gib[role],
                    extra_env=nixl_env(config.kv_transfer),
                    extra_ports=[
                        k8s.core.v1.ContainerPortArgs(
                            name=NIXL_PORT_NAME, container_port=config.kv_transfer.side_channel_port
                        )
                    ],
                ),
                scheduling=scheduling[role],
                cache=caches[role],
                secrets=secrets,
                security=security,
                opts=child,
            )

        self.router_name = router_name = names.router_name(spec.name)
        self.router_selector = selector_labels(router_name, "router", name="vllm-router")
        router_labels = workload_labels(router_name, "router", name="vllm-router")
        service_account = (
            self._rbac(router_name, router_labels, child) if config.router.discovery == "pods" else None
        )
        self._router_deployment(router_name, router_labels, service_account, secrets, child)
        service = self._router_service(router_name, router_labels, child)

        self.router_url = service_url(service, config.router.service.port)
        self.register_outputs({"routerUrl": self.router_url})

    def traffic(self, router_callers: frozenset[str] = frozenset()) -> list[Workload]:
        """Clients (and `router_callers`, e.g. a gateway's proxy) call the router; the
        router calls both roles; each role reaches the other's NIXL side channel (the
        handshake goes decode -> prefill in vLLM's NixlConnector, and both roles run
        kv_both) and its UCX port range (which side dials depends on the addresses);
        Prometheus scrapes all three."""
        config = self.spec.config
        side_channel = config.kv_transfer.side_channel_port
        first, last = config.kv_transfer.ucx_ports
        roles = {}
        for role, pool in self.pools.items():
            (other,) = [p.spec.name for r, p in self.pools.items() if r != role]
            peers = frozenset({other})
            nixl = ServedPort(NIXL_PORT_NAME, side_channel, peers)
            ucx = ServedPort(UCX_PORT_NAME, first, peers, end_port=last)
            roles[role] = pool.traffic(frozenset({self.router_name}), (nixl, ucx))
        router = Workload(
            self.router_name,
            self.router_selector,
            (
                ServedPort(PORT_NAME, config.router.service.port, frozenset({CLIENTS}) | router_callers),
                ServedPort(METRICS_PORT_NAME, config.router.metrics_port, frozenset({PROMETHEUS})),
            ),
            frozenset({API_SERVER}) if config.router.discovery == "pods" else frozenset(),
        )
        return [*roles.values(), router]

    def scrape_targets(self) -> list[ScrapeTarget]:
        """Both roles (vLLM metrics on their API port) and the router (its metrics port)."""
        name = self.spec.name
        targets = [
            pool.scrape_target(f"{pool.spec.name} ({role} role of {name})")
            for role, pool in self.pools.items()
        ]
        targets.append(
            ScrapeTarget(
                self.router_name,
                "router",
                f"{self.router_name} (router of {name})",
                self.router_selector,
                METRICS_PORT_NAME,
            )
        )
        return targets

    def _metadata(
        self, name: str, labels: dict[str, str], annotations: dict[str, str] | None = None
    ) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(
            name=name, namespace=self.spec.namespace, labels=labels, annotations=annotations
        )

    def _router_args(self) -> pulumi.Output[list[str]]:
        config = self.spec.config

        def render(namespace: str) -> list[str]:
            endpoints = {}
            for role, pool in self.pools.items():
                port = pool.spec.pool.service.port
                endpoints[role] = RoleEndpoint(
                    selector=pool.selector,
                    service_url=in_cluster_url(pool.spec.name, namespace, port),
                    port=port,
                )
            return render_router_args(
                config, namespace, endpoints["prefill"], endpoints["decode"], self.secrets.api_key is not None
            )

        return pulumi.Output.from_input(self.spec.namespace).apply(render)

    def _key_validation_env(self) -> k8s.core.v1.EnvVarArgs:
        """The router asks the prefill role's Service for /v1/models with each new
        client token (and caches the answer): vLLM answers 200 only to the stack's key,
        so a request without it gets the router's 401. The router already reaches that
        port (NetworkPolicy); read by the router's binary (src/main.rs), which the
        upstream image runs, as its --api-key-validation-urls fallback."""
        prefill = self.pools["prefill"]
        port = prefill.spec.pool.service.port
        url = pulumi.Output.from_input(self.spec.namespace).apply(
            lambda namespace: in_cluster_url(prefill.spec.name, namespace, port) + "/v1/models"
        )
        return k8s.core.v1.EnvVarArgs(name=names.ROUTER_KEY_VALIDATION_ENV, value=url)

    def _rbac(
        self, router_name: str, labels: dict[str, str], child: pulumi.ResourceOptions
    ) -> k8s.core.v1.ServiceAccount:
        """Pod discovery needs exactly get/list/watch on pods in this namespace."""
        return service_account_with_role(
            router_name,
            self._metadata(router_name, labels),
            self.spec.namespace,
            [k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["pods"], verbs=["get", "list", "watch"])],
            child,
        )

    def _router_deployment(
        self,
        router_name: str,
        labels: dict[str, str],
        service_account: k8s.core.v1.ServiceAccount | None,
        secrets: PodSecrets,
        child: pulumi.ResourceOptions,
    ) -> k8s.apps.v1.Deployment:
        router = self.spec.config.router
        # The router mounts no cache: non-root whatever the storage.
        security = self.security.without_cache()
        scratch = security.tmp_scratch()
        # The stack's key twice from its Secret: VLLM_API_KEY for --api-key $(VLLM_API_KEY),
        # and OPENAI_API_KEY, which the P/D router presents to the workers.
        key_env = [names.API_KEY_ENV, names.ROUTER_WORKER_KEY_ENV] if secrets.api_key else []
        env = [*scratch.env, *(secrets.api_key.env(name) for name in key_env)]
        if secrets.api_key and router.client_keys == "validate":
            env.append(self._key_validation_env())

        def probe(path: str, period: int) -> k8s.core.v1.ProbeArgs:
            return k8s.core.v1.ProbeArgs(
                http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port=PORT_NAME),
                period_seconds=period,
                timeout_seconds=3,
                failure_threshold=3,
            )

        roles_deadline = max(pool.rollout_deadline_seconds for pool in self.pools.values())
        deployment = k8s.apps.v1.Deployment(
            f"{router_name}-deployment",
            metadata=self._metadata(router_name, labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=router.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self.router_selector),
                # One extra pod during a rollout, never fewer ready: the quota counts it.
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                        max_surge=ROUTER_MAX_SURGE, max_unavailable=0
                    ),
                ),
                # The router is Ready only once a prefill and a decode pod are: it may
                # take as long as the slower role's model load.
                progress_deadline_seconds=roles_deadline,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=service_account.metadata.name if service_account else None,
                        # Only pod discovery talks to the API server.
                        automount_service_account_token=service_account is not None,
                        security_context=security.pod_context,
                        volumes=scratch.volumes,
                        containers=[
                            k8s.core.v1.ContainerArgs(
                                name=ROUTER_CONTAINER,
                                image=self.spec.router_image,
                                image_pull_policy=self.spec.image_pull_policy,
                                command=["vllm-router"],
                                args=self._router_args(),
                                env=env,
                                ports=[
                                    k8s.core.v1.ContainerPortArgs(
                                        name=PORT_NAME, container_port=router.service.port
                                    ),
                                    k8s.core.v1.ContainerPortArgs(
                                        name=METRICS_PORT_NAME, container_port=router.metrics_port
                                    ),
                                ],
                                resources=k8s.core.v1.ResourceRequirementsArgs(
                                    requests={"cpu": router.resources.cpu, "memory": router.resources.memory},
                                    limits={
                                        "cpu": router.resources.effective_cpu_limit,
                                        "memory": router.resources.memory,
                                    },
                                ),
                                security_context=security.container_context,
                                volume_mounts=scratch.mounts,
                                liveness_probe=probe("/liveness", 10),
                                readiness_probe=probe("/readiness", 5),
                                lifecycle=drain_before_stop(ROUTER_DRAIN_SECONDS),
                            )
                        ],
                    ),
                ),
            ),
            # Created (and updated) after both roles are Ready, so `pulumi up` waits on
            # the roles' budgets and never times out on the router alone.
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    depends_on=[pool.workload for pool in self.pools.values()],
                    custom_timeouts=pulumi.CustomTimeouts(
                        create=f"{roles_deadline}s", update=f"{roles_deadline}s"
                    ),
                ),
            ),
        )
        disruption_budget(
            f"{router_name}-pdb",
            self._metadata(router_name, labels),
            router.disruption_budget,
            self.router_selector,
            child,
        )
        return deployment

    def _router_service(
        self, router_name: str, labels: dict[str, str], child: pulumi.ResourceOptions
    ) -> k8s.core.v1.Service:
        router = self.spec.config.router
        return k8s.core.v1.Service(
            f"{router_name}-service",
            metadata=self._metadata(
                router_name,
                labels,
                {
                    **service_readiness(router.service),
                    **ingress_affinity(router.service, f"llm-serving-{router_name}"),
                },
            ),
            spec=service_spec(
                router.service,
                self.router_selector,
                [
                    k8s.core.v1.ServicePortArgs(
                        name=PORT_NAME, port=router.service.port, target_port=PORT_NAME, protocol="TCP"
                    ),
                    k8s.core.v1.ServicePortArgs(
                        name=METRICS_PORT_NAME,
                        port=router.metrics_port,
                        target_port=METRICS_PORT_NAME,
                        protocol="TCP",
                    ),
                ],
            ),
            opts=child,
        )
