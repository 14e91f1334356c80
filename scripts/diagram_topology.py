"""A stack's topology as nodes and edges: what `make diagram` draws (scripts/diagram.py).

Pure: built from the stack config, its CapacityReport (the numbers `pulumi preview`
prints) and the Kubernetes objects the program registers under Pulumi's mocks. Nodes:

- callers outside the namespace (the `networkPolicy.clients` pods, any source for the
  edge), the entries (Ingress, Gateway, Services of type NodePort or LoadBalancer);
- in the namespace, one node per workload (vLLM pool with its GPU product, GPUs per pod
  and replicas from the CapacityReport; P/D router; endpoint picker; prefetch Job) and
  one per model-cache claim (mode, claim, size, where it lives);
- monitoring (ServiceMonitors, rules, dashboards, and the Prometheus that scrapes);
- destinations outside the cluster network (model hub, object storage, Kubernetes API).

Edges: `traffic`, what the NetworkPolicies allow (scripts/diagram_traffic.py, labelled
with ports); `route`, what an Ingress, HTTPRoute or exposed Service sends to a
workload (labelled with paths); `mount`, a workload's pods mounting a cache claim;
`config`, monitoring objects read by Prometheus.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from config.capacity import CapacityReport, PoolCapacity
from config.names import PD_ROLES, epp_name, prefetch_job_name, role_pool_name, router_name
from config.security.sections import EgressRule, PeerSelector
from config.stack import StackConfig
from diagram_traffic import (
    ANYONE,
    EVERY_POD,
    Addresses,
    AllowedTraffic,
    Outside,
    Peer,
    PodGroup,
    allowed_traffic,
    pod_groups,
    selects,
)

# The Gateway API's label on the proxy pods an implementation runs for a Gateway.
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
# The label the Grafana sidecar finds dashboards by (components/monitoring).
DASHBOARD_LABEL = "grafana_dashboard"
VIA = "via "  # an edge label part naming what a route goes through
EXPOSED_SERVICE_TYPES = ("NodePort", "LoadBalancer")
MONITOR_KINDS = ("ServiceMonitor", "PodMonitor")

# Where a node is drawn, left to right (scripts/diagram_graphviz.py styles each node
# kind and edge kind).
CALLERS = "callers"
EDGE = "edge"
NAMESPACE = "namespace"
MONITORING = "monitoring"
DESTINATIONS = "destinations"


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    cluster: str
    lines: tuple[str, ...]  # the first is the title

    @property
    def title(self) -> str:
        return self.lines[0]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str
    label: str


@dataclass(frozen=True)
class Topology:
    stack: str
    namespace: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    notes: tuple[str, ...] = ()

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def edges_of(self, kind: str) -> list[Edge]:
        return [e for e in self.edges if e.kind == kind]


@dataclass
class _Builder:
    stack_name: str
    stack: StackConfig
    report: CapacityReport
    manifests: list[Mapping]
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add_node(self, node: Node) -> str:
        self.nodes.setdefault(node.id, node)
        return node.id

    def add_edge(self, source: str, target: str, kind: str, label: str) -> None:
        labels = self.edges.setdefault((source, target, kind), [])
        for part in label.split(", "):
            if part and part not in labels:
                labels.append(part)

    def of_kind(self, *kinds: str) -> list[Mapping]:
        return [m for m in self.manifests if m.get("kind") in kinds]

    def named(self, kind: str, name: str) -> Mapping | None:
        return next((m for m in self.of_kind(kind) if m["metadata"]["name"] == name), None)


def build_topology(
    stack_name: str,
    stack: StackConfig,
    report: CapacityReport,
    manifests: Iterable[Mapping],
    helm_charts: Iterable[tuple[str, str]] = (),
) -> Topology:
    """The topology of one stack (see the module docstring); `helm_charts` are the
    (chart, version) pairs of the Helm releases the stack installs."""
    # The mocks register concurrently, so objects arrive in no fixed order; sorted, the
    # same stack always gives the same picture (and a committed SVG a clean diff).
    ordered = sorted(manifests, key=lambda m: (m.get("kind", ""), m.get("metadata", {}).get("name", "")))
    builder = _Builder(stack_name, stack, report, ordered)
    groups = pod_groups(builder.manifests)
    traffic = allowed_traffic(builder.manifests, groups)
    group_ids = {g.key: _add_group(builder, g) for g in groups}
    _add_entries(builder, groups, group_ids)
    _add_traffic(builder, traffic, group_ids)
    _add_caches(builder, groups, group_ids)
    _add_monitoring(builder)
    charts = [f"{chart} {version}" for chart, version in helm_charts]
    if charts:
        builder.notes.append(f"Helm charts the stack installs: {', '.join(charts)}")
    edges = tuple(Edge(s, t, k, _joined(labels)) for (s, t, k), labels in builder.edges.items())
    return Topology(stack_name, stack.namespace, tuple(builder.nodes.values()), edges, tuple(builder.notes))


def _joined(labels: list[str]) -> str:
    """An edge's label parts, what it goes through (`via ...`) last."""
    return ", ".join(sorted(labels, key=lambda part: part.startswith(VIA)))


# Workloads -------------------------------------------------------------------------


def _requests_gpu(group: PodGroup) -> bool:
    return any(
        resource.endswith("/gpu")
        for spec in group.pod_specs
        for container in spec.get("containers") or []
        for resource in ((container.get("resources") or {}).get("limits") or {})
    )


def _pool_of(group: PodGroup, report: CapacityReport) -> str | None:
    """The CapacityReport's pool of a GPU workload: by object name, or (a multi-node
    group, whose LeaderWorkerSet has its own name) by the instance label."""
    if group.name in report.pools:
        return group.name
    labels = (group.manifest or {}).get("metadata", {}).get("labels") or {}
    instance = labels.get("app.kubernetes.io/instance")
    return instance if instance in report.pools else None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _services_of(builder: _Builder, group: PodGroup) -> list[str]:
    lines = []
    for service in builder.of_kind("Service"):
        selector = service["spec"].get("selector")
        if not selector or not any(selects({"matchLabels": selector}, labels) for labels in group.label_sets):
            continue
        ports = ", ".join(f":{p['port']}" for p in service["spec"].get("ports") or [])
        lines.append(
            f"Service {service['metadata']['name']} {ports} ({service['spec'].get('type', 'ClusterIP')})"
        )
    return lines


def _autoscaling(builder: _Builder, group: PodGroup) -> str:
    for autoscaler in builder.of_kind("HorizontalPodAutoscaler", "ScaledObject"):
        spec = autoscaler["spec"]
        if spec.get("scaleTargetRef", {}).get("name") != group.name:
            continue
        low = spec.get("minReplicas", spec.get("minReplicaCount", 1))
        high = spec.get("maxReplicas", spec.get("maxReplicaCount"))
        kind = "HPA" if autoscaler["kind"] == "HorizontalPodAutoscaler" else "KEDA"
        return f" ({kind} {low}-{high})"
    return ""


def _pool_lines(builder: _Builder, group: PodGroup, capacity: PoolCapacity) -> list[str]:
    stack = builder.stack
    pool = stack.serving_pools()[capacity.pool]
    layout = builder.report.layout(capacity.pool)
    accepted = [p for p in stack.accepted_products(pool) if p != capacity.gpu_product]
    role = next(
        (
            f"{role} role of {name}"
            for name in stack.pd_stacks
            for role in PD_ROLES
            if capacity.pool == role_pool_name(name, role)
        ),
        "vLLM pool",
    )
    if layout.multi_node:
        shape = (
            f"{_plural(capacity.pods, 'replica')} x {layout.nodes_per_replica} pods "
            f"x {_plural(layout.gpus_per_pod, 'GPU')}"
        )
    else:
        shape = f"{_plural(capacity.pods, 'replica')} x {_plural(capacity.gpus_per_pod, 'GPU')} per pod"
    gpu = f"GPU {capacity.gpu_product}" + (f" (or {', '.join(accepted)})" if accepted else "")
    return [
        capacity.pool,
        f"{role} ({group.kind})",
        capacity.model,
        gpu,
        shape + _autoscaling(builder, group),
        *_services_of(builder, group),
    ]


def _add_group(builder: _Builder, group: PodGroup) -> str:
    """The node of one workload; a Gateway's proxy pods are the Gateway's node."""
    stack = builder.stack
    if group.kind == "pods":
        gateway = dict(group.label_sets[0]).get(GATEWAY_NAME_LABEL)
        if gateway and builder.named("Gateway", gateway):
            return _add_gateway(builder, builder.named("Gateway", gateway))  # type: ignore[arg-type]
        return builder.add_node(
            Node(group.key, "workload", NAMESPACE, (f"pods {group.name}", "(no registered object runs them)"))
        )
    pool = _pool_of(group, builder.report) if _requests_gpu(group) else None
    if pool is not None:
        lines = _pool_lines(builder, group, builder.report.pools[pool])
        return builder.add_node(Node(group.key, "pool", NAMESPACE, tuple(lines)))
    routers = {router_name(name): name for name in stack.pd_stacks}
    pickers = {epp_name(name): name for name in stack.serving_pools()}
    prefetches = {prefetch_job_name(name): name for name in stack.serving_pools()}
    replicas = f"{_plural((group.manifest or {}).get('spec', {}).get('replicas', 1), 'replica')}"
    if group.kind == "Job" and group.name in prefetches:
        kind, lines = (
            "job",
            ["prefetch Job", f"downloads {stack.serving_pools()[prefetches[group.name]].model}"],
        )
    elif group.name in routers:
        kind, lines = "router", [f"P/D router of {routers[group.name]}", replicas]
    elif group.name in pickers:
        kind, lines = "picker", [f"endpoint picker of {pickers[group.name]}", replicas]
    else:
        kind, lines = "workload", [group.kind, replicas]
    return builder.add_node(
        Node(group.key, kind, NAMESPACE, (group.name, *lines, *_services_of(builder, group)))
    )


# Entries ---------------------------------------------------------------------------


def _add_gateway(builder: _Builder, gateway: Mapping) -> str:
    spec = gateway["spec"]
    listeners = ", ".join(
        f"{item.get('protocol', '')} :{item.get('port')}" for item in spec.get("listeners") or []
    )
    return builder.add_node(
        Node(
            f"Gateway/{gateway['metadata']['name']}",
            "entry",
            EDGE,
            (
                f"Gateway {gateway['metadata']['name']}",
                f"class {spec.get('gatewayClassName')}",
                f"listeners {listeners}",
                "proxy pods run by the implementation",
            ),
        )
    )


def _groups_selected(groups: list[PodGroup], selector: Mapping | None) -> list[PodGroup]:
    if not selector:
        return []
    return [g for g in groups if any(selects(selector, labels) for labels in g.label_sets)]


def _service_targets(builder: _Builder, groups: list[PodGroup], name: str) -> list[PodGroup]:
    service = builder.named("Service", name)
    selector = (service or {}).get("spec", {}).get("selector")
    return _groups_selected(groups, {"matchLabels": selector} if selector else None)


def _add_ingress(builder: _Builder, ingress: Mapping, groups: list[PodGroup], ids: dict[str, str]) -> None:
    spec = ingress["spec"]
    name = ingress["metadata"]["name"]
    hosts = sorted({rule["host"] for rule in spec.get("rules") or [] if rule.get("host")})
    tls = [t.get("secretName") for t in spec.get("tls") or []]
    middlewares = [m["metadata"]["name"] for m in builder.of_kind("Middleware")]
    lines = [f"Ingress {name}", f"class {spec.get('ingressClassName', '(default)')}"]
    lines += [f"host {host}" for host in hosts]
    lines += [f"TLS from Secret {secret}" for secret in tls if secret]
    lines += [f"Middleware {m}" for m in middlewares]
    node = builder.add_node(Node(f"Ingress/{name}", "entry", EDGE, tuple(lines)))
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            service = path["backend"].get("service") or {}
            for group in _service_targets(builder, groups, service.get("name", "")):
                builder.add_edge(node, ids[group.key], "route", path.get("path", "/"))


def _add_http_route(builder: _Builder, route: Mapping, groups: list[PodGroup], ids: dict[str, str]) -> None:
    spec = route["spec"]
    parents = [
        _add_gateway(builder, gateway)
        for ref in spec.get("parentRefs") or []
        if (gateway := builder.named("Gateway", ref["name"])) is not None
    ]
    for rule in spec.get("rules") or []:
        paths = [m["path"]["value"] for m in rule.get("matches") or [] if m.get("path")]
        headers = [h["value"] for m in rule.get("matches") or [] for h in m.get("headers") or []]
        label = ", ".join(f"model {h}" for h in headers) or ", ".join(paths) or "/"
        for ref in rule.get("backendRefs") or []:
            if ref.get("kind", "Service") == "InferencePool":
                pool = builder.named("InferencePool", ref["name"])
                targets = _groups_selected(groups, (pool or {}).get("spec", {}).get("selector"))
                via = f", {VIA}InferencePool {ref['name']}"
            else:
                targets, via = _service_targets(builder, groups, ref["name"]), ""
            for parent in parents:
                for group in targets:
                    builder.add_edge(parent, ids[group.key], "route", label + via)


def _add_entries(builder: _Builder, groups: list[PodGroup], ids: dict[str, str]) -> None:
    for gateway in builder.of_kind("Gateway"):
        _add_gateway(builder, gateway)
    for ingress in builder.of_kind("Ingress"):
        _add_ingress(builder, ingress, groups, ids)
    for route in builder.of_kind("HTTPRoute"):
        _add_http_route(builder, route, groups, ids)
    for service in builder.of_kind("Service"):
        kind = service["spec"].get("type", "ClusterIP")
        if kind not in EXPOSED_SERVICE_TYPES:
            continue
        name = service["metadata"]["name"]
        ports = ", ".join(f":{p['port']}" for p in service["spec"].get("ports") or [])
        node = builder.add_node(
            Node(f"Service/{name}", "entry", EDGE, (f"Service {name}", f"{kind} {ports}"))
        )
        for group in _service_targets(builder, groups, name):
            builder.add_edge(node, ids[group.key], "route", ports)


# Traffic ---------------------------------------------------------------------------


def _same_peer(peer: Outside, selector: PeerSelector | None) -> bool:
    return (
        selector is not None
        and tuple(selector.namespaces) == peer.namespaces
        and tuple(sorted(selector.pod_labels.items())) == peer.pod_labels
    )


def _outside_lines(builder: _Builder, peer: Outside) -> tuple[str, str, list[str]]:
    """(cluster, title, description lines) of pods outside the namespace."""
    config = builder.stack.network_policy
    names = []
    if _same_peer(peer, config.clients):
        names.append("clients")
    if _same_peer(peer, config.prometheus_peers(builder.stack.monitoring)):
        names.append("Prometheus")
    if _same_peer(peer, config.dns):
        names.append("DNS")
    pods = ",".join(f"{k}={v}" for k, v in peer.pod_labels) or "any pod"
    where = [f"namespace {', '.join(peer.namespaces)}", f"pods {pods}"]
    cluster = MONITORING if names == ["Prometheus"] else CALLERS if names else DESTINATIONS
    return cluster, " / ".join(names) or "pods in other namespaces", where


def _addresses_lines(builder: _Builder, peer: Addresses) -> list[str]:
    config = builder.stack.network_policy

    def same(rule: EgressRule) -> bool:
        return sorted(rule.cidrs) == sorted(peer.cidrs)

    names = []
    if same(config.model_hub):
        names.append("model hub")
    if any(same(rule) for rule in config.object_storage):
        names.append("object storage")
    if same(config.api_server):
        names.append("Kubernetes API")
    return [" / ".join(names) or "addresses", ", ".join(peer.cidrs)]


def _peer_id(builder: _Builder, peer: Peer, ids: dict[str, str]) -> str:
    if isinstance(peer, PodGroup):
        return ids[peer.key]
    if peer is ANYONE:
        return builder.add_node(Node("anyone", "caller", CALLERS, ("any source", "(the edge's own port)")))
    if isinstance(peer, Outside):
        cluster, title, lines = _outside_lines(builder, peer)
        node_id = f"outside/{','.join(peer.namespaces)}/{','.join(f'{k}={v}' for k, v in peer.pod_labels)}"
        kind = "destination" if cluster == DESTINATIONS else "caller"
        return builder.add_node(Node(node_id, kind, cluster, (title, *lines)))
    if isinstance(peer, Addresses):
        lines = _addresses_lines(builder, peer)
        return builder.add_node(
            Node(f"addresses/{','.join(peer.cidrs)}", "destination", DESTINATIONS, tuple(lines))
        )
    raise ValueError(f"no node for {peer}")


def _peer_text(builder: _Builder, peer: Peer) -> str:
    if isinstance(peer, Outside):
        _, title, lines = _outside_lines(builder, peer)
        return f"{title} ({'; '.join(lines)})"
    if isinstance(peer, Addresses):
        return " ".join(_addresses_lines(builder, peer))
    return getattr(peer, "name", str(peer))


def _add_traffic(builder: _Builder, traffic: AllowedTraffic, ids: dict[str, str]) -> None:
    if not traffic.has_policies:
        builder.notes.append(
            "No NetworkPolicy (networkPolicy.enabled: false): every pod may reach every pod; "
            "no traffic is drawn"
        )
        return
    for flow in traffic.flows:
        if EVERY_POD in (flow.source, flow.target):
            continue
        builder.add_edge(
            _peer_id(builder, flow.source, ids),
            _peer_id(builder, flow.target, ids),
            "traffic",
            flow.port_label,
        )
    builder.notes += _namespace_wide_notes(builder, traffic)


def _namespace_wide_notes(builder: _Builder, traffic: AllowedTraffic) -> list[str]:
    notes = [f"{name}: any traffic not drawn is denied" for name in traffic.deny_all]
    for flow in traffic.flows:
        if flow.source is EVERY_POD:
            notes.append(f"every pod may reach {_peer_text(builder, flow.target)} on {flow.port_label}")
        elif flow.target is EVERY_POD:
            notes.append(
                f"every pod may be reached from {_peer_text(builder, flow.source)} on {flow.port_label}"
            )
    for label, keys in (("ingress", traffic.open_ingress), ("egress", traffic.open_egress)):
        notes += [f"{key}: no NetworkPolicy restricts its {label}" for key in sorted(keys)]
    return notes


# Cache and monitoring --------------------------------------------------------------


def _claim_lines(builder: _Builder, claim: Mapping) -> list[str]:
    spec = claim["spec"]
    size = (spec.get("resources") or {}).get("requests", {}).get("storage", "?")
    lines = [
        f"model cache ({builder.stack.model_cache.mode})",
        f"PVC {claim['metadata']['name']}: {size}, {', '.join(spec.get('accessModes') or [])}",
    ]
    volume = builder.named("PersistentVolume", spec.get("volumeName") or "")
    if volume and "hostPath" in volume["spec"]:
        lines.append(f"hostPath {volume['spec']['hostPath']['path']} on the node")
    elif spec.get("storageClassName"):
        lines.append(f"StorageClass {spec['storageClassName']}")
    return lines


def _add_caches(builder: _Builder, groups: list[PodGroup], ids: dict[str, str]) -> None:
    for group in groups:
        for pod in group.pod_specs:
            for volume in pod.get("volumes") or []:
                claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
                claim = builder.named("PersistentVolumeClaim", claim_name or "")
                if claim is None:
                    continue
                node = builder.add_node(
                    Node(
                        f"PersistentVolumeClaim/{claim_name}",
                        "cache",
                        NAMESPACE,
                        tuple(_claim_lines(builder, claim)),
                    )
                )
                mounts = [
                    m
                    for c in pod.get("containers") or []
                    for m in c.get("volumeMounts") or []
                    if m["name"] == volume["name"]
                ]
                read_only = bool(mounts) and all(m.get("readOnly") for m in mounts)
                builder.add_edge(
                    ids[group.key], node, "mount", "mounts (read-only)" if read_only else "mounts"
                )


def _add_monitoring(builder: _Builder) -> None:
    monitors = builder.of_kind(*MONITOR_KINDS)
    rules = [m["metadata"]["name"] for m in builder.of_kind("PrometheusRule")]
    dashboards = [
        m for m in builder.of_kind("ConfigMap") if DASHBOARD_LABEL in (m["metadata"].get("labels") or {})
    ]
    if not (monitors or rules or dashboards):
        return
    lines = ["monitoring objects"]
    lines += [
        _plural(count, kind) for kind in MONITOR_KINDS if (count := sum(m["kind"] == kind for m in monitors))
    ]
    lines += [f"PrometheusRule {name}" for name in rules]
    lines.append(f"{_plural(len(dashboards), 'Grafana dashboard')} (ConfigMaps)")
    node = builder.add_node(Node("monitoring/objects", "monitoring", MONITORING, tuple(lines)))
    for prometheus in [n for n in builder.nodes.values() if n.cluster == MONITORING and n.kind == "caller"]:
        builder.add_edge(node, prometheus.id, "config", "read by")
