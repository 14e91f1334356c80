"""The traffic a stack's NetworkPolicies allow, read back from the objects themselves.

Pure: takes the Kubernetes objects the program registers (plain dicts, as the API server
would get them) and evaluates their NetworkPolicies as a CNI enforces them. A pod is
isolated in a direction once any policy of that type selects it; then only the union of
those policies' rules lets traffic through, and traffic between two pods of the
namespace passes only when the callee's ingress rules and the caller's egress rules both
allow it. Reading the objects rather than the `Workload` declarations of
components/security means the picture shows what the cluster will enforce (a declared
caller whose selector is unset, such as Prometheus with monitoring off, is not drawn).

What one rule allows comes out as a `Flow` between `PodGroup`s (the pods of one
Deployment, Job or LeaderWorkerSet, or pods a policy selects that no registered object
owns, such as a Gateway's proxy) and peers outside the namespace: `Outside` pods,
`Addresses` (ipBlocks), or `ANYONE` (a rule without `from`). Rules of policies that
select every pod (the DNS allowance) are reported once, from or to `EVERY_POD`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Kinds whose pods the stack's own objects define, and where their pod templates are.
POD_TEMPLATE_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Deployment": (("spec", "template"),),
    "StatefulSet": (("spec", "template"),),
    "DaemonSet": (("spec", "template"),),
    "Job": (("spec", "template"),),
    "LeaderWorkerSet": (
        ("spec", "leaderWorkerTemplate", "leaderTemplate"),
        ("spec", "leaderWorkerTemplate", "workerTemplate"),
    ),
}
# The label the API server sets on every namespace: a namespaceSelector on it names namespaces.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class PodGroup:
    """The pods of one workload. `key` is `<Kind>/<name>` of the owning object, or
    `pods/<labels>` for pods a policy selects that no registered object creates;
    `label_sets` holds one label set per pod template (a LeaderWorkerSet has two)."""

    key: str
    kind: str
    name: str
    # Not compared: a group is its key (and dicts cannot be hashed).
    label_sets: tuple[Mapping[str, str], ...] = field(compare=False)
    manifest: Mapping | None = field(default=None, compare=False)

    @property
    def pod_specs(self) -> list[Mapping]:
        if self.manifest is None:
            return []
        return [
            template.get("spec", {})
            for path in POD_TEMPLATE_PATHS[self.kind]
            if (template := _dig(self.manifest, path)) is not None
        ]


@dataclass(frozen=True)
class Outside:
    """Pods in other namespaces: namespace names (or a selector's text) and pod labels."""

    namespaces: tuple[str, ...]
    pod_labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Addresses:
    """The CIDRs of one rule's ipBlocks (exceptions left out: they only narrow it)."""

    cidrs: tuple[str, ...]


@dataclass(frozen=True)
class Special:
    name: str


ANYONE = Special("anyone")  # a rule without `from` (or `to`): every source or destination
EVERY_POD = Special("every pod")  # a policy whose podSelector is empty

Peer = PodGroup | Outside | Addresses | Special
# A port as the policy names it: `8000`, `53/UDP`. An empty tuple means every port.
Ports = tuple[str, ...]


@dataclass(frozen=True)
class Flow:
    source: Peer
    target: Peer
    ports: Ports

    @property
    def port_label(self) -> str:
        return ", ".join(f":{port}" for port in self.ports) if self.ports else "any port"


@dataclass(frozen=True)
class AllowedTraffic:
    """Every flow the policies allow, and which groups no policy isolates."""

    flows: tuple[Flow, ...]
    has_policies: bool
    open_ingress: frozenset[str] = field(default_factory=frozenset)
    open_egress: frozenset[str] = field(default_factory=frozenset)
    # Namespace-wide policies that only deny (no rules): `default-deny-all`.
    deny_all: tuple[str, ...] = ()


def _dig(value: Mapping, path: Iterable[str]) -> Mapping | None:
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _labels_text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def selects(selector: Mapping | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against one label set; an
    empty selector selects everything."""
    selector = selector or {}
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if (
            (operator == "In" and labels.get(key) not in values)
            or (operator == "NotIn" and present and labels[key] in values)
            or (operator == "Exists" and not present)
            or (operator == "DoesNotExist" and present)
        ):
            return False
    return True


def _selects_group(selector: Mapping | None, group: PodGroup) -> bool:
    return any(selects(selector, labels) for labels in group.label_sets)


def pod_groups(manifests: Iterable[Mapping]) -> list[PodGroup]:
    """Every registered workload's pods, then the pods policies select that none owns."""
    manifests = list(manifests)
    groups = []
    for manifest in manifests:
        paths = POD_TEMPLATE_PATHS.get(manifest.get("kind", ""))
        if not paths:
            continue
        templates = [t for path in paths if (t := _dig(manifest, path)) is not None]
        label_sets = tuple((t.get("metadata") or {}).get("labels") or {} for t in templates)
        name = manifest["metadata"]["name"]
        groups.append(PodGroup(f"{manifest['kind']}/{name}", manifest["kind"], name, label_sets, manifest))
    for policy in _policies(manifests):
        selector = policy["spec"].get("podSelector") or {}
        if _is_namespace_wide(selector) or any(_selects_group(selector, g) for g in groups):
            continue
        labels = dict(selector.get("matchLabels") or {})
        key = f"pods/{_labels_text(labels)}"
        if all(g.key != key for g in groups):
            groups.append(PodGroup(key, "pods", _labels_text(labels), (labels,)))
    return groups


def _policies(manifests: Iterable[Mapping]) -> list[Mapping]:
    return [m for m in manifests if m.get("kind") == "NetworkPolicy"]


def _is_namespace_wide(selector: Mapping) -> bool:
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


def _policy_types(spec: Mapping) -> set[str]:
    """policyTypes, or the API server's default: Ingress, plus Egress when it has rules."""
    if spec.get("policyTypes"):
        return set(spec["policyTypes"])
    return {"Ingress", "Egress"} if spec.get("egress") else {"Ingress"}


def _ports(rule: Mapping) -> Ports | None:
    """The rule's ports as labels, or None: every port."""
    if not rule.get("ports"):
        return None
    labels = []
    for port in rule["ports"]:
        protocol = port.get("protocol", "TCP")
        number = port.get("port", "*")
        if "endPort" in port:
            number = f"{number}-{port['endPort']}"
        labels.append(str(number) if protocol == "TCP" else f"{number}/{protocol}")
    return tuple(labels)


def _intersect(first: Ports | None, second: Ports | None) -> Ports | None:
    """Both ends' ports (None: every port); an empty tuple when they share none."""
    if first is None:
        return second
    if second is None:
        return first
    return tuple(port for port in first if port in second)


def _union(ports: list[Ports | None]) -> Ports | None:
    if any(p is None for p in ports):
        return None
    merged: list[str] = []
    for group in ports:
        merged += [port for port in group if port not in merged]  # type: ignore[union-attr]
    return tuple(merged)


def _outside(peer: Mapping) -> Outside:
    namespace_selector = peer["namespaceSelector"] or {}
    expressions = namespace_selector.get("matchExpressions") or []
    named = [e for e in expressions if e.get("key") == NAMESPACE_NAME_LABEL and e.get("operator") == "In"]
    if named and len(expressions) == 1 and not namespace_selector.get("matchLabels"):
        namespaces = tuple(named[0].get("values") or ())
    elif _is_namespace_wide(namespace_selector):
        namespaces = ("any namespace",)
    else:
        namespaces = (f"namespaces {_selector_text(namespace_selector)}",)
    pod_labels = tuple(sorted(((peer.get("podSelector") or {}).get("matchLabels") or {}).items()))
    return Outside(namespaces, pod_labels)


def _selector_text(selector: Mapping) -> str:
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    parts += [
        f"{e['key']} {e['operator']} {','.join(e.get('values') or [])}".strip()
        for e in selector.get("matchExpressions") or []
    ]
    return "; ".join(parts)


@dataclass
class _Isolation:
    """The rules that apply to one group, per direction; None: not isolated."""

    ingress: list[Mapping] | None = None
    egress: list[Mapping] | None = None


def _isolation(group: PodGroup, policies: list[Mapping]) -> _Isolation:
    result = _Isolation()
    for policy in policies:
        spec = policy["spec"]
        if not _selects_group(spec.get("podSelector"), group):
            continue
        types = _policy_types(spec)
        if "Ingress" in types:
            result.ingress = (result.ingress or []) + list(spec.get("ingress") or [])
        if "Egress" in types:
            result.egress = (result.egress or []) + list(spec.get("egress") or [])
    return result


def _in_namespace_peer(peer: Mapping) -> bool:
    return "podSelector" in peer and "namespaceSelector" not in peer and "ipBlock" not in peer


def _admitted_ports(rules: list[Mapping] | None, peers_key: str, other: PodGroup) -> Ports | None | bool:
    """Ports `rules` open to `other` (a group of this namespace): None for every port,
    False for none; rules None (not isolated) opens every port."""
    if rules is None:
        return None
    matched = [
        _ports(rule)
        for rule in rules
        if not rule.get(peers_key)
        or any(_in_namespace_peer(p) and _selects_group(p["podSelector"], other) for p in rule[peers_key])
    ]
    return _union(matched) if matched else False


def allowed_traffic(manifests: Iterable[Mapping], groups: list[PodGroup] | None = None) -> AllowedTraffic:
    """Every flow the stack's NetworkPolicies allow (see the module docstring)."""
    manifests = list(manifests)
    groups = pod_groups(manifests) if groups is None else groups
    policies = _policies(manifests)
    if not policies:
        return AllowedTraffic(flows=(), has_policies=False)
    # Rules of namespace-wide policies are drawn once; the rest per selected group.
    wide = [p for p in policies if _is_namespace_wide(p["spec"].get("podSelector") or {})]
    scoped = [p for p in policies if p not in wide]
    isolation = {g.key: _isolation(g, policies) for g in groups}
    flows: list[Flow] = []

    # Between groups of the namespace: the callee's ingress and the caller's egress.
    for callee in groups:
        for caller in groups:
            into = _admitted_ports(isolation[callee.key].ingress, "from", caller)
            out_of = _admitted_ports(isolation[caller.key].egress, "to", callee)
            if into is False or out_of is False:
                continue
            if isolation[callee.key].ingress is None and isolation[caller.key].egress is None:
                continue  # neither end restricted: reported as open, not as a flow
            ports = _intersect(into, out_of)  # type: ignore[arg-type]
            if ports != ():
                flows.append(Flow(caller, callee, ports or ()))

    # With peers outside the namespace only our end is ours to check.
    for group in groups:
        for policy in scoped:
            if _selects_group(policy["spec"].get("podSelector"), group):
                flows += _outside_flows(policy, group)
    for policy in wide:
        flows += _outside_flows(policy, EVERY_POD)
    return AllowedTraffic(
        flows=tuple(dict.fromkeys(flows)),
        has_policies=True,
        open_ingress=frozenset(k for k, i in isolation.items() if i.ingress is None),
        open_egress=frozenset(k for k, i in isolation.items() if i.egress is None),
        deny_all=tuple(
            p["metadata"]["name"]
            for p in wide
            if not p["spec"].get("ingress") and not p["spec"].get("egress")
        ),
    )


def _outside_flows(policy: Mapping, own: Peer) -> list[Flow]:
    """What one policy's rules allow between `own` and peers outside the namespace."""
    spec = policy["spec"]
    types = _policy_types(spec)
    flows = []
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        if direction.capitalize() not in types:
            continue
        for rule in spec.get(direction) or []:
            ports = _ports(rule) or ()
            peers = rule.get(peers_key) or []
            others: list[Peer] = [] if peers else [ANYONE]
            blocks = tuple(p["ipBlock"]["cidr"] for p in peers if "ipBlock" in p)
            if blocks:
                others.append(Addresses(blocks))
            others += [_outside(p) for p in peers if "namespaceSelector" in p]
            flows += [
                Flow(other, own, ports) if direction == "ingress" else Flow(own, other, ports)
                for other in others
            ]
    return flows
