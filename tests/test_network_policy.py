"""Who can reach what, computed from the rendered NetworkPolicies and pods.

An evaluator of Kubernetes NetworkPolicy semantics (isolation by selection, label
selectors with matchLabels/matchExpressions, namespace selectors, ipBlock with
except, ports by number or name; a connection needs the source's egress and the
destination's ingress) runs over every stack file's objects plus pods outside the
namespace: the ingress controller, Prometheus, DNS, and impostors (the same labels
in the wrong namespace, the right namespace without the labels, a stray pod in the
stack's namespace). Every port a pod serves must be reachable from exactly the peers
that need it, and egress leave the namespace only for DNS, model downloads and (for
pod-discovering routers) the API server.
"""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from config.loader import parse_stack_config
from harness import ROOT, ProgramRun, run_program, stack_file_config
from harness import STACK_NAMESPACE as NAMESPACE

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml")) + sorted((ROOT / "examples").glob("*.yaml"))
NAME = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"
INSTANCE = "app.kubernetes.io/instance"
GATEWAY_NAME = "gateway.networking.k8s.io/gateway-name"
GROUP_ROLE = "llm-serving.io/group-role"
# The Jobs that fill the model cache (components/storage/model_cache.py): they download.
DOWNLOAD_JOBS = ("prefetch", "adapters")


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: dict = field(hash=False)
    ip: str
    ports: dict = field(default_factory=dict, hash=False)  # port name -> number


@dataclass(frozen=True)
class Address:
    """Something outside the cluster's pods: a public host, the API server, metadata."""

    name: str
    ip: str


TRAEFIK = Pod("traefik", "kube-system", {NAME: "traefik"}, "10.42.9.1")
PROMETHEUS = Pod("prometheus", "monitoring", {NAME: "prometheus"}, "10.42.9.2")
DNS = Pod("coredns", "kube-system", {"k8s-app": "kube-dns"}, "10.42.9.3", {"dns": 53})
IMPOSTORS = [
    Pod("traefik-elsewhere", "tenant-a", {NAME: "traefik"}, "10.42.9.4"),
    Pod("kube-system-other", "kube-system", {NAME: "metrics-server"}, "10.42.9.5"),
    Pod("prometheus-elsewhere", "tenant-a", {NAME: "prometheus"}, "10.42.9.6"),
    Pod("monitoring-other", "monitoring", {NAME: "grafana"}, "10.42.9.7"),
    Pod("stray", NAMESPACE, {"run": "debug"}, "10.42.9.8"),
]
HUGGING_FACE = Address("huggingface.co", "18.164.174.12")
API_SERVER = Address("kube-apiserver", "10.0.0.10")
METADATA = Address("cloud-metadata", "169.254.169.254")


def selects(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector; an empty selector selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def namespace_labels(namespace: str) -> dict:
    return {"kubernetes.io/metadata.name": namespace}


def peer_matches(peer: dict, policy_namespace: str, other: Pod | Address) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        address = ipaddress.ip_address(other.ip)
        if address not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(address in ipaddress.ip_network(e) for e in block.get("except") or [])
    if isinstance(other, Address):
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], namespace_labels(other.namespace)):
            return False
    elif other.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], other.labels)


def port_matches(rule_ports: list | None, port: int, target_ports: dict) -> bool:
    if not rule_ports:
        return True
    for entry in rule_ports:
        number = entry.get("port")
        if isinstance(number, str):
            number = target_ports.get(number)
        if number is None or number == port:
            return True
        if isinstance(number, int) and number <= port <= entry.get("endPort", number):
            return True
    return False


class Network:
    def __init__(self, policies: list[dict]):
        self.policies = policies

    def _applying(self, pod: Pod, direction: str) -> list[dict] | None:
        """The policies that isolate `pod` in `direction`, or None when none does."""
        applying = [
            p
            for p in self.policies
            if p["metadata"]["namespace"] == pod.namespace
            and selects(p["spec"]["podSelector"], pod.labels)
            and direction in p["spec"].get("policyTypes", ["Ingress"])
        ]
        return applying or None

    def _allowed(self, pod: Pod, direction: str, other: Pod | Address, port: int, ports: dict) -> bool:
        applying = self._applying(pod, direction)
        if applying is None:
            return True
        key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for policy in applying:
            for rule in policy["spec"].get(key) or []:
                peers = rule.get(peers_key)
                if (not peers or any(peer_matches(p, pod.namespace, other) for p in peers)) and port_matches(
                    rule.get("ports"), port, ports
                ):
                    return True
        return False

    def reaches(self, source: Pod, target: Pod | Address, port: int) -> bool:
        target_ports = target.ports if isinstance(target, Pod) else {}
        if not self._allowed(source, "Egress", target, port, target_ports):
            return False
        return isinstance(target, Address) or self._allowed(target, "Ingress", source, port, target_ports)


def stack_pods(run: ProgramRun) -> list[Pod]:
    """One pod per Deployment and Job, a leader and a worker per LeaderWorkerSet, as
    the program's pod templates describe them; and a Gateway's proxy pod, as Gateway
    API implementations run it in the Gateway's namespace (labelled with its name)."""
    named_templates = [
        (w.inputs["metadata"]["name"], w.inputs["spec"]["template"])
        for w in run.of_kind("Deployment") + run.of_kind("Job")
    ]
    for group_set in run.of_kind("LeaderWorkerSet"):
        template = group_set.inputs["spec"]["leaderWorkerTemplate"]
        for role in ("leader", "worker"):
            named_templates.append(
                (f"{group_set.inputs['metadata']['name']}-{role}", template[f"{role}Template"])
            )
    pods = []
    for index, (name, template) in enumerate(named_templates):
        ports = {
            port["name"]: port["containerPort"]
            for container in template["spec"]["containers"]
            for port in container.get("ports", [])
        }
        pods.append(Pod(name, NAMESPACE, template["metadata"]["labels"], f"10.42.0.{index + 10}", ports))
    for index, gateway in enumerate(sorted(gateways(run))):
        labels = {GATEWAY_NAME: gateway, COMPONENT: "gateway-proxy", INSTANCE: gateway}
        pods.append(Pod(f"{gateway}-proxy", NAMESPACE, labels, f"10.42.1.{index + 10}", {"listener": 8080}))
    return pods


def gateways(run: ProgramRun) -> set[str]:
    """The Gateways our HTTPRoutes attach to."""
    return {ref["name"] for route in run.of_kind("HTTPRoute") for ref in route.inputs["spec"]["parentRefs"]}


def routed(run: ProgramRun) -> tuple[set[str], set[str]]:
    """(pools routed through an InferencePool, Services routed directly) by the gateway."""
    backends = [
        ref
        for route in run.of_kind("HTTPRoute")
        for rule in route.inputs["spec"]["rules"]
        for ref in rule.get("backendRefs", [])
    ]
    return (
        {ref["name"] for ref in backends if ref.get("kind") == "InferencePool"},
        {ref["name"] for ref in backends if ref.get("kind", "Service") == "Service"},
    )


def same_group(pod: Pod, pods: list[Pod]) -> set[str]:
    """The other pods of a multi-node pool (Ray, NCCL and Gloo pick ports at run time)."""
    if GROUP_ROLE not in pod.labels:
        return set()
    return {p.name for p in pods if p is not pod and p.labels.get(INSTANCE) == pod.labels[INSTANCE]}


def needed_callers(target: Pod, pods: list[Pod], run: ProgramRun, monitored: bool) -> dict[str, set[str]]:
    """Per served port name: who needs it, from what the pod is (not from the policies)."""
    scrapers = {PROMETHEUS.name} if monitored else set()
    component = target.labels[COMPONENT]
    instance = target.labels[INSTANCE]
    proxies = {f"{gateway}-proxy" for gateway in gateways(run)}
    routed_pools, routed_services = routed(run)
    if component == "gateway-proxy":
        # The edge: anyone outside may connect, on whatever port it listens (the
        # namespace's own pods have no egress to it: none of them needs it).
        return {
            "listener": {p.name for p in [TRAEFIK, PROMETHEUS, DNS, *IMPOSTORS] if p.namespace != NAMESPACE}
        }
    if component == "endpoint-picker":
        return {"grpc": proxies, "grpc-health": set(), "metrics": scrapers}
    if component == "inference":
        if not target.ports:
            return {}
        through_gateway = proxies | {f"{instance}-epp"} if instance in routed_pools else set()
        needed = {"http": {TRAEFIK.name} | scrapers | same_group(target, pods) | through_gateway}
        if "ray" in target.ports:
            # A multi-node leader's Ray head: its group's workers join it.
            needed["ray"] = same_group(target, pods)
        return needed
    if component == "router":
        return {
            "http": {TRAEFIK.name} | (proxies if instance in routed_services else set()),
            "metrics": scrapers,
        }
    if component in ("prefill", "decode"):
        stack = instance.removesuffix(f"-{component}")
        other_role = "decode" if component == "prefill" else "prefill"
        group = same_group(target, pods)
        return {
            "http": {f"{stack}-router"} | scrapers | group,
            "nixl": {f"{stack}-{other_role}"} | group,
        }
    assert component in DOWNLOAD_JOBS, component
    return {}


@pytest.fixture(scope="module", params=STACK_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def stack(request) -> tuple[Path, ProgramRun]:
    return request.param, run_program(stack_file_config(request.param))


def assert_exact_reachability(run: ProgramRun, monitored: bool) -> None:
    pods = stack_pods(run)
    network = Network(run.manifests_of_kind("NetworkPolicy"))
    everyone = [*pods, TRAEFIK, PROMETHEUS, DNS, *IMPOSTORS]
    assert pods
    for target in pods:
        needed = needed_callers(target, pods, run, monitored)
        assert set(needed) == set(target.ports), target.name
        for port_name, port in target.ports.items():
            reached_by = {
                source.name
                for source in everyone
                if source is not target and network.reaches(source, target, port)
            }
            assert reached_by == needed[port_name], f"{target.name}:{port_name} ({port})"
        # Nothing but the served ports (any port within a multi-node group; the edge's
        # proxy listens where its implementation chooses).
        reach_other_ports = {s.name for s in everyone if s is not target and network.reaches(s, target, 22)}
        edge = needed.get("listener", set())
        assert reach_other_ports == same_group(target, pods) | edge, target.name


def test_every_served_port_is_reachable_from_exactly_the_peers_that_need_it(stack):
    path, run = stack
    monitored = stack_file_config(path).get("llm-serving:monitoring", {}).get("enabled", False)
    assert_exact_reachability(run, monitored)


def test_without_monitoring_no_one_scrapes():
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.prod.yaml"))
    config.pop("llm-serving:monitoring")
    assert_exact_reachability(run_program(config), monitored=False)


def serves_offline(run, name: str) -> bool:
    """Whether the workload `name` runs vLLM with HF_HUB_OFFLINE=1."""
    templates = [
        d.inputs["spec"]["template"]
        for d in run.of_kind("Deployment")
        if d.inputs["metadata"]["name"] == name
    ]
    templates += [
        s.inputs["spec"]["leaderWorkerTemplate"][role]
        for s in run.of_kind("LeaderWorkerSet")
        if s.inputs["metadata"]["name"].startswith(name)
        for role in ("leaderTemplate", "workerTemplate")
    ]
    env = [e for t in templates for c in t["spec"]["containers"] for e in c.get("env", [])]
    return any(e["name"] == "HF_HUB_OFFLINE" and e.get("value") == "1" for e in env)


def test_egress_leaves_the_namespace_only_for_dns_downloads_and_discovery(stack):
    _, run = stack
    network = Network(run.manifests_of_kind("NetworkPolicy"))
    for pod in stack_pods(run):
        component = pod.labels[COMPONENT]
        # Prefetch and adapters Jobs download; servers too, unless they serve offline (a
        # directory, or a hub cache their prefetch Job filled first).
        downloads = component in DOWNLOAD_JOBS or (
            component in ("inference", "prefill", "decode") and not serves_offline(run, pod.name)
        )
        # Pods that watch the API: routers with pod discovery, endpoint pickers.
        discovers = any(
            d.inputs["spec"]["template"]["spec"].get("automountServiceAccountToken")
            for d in run.of_kind("Deployment")
            if d.inputs["metadata"]["name"] == pod.name
        )
        assert network.reaches(pod, DNS, 53), pod.name
        assert network.reaches(pod, HUGGING_FACE, 443) == downloads, pod.name
        assert not network.reaches(pod, HUGGING_FACE, 80), pod.name
        assert network.reaches(pod, API_SERVER, 6443) == discovers, pod.name
        assert not network.reaches(pod, METADATA, 80), pod.name
        assert not network.reaches(pod, METADATA, 443), pod.name
        for outsider in (TRAEFIK, PROMETHEUS, *IMPOSTORS):
            assert not network.reaches(pod, outsider, 8000), (pod.name, outsider.name)


def test_network_policy_can_be_turned_off():
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    config["llm-serving:networkPolicy"] = {"enabled": False}
    assert not run_program(config).of_kind("NetworkPolicy")


def test_object_storage_egress_is_added_for_downloading_pods_only():
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.prod.yaml"))
    config["llm-serving:networkPolicy"] = {"objectStorage": [{"cidrs": ["10.20.0.5/32"], "ports": [9000]}]}
    run = run_program(config)
    network = Network(run.manifests_of_kind("NetworkPolicy"))
    minio = Address("minio", "10.20.0.5")
    for pod in stack_pods(run):
        downloads = pod.labels[COMPONENT] in DOWNLOAD_JOBS or (
            pod.labels[COMPONENT] != "router" and not serves_offline(run, pod.name)
        )
        assert network.reaches(pod, minio, 9000) == downloads, pod.name
        assert not network.reaches(pod, minio, 9001), pod.name


def test_prefill_and_decode_reach_each_others_ucx_range_and_nothing_else_does():
    """The KV data moves over UCX, which listens only in kvTransfer.ucxPortRange
    (UCX_TCP_PORT_RANGE); either role may dial the other, nobody else may."""
    run = run_program(stack_file_config(ROOT / "Pulumi.prod.yaml"))
    network = Network(run.manifests_of_kind("NetworkPolicy"))
    pods = stack_pods(run)
    roles = {pod.labels[COMPONENT]: pod for pod in pods if pod.labels[COMPONENT] in ("prefill", "decode")}
    router = next(pod for pod in pods if pod.labels[COMPONENT] == "router")
    for source, target in ((roles["prefill"], roles["decode"]), (roles["decode"], roles["prefill"])):
        assert network.reaches(source, target, 20000) and network.reaches(source, target, 20199)
        assert not network.reaches(source, target, 20200) and not network.reaches(source, target, 19999)
        assert not network.reaches(router, target, 20000)
        assert not any(network.reaches(outsider, target, 20000) for outsider in (TRAEFIK, *IMPOSTORS))
    for role in ("prefill", "decode"):
        (deployment,) = [d for d in run.of_kind("Deployment") if d.inputs["metadata"]["name"].endswith(role)]
        (vllm,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
        assert {"name": "UCX_TCP_PORT_RANGE", "value": "20000-20199"} in vllm["env"]


def test_a_stack_without_ingress_or_gateway_is_told_who_may_call_it():
    """Prod renders no Ingress: the default callers (k3s's Traefik) would never call its
    router, so preview says which key names the real callers."""

    def warnings(config: dict) -> list[str]:
        values = {key.removeprefix("llm-serving:"): value for key, value in config.items()}
        return [w for w in parse_stack_config(values, has_hf_token=True)[1].warnings if "clients" in w]

    prod = copy.deepcopy(stack_file_config(ROOT / "Pulumi.prod.yaml"))
    (warning,) = warnings(prod)
    assert warning.startswith("llm-serving:networkPolicy.clients: left at its default")
    assert "renders no Ingress" in warning
    prod["llm-serving:networkPolicy"] = {"clients": {"namespaces": ["apps"]}}
    assert warnings(prod) == []
    assert warnings(stack_file_config(ROOT / "Pulumi.dev.yaml")) == []
    assert warnings(stack_file_config(ROOT / "examples" / "llm-d-gateway.yaml")) == []
