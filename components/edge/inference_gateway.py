"""InferenceGateway: pools behind a Gateway API gateway with cache-aware endpoint
picking (seed 003, the llm-d / Gateway API Inference Extension way).

    client -> Gateway -> HTTPRoute (by path prefix, or by X-Gateway-Model-Name)
           -> InferencePool (the pool's serving pods and port)
           -> endpoint picker (EPP, ext-proc gRPC): picks the pod by queue depth,
              KV-cache use and prefix-cache hits -> that pod

Per routed pool: an InferencePool, an InferenceObjective (the model's priority), and
an endpoint picker (Deployment, ServiceAccount, a namespaced Role with read access to
pods, InferencePools and InferenceObjectives only, Service with the ext-proc and
metrics ports, PDB, plugin ConfigMap). A routed P/D stack goes to its vllm-router's
Service: the pinned EPP release does not disaggregate prefill and decode. One
Gateway (optional) and one HTTPRoute per route. The gateway implementation is an
optional pinned Helm release (its CRDs chart, then its controller).

Sources: GAIE v1.5.0 charts config/charts/epplib and config/charts/inferencepool
(ports 9002/9003/9090, probes, RBAC, Recreate strategy, default plugins).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.addons import helm_addon, merge_values
from components.security import ANYONE, API_SERVER, PROMETHEUS, PodSecurity, ServedPort, Workload
from components.shared import (
    ScrapeTarget,
    disruption_budget,
    selector_labels,
    service_account_with_role,
    workload_labels,
)
from config.edge.checks import route_path_prefix
from config.edge.epp_args import (
    CONFIG_DIR,
    CONFIG_FILE,
    EXT_PROC_PORT,
    HEALTH_PORT,
    METRICS_PORT,
    POOL_GROUP,
    render_epp_args,
    render_plugins_config,
)
from config.edge.sections import InferenceGatewayConfig, InferenceRouteConfig
from config.names import epp_name
from config.release import ReleaseConfig

GATEWAY_GROUP = "gateway.networking.k8s.io"
OBJECTIVE_API_VERSION = "inference.networking.x-k8s.io/v1alpha2"
# Set by the client, or by upstream's body-based router from the request body
# (GAIE v1.5.0 pkg/bbr/plugins/bodyfieldtoheader: ModelHeader).
MODEL_HEADER = "X-Gateway-Model-Name"
EPP_CONTAINER = "epp"
METRICS_PORT_NAME = "metrics"
# Gateway API implementations label the proxy pods they run for a Gateway so
# (agentgateway, kgateway, Istio), in the Gateway's namespace.
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"


@dataclass(frozen=True)
class RouteTarget:
    """What a route sends requests to.

    kind "pool": a VllmPool, reached through an InferencePool over its serving pods;
    kind "router": a P/D stack's vllm-router Service."""

    name: str
    kind: str
    served_model_name: str
    port: int
    selector: dict[str, str]
    service_name: pulumi.Input[str]
    # LoRA adapters served beside the model, each routed by its name like the model.
    adapters: tuple[str, ...] = ()


class InferenceGateway(pulumi.ComponentResource):
    """Routes, pools and pickers; `url` is the Gateway's in-cluster address."""

    def __init__(
        self,
        name: str,
        spec: InferenceGatewayConfig,
        namespace: pulumi.Input[str],
        targets: dict[str, RouteTarget],
        release: ReleaseConfig,
        security: PodSecurity,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-serving:gateway:InferenceGateway", name, None, opts)
        self.spec = spec
        self._release = release
        self.namespace = namespace
        # The pickers mount no cache: non-root whatever the storage.
        self.security = security.without_cache()
        self.targets = targets
        self.pickers: list[str] = []
        child = pulumi.ResourceOptions(parent=self)
        # The implementation's release brings the Gateway API and inference CRDs.
        installed = self._implementation(name, child)
        after_install = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=installed))

        if spec.gateway.create:
            self._gateway(after_install)
        for route_name, route in spec.routes.items():
            target = targets[route_name]
            if target.kind == "pool":
                self._endpoint_picker(target, child)
                self._inference_pool(target, after_install)
                self._objective(target, route, after_install)
            self._route(route_name, route, target, after_install)

        self.gateway_name = spec.gateway.name
        self.register_outputs({"gateway": spec.gateway.name, "routes": sorted(spec.routes)})

    def scrape_targets(self) -> list[ScrapeTarget]:
        """Each endpoint picker's metrics port."""
        return [
            ScrapeTarget(
                epp_name(pool),
                "epp",
                f"{epp_name(pool)} (endpoint picker of {pool})",
                self._epp_selector(pool),
                METRICS_PORT_NAME,
            )
            for pool in self.pickers
        ]

    @property
    def proxy_name(self) -> str:
        """The workload name of the Gateway's proxy pods (run by the implementation)."""
        return f"{self.spec.gateway.name}-proxy"

    def callers_of(self) -> dict[str, frozenset[str]]:
        """Per routed pool or P/D stack: who reaches its serving port through the gateway
        (the proxy; for a pool also its picker, which scrapes the pods' metrics)."""
        return {
            route: frozenset({self.proxy_name} | ({epp_name(route)} if route in self.pickers else set()))
            for route in self.spec.routes
        }

    def traffic(self) -> list[Workload]:
        """The pickers (ext-proc from the proxy, metrics to Prometheus, the API server
        out) and the Gateway's proxy pods: the edge, open to any source on any port it
        listens on (the implementation chooses), reaching its control plane's namespace."""
        workloads = [
            Workload(
                epp_name(pool),
                self._epp_selector(pool),
                (
                    ServedPort("grpc", EXT_PROC_PORT, frozenset({self.proxy_name})),
                    ServedPort(METRICS_PORT_NAME, METRICS_PORT, frozenset({PROMETHEUS})),
                ),
                frozenset({API_SERVER}),
            )
            for pool in self.pickers
        ]
        # The proxies take their configuration over xDS from the implementation's
        # controller, whether this stack installs it or it was there before.
        control_plane = (self.spec.implementation.namespace,)
        workloads.append(
            Workload(
                self.proxy_name,
                {GATEWAY_NAME_LABEL: self.spec.gateway.name},
                (ServedPort("listener", None, frozenset({ANYONE})),),
                egress_namespaces=control_plane,
            )
        )
        return workloads

    def routes(self) -> dict[str, str]:
        """Route name -> path prefix, for the outputs."""
        return {name: route_path_prefix(name, route.path_prefix) for name, route in self.spec.routes.items()}

    def _metadata(self, name: str, labels: dict[str, str] | None = None) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=self.namespace, labels=labels)

    @staticmethod
    def _epp_selector(pool: str) -> dict[str, str]:
        return selector_labels(epp_name(pool), "endpoint-picker", name="endpoint-picker")

    def _implementation(self, name: str, child: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """Its CRDs chart first (it also creates the namespace), then the controller."""
        chart = self.spec.implementation
        if not chart.install:
            return []
        version = self._release.chart_versions.gateway_implementation
        releases: list[pulumi.Resource] = []
        if chart.crds_chart:
            releases.append(
                helm_addon(
                    f"{name}-{chart.crds_chart}",
                    chart.crds_chart,
                    chart.crds_chart,
                    chart,
                    version,
                    {},
                    child,
                )
            )
        releases.append(
            helm_addon(
                f"{name}-{chart.chart}",
                chart.chart,
                chart.chart,
                chart,
                version,
                # It must route to InferencePools (upstream's install flag).
                merge_values({"inferenceExtension": {"enabled": True}}, chart.values),
                pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=list(releases))),
                create_namespace=not releases,
            )
        )
        return releases

    def _gateway(self, opts: pulumi.ResourceOptions) -> None:
        gateway = self.spec.gateway
        listener = {
            "name": "http",
            "port": gateway.port,
            "protocol": "HTTP",
            "allowedRoutes": {"namespaces": {"from": "Same"}},
        }
        if gateway.hostname:
            listener["hostname"] = gateway.hostname
        k8s.apiextensions.CustomResource(
            f"{gateway.name}-gateway",
            api_version=f"{GATEWAY_GROUP}/v1",
            kind="Gateway",
            metadata=self._metadata(gateway.name, workload_labels(gateway.name, "gateway", name="gateway")),
            spec={"gatewayClassName": gateway.class_name, "listeners": [listener]},
            opts=opts,
        )

    def _inference_pool(self, target: RouteTarget, opts: pulumi.ResourceOptions) -> None:
        picker = self.spec.endpoint_picker
        k8s.apiextensions.CustomResource(
            f"{target.name}-inferencepool",
            api_version=f"{POOL_GROUP}/v1",
            kind="InferencePool",
            metadata=self._metadata(target.name, workload_labels(target.name, "inference-pool", name="vllm")),
            spec={
                # The pool's serving pods (a multi-node pool's leaders) on vLLM's port.
                "selector": {"matchLabels": target.selector},
                "targetPorts": [{"number": target.port}],
                "appProtocol": "http",
                "endpointPickerRef": {
                    "name": epp_name(target.name),
                    "port": {"number": EXT_PROC_PORT},
                    "failureMode": picker.failure_mode,
                },
            },
            opts=opts,
        )

    def _objective(
        self, target: RouteTarget, route: InferenceRouteConfig, opts: pulumi.ResourceOptions
    ) -> None:
        k8s.apiextensions.CustomResource(
            f"{target.name}-inferenceobjective",
            api_version=OBJECTIVE_API_VERSION,
            kind="InferenceObjective",
            metadata=self._metadata(target.name),
            spec={
                "priority": route.priority,
                "poolRef": {"group": POOL_GROUP, "kind": "InferencePool", "name": target.name},
            },
            opts=opts,
        )

    def _route(
        self, name: str, route: InferenceRouteConfig, target: RouteTarget, opts: pulumi.ResourceOptions
    ) -> None:
        if target.kind == "pool":
            backend = {"group": POOL_GROUP, "kind": "InferencePool", "name": target.name}
        else:
            backend = {"kind": "Service", "name": target.service_name, "port": target.port}
        timeouts = {"request": f"{route.request_timeout_seconds}s"}
        rules = [
            {
                "matches": [
                    {"path": {"type": "PathPrefix", "value": route_path_prefix(name, route.path_prefix)}}
                ],
                # "/<prefix>/v1/chat/completions" reaches vLLM as "/v1/chat/completions".
                "filters": [
                    {
                        "type": "URLRewrite",
                        "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
                    }
                ],
                "backendRefs": [backend],
                "timeouts": timeouts,
            }
        ]
        if route.match_model_header:
            rules.append(
                {
                    # One match per served name (matches of a rule are alternatives).
                    "matches": [
                        {
                            "path": {"type": "PathPrefix", "value": "/"},
                            "headers": [{"type": "Exact", "name": MODEL_HEADER, "value": served}],
                        }
                        for served in (target.served_model_name, *target.adapters)
                    ],
                    "backendRefs": [backend],
                    "timeouts": timeouts,
                }
            )
        k8s.apiextensions.CustomResource(
            f"{name}-httproute",
            api_version=f"{GATEWAY_GROUP}/v1",
            kind="HTTPRoute",
            metadata=self._metadata(name, workload_labels(name, "route", name="inference-route")),
            spec={
                "parentRefs": [{"group": GATEWAY_GROUP, "kind": "Gateway", "name": self.spec.gateway.name}],
                "rules": rules,
            },
            opts=opts,
        )

    def _endpoint_picker(self, target: RouteTarget, child: pulumi.ResourceOptions) -> None:
        """One picker per pool: it watches the pool's pods and scrapes their metrics."""
        pool = target.name
        name = epp_name(pool)
        picker = self.spec.endpoint_picker
        labels = workload_labels(name, "endpoint-picker", name="endpoint-picker")
        selector = self._epp_selector(pool)
        self.pickers.append(pool)

        # Read-only and namespaced: what the picker watches (GAIE v1.5.0 chart RBAC,
        # without the cluster-wide metrics-auth rights we turn off).
        rules = [
            k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["pods"], verbs=["get", "list", "watch"]),
            k8s.rbac.v1.PolicyRuleArgs(
                api_groups=[POOL_GROUP], resources=["inferencepools"], verbs=["get", "list", "watch"]
            ),
            k8s.rbac.v1.PolicyRuleArgs(
                api_groups=["inference.networking.x-k8s.io"],
                resources=["inferenceobjectives", "inferencemodelrewrites"],
                verbs=["get", "list", "watch"],
            ),
        ]
        if picker.replicas > 1:
            # Leader election between replicas.
            rules.append(
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=["coordination.k8s.io"],
                    resources=["leases"],
                    verbs=["get", "list", "watch", "create", "update", "patch"],
                )
            )
            rules.append(
                k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["events"], verbs=["create", "patch"])
            )
        account = service_account_with_role(name, self._metadata(name, labels), self.namespace, rules, child)
        plugins = render_plugins_config(picker, serves_adapters=bool(target.adapters))
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config", metadata=self._metadata(name, labels), data={CONFIG_FILE: plugins}, opts=child
        )
        args = pulumi.Output.from_input(self.namespace).apply(lambda ns: render_epp_args(picker, pool, ns))
        # Single replica: the picker's own health service; with leader election the
        # liveness/readiness services (upstream's chart does the same).
        health = ("liveness", "readiness") if picker.replicas > 1 else ("inference-extension",) * 2

        def grpc_probe(service: str, period: int) -> k8s.core.v1.ProbeArgs:
            return k8s.core.v1.ProbeArgs(
                grpc=k8s.core.v1.GRPCActionArgs(port=HEALTH_PORT, service=service),
                period_seconds=period,
                failure_threshold=3,
            )

        field_env = [
            k8s.core.v1.EnvVarArgs(
                name=variable,
                value_from=k8s.core.v1.EnvVarSourceArgs(
                    field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path=path)
                ),
            )
            for variable, path in (("NAMESPACE", "metadata.namespace"), ("POD_NAME", "metadata.name"))
        ]
        requests = {"cpu": picker.resources.cpu, "memory": picker.resources.memory}
        limits = {"cpu": picker.resources.effective_cpu_limit, "memory": picker.resources.memory}
        scratch = self.security.tmp_scratch()
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=self._metadata(name, labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=picker.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                # One active picker at a time: its prefix index lives in memory.
                strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=labels,
                        # A new plugin config rolls the picker.
                        annotations={
                            "llm-serving.io/plugins-sha256": hashlib.sha256(plugins.encode()).hexdigest()
                        },
                    ),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=account.metadata.name,
                        # It watches the API server.
                        automount_service_account_token=True,
                        security_context=self.security.pod_context,
                        termination_grace_period_seconds=130,
                        containers=[
                            k8s.core.v1.ContainerArgs(
                                name=EPP_CONTAINER,
                                image=self._release.images.endpoint_picker,
                                image_pull_policy=picker.image_pull_policy,
                                args=args,
                                env=[*field_env, *scratch.env],
                                security_context=self.security.container_context,
                                ports=[
                                    k8s.core.v1.ContainerPortArgs(name="grpc", container_port=EXT_PROC_PORT),
                                    k8s.core.v1.ContainerPortArgs(
                                        name="grpc-health", container_port=HEALTH_PORT
                                    ),
                                    k8s.core.v1.ContainerPortArgs(
                                        name=METRICS_PORT_NAME, container_port=METRICS_PORT
                                    ),
                                ],
                                resources=k8s.core.v1.ResourceRequirementsArgs(
                                    requests=requests, limits=limits
                                ),
                                liveness_probe=grpc_probe(health[0], 10),
                                readiness_probe=grpc_probe(health[1], 2),
                                volume_mounts=[
                                    k8s.core.v1.VolumeMountArgs(name="plugins", mount_path=CONFIG_DIR),
                                    *scratch.mounts,
                                ],
                            )
                        ],
                        volumes=[
                            k8s.core.v1.VolumeArgs(
                                name="plugins",
                                config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                                    name=config_map.metadata.name
                                ),
                            ),
                            *scratch.volumes,
                        ],
                    ),
                ),
            ),
            opts=child,
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=self._metadata(name, labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[
                    # gRPC over TLS (the picker's --secure-serving default).
                    k8s.core.v1.ServicePortArgs(
                        name="grpc-ext-proc", port=EXT_PROC_PORT, target_port="grpc", protocol="TCP"
                    ),
                    k8s.core.v1.ServicePortArgs(
                        name=METRICS_PORT_NAME,
                        port=METRICS_PORT,
                        target_port=METRICS_PORT_NAME,
                        protocol="TCP",
                    ),
                ],
            ),
            opts=child,
        )
        disruption_budget(
            f"{name}-pdb", self._metadata(name, labels), picker.disruption_budget, selector, child
        )
