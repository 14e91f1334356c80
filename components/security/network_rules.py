"""NetworkPolicy specs from the stack's workloads: deny all, then allow what each needs.

Pure: returns `(name, NetworkPolicySpecArgs)` pairs; `NetworkPolicies` registers them.
Ingress to a port is allowed from exactly its declared callers, and egress from a
workload to exactly the ports that list it as a caller, so both ends agree whatever
the CNI enforces. DNS is allowed to every pod; everything else is denied.
"""

from __future__ import annotations

import ipaddress

import pulumi_kubernetes as k8s

from components.security.traffic import (
    ANYONE,
    API_SERVER,
    CLIENTS,
    MODEL_HUB,
    OBJECT_STORAGE,
    PROMETHEUS,
    ServedPort,
    Workload,
)
from config.security.sections import EgressRule, NetworkPolicyConfig, PeerSelector

DEFAULT_DENY = "default-deny-all"
ALLOW_DNS = "default-allow-dns"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace


def _peer(selector: PeerSelector) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
            match_expressions=[
                k8s.meta.v1.LabelSelectorRequirementArgs(
                    key=NAMESPACE_NAME_LABEL, operator="In", values=list(selector.namespaces)
                )
            ]
        ),
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector.pod_labels)
        if selector.pod_labels
        else None,
    )


def _tcp(served: ServedPort) -> list[k8s.networking.v1.NetworkPolicyPortArgs] | None:
    """One TCP port or a range of them (endPort), or None: every port."""
    if served.port is None:
        return None
    return [
        k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=served.port, end_port=served.end_port)
    ]


def _egress_to(rule: EgressRule) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(
        to=[
            k8s.networking.v1.NetworkPolicyPeerArgs(
                ip_block=k8s.networking.v1.IPBlockArgs(
                    cidr=cidr,
                    except_=[e for e in rule.excluded_cidrs if _within(e, cidr)] or None,
                )
            )
            for cidr in rule.cidrs
        ],
        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=port) for port in rule.ports],
    )


def _within(inner: str, outer: str) -> bool:
    """ipBlock.except must lie inside its cidr, or the API server refuses the policy."""
    inner_net, outer_net = ipaddress.ip_network(inner), ipaddress.ip_network(outer)
    if inner_net.version != outer_net.version:
        return False
    return inner_net.subnet_of(outer_net)  # type: ignore[arg-type]  # same version, checked above


def _in_namespace(workload: Workload) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=workload.selector)
    )


def _namespace_wide(dns: PeerSelector) -> list[tuple[str, k8s.networking.v1.NetworkPolicySpecArgs]]:
    """Deny everything to and from every pod; then DNS for every pod."""
    every_pod = k8s.meta.v1.LabelSelectorArgs()
    dns_ports = [k8s.networking.v1.NetworkPolicyPortArgs(protocol=p, port=53) for p in ("UDP", "TCP")]
    return [
        (
            DEFAULT_DENY,
            k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=every_pod, policy_types=["Ingress", "Egress"]
            ),
        ),
        (
            ALLOW_DNS,
            k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=every_pod,
                policy_types=["Egress"],
                egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[_peer(dns)], ports=dns_ports)],
            ),
        ),
    ]


def network_policy_specs(
    workloads: list[Workload], config: NetworkPolicyConfig, prometheus: PeerSelector | None
) -> list[tuple[str, k8s.networking.v1.NetworkPolicySpecArgs]]:
    """Every NetworkPolicy of the namespace, by object name.

    `prometheus` is who scrapes metrics, or None when nothing does (monitoring off):
    then metrics ports are open to no one outside the namespace.
    """
    by_name = {workload.name: workload for workload in workloads}
    outside = {CLIENTS: config.clients, PROMETHEUS: prometheus}
    external = {
        MODEL_HUB: [config.model_hub],
        OBJECT_STORAGE: list(config.object_storage),
        API_SERVER: [config.api_server],
    }

    def caller_peers(callers: frozenset[str]) -> list[k8s.networking.v1.NetworkPolicyPeerArgs]:
        peers = []
        for caller in sorted(callers):
            if caller not in outside:
                peers.append(_in_namespace(by_name[caller]))
            elif (selector := outside[caller]) is not None:
                peers.append(_peer(selector))
        return peers

    specs = _namespace_wide(config.dns)
    for workload in workloads:
        ingress = [
            # No `from`: every source (the edge's own port).
            k8s.networking.v1.NetworkPolicyIngressRuleArgs(ports=_tcp(served))
            for served in workload.ports
            if ANYONE in served.callers
        ]
        ingress += [
            k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=peers, ports=_tcp(served))
            for served in workload.ports
            if ANYONE not in served.callers and (peers := caller_peers(served.callers))
        ]
        # The other end of every ingress rule above whose caller is this workload.
        egress = [
            k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[_in_namespace(target)], ports=_tcp(served))
            for target in workloads
            for served in target.ports
            if workload.name in served.callers
        ]
        egress += [
            _egress_to(rule) for destination in sorted(workload.egress) for rule in external[destination]
        ]
        if workload.egress_namespaces:
            namespaces = PeerSelector(namespaces=list(workload.egress_namespaces))
            egress.append(k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[_peer(namespaces)]))
        if workload.among_themselves:
            # Every port, both ways, between the workload's own pods only.
            ingress.append(k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[_in_namespace(workload)]))
            egress.append(k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[_in_namespace(workload)]))
        specs.append(
            (
                f"allow-{workload.name}",
                k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=workload.selector),
                    policy_types=["Ingress", "Egress"],
                    ingress=ingress or None,
                    egress=egress or None,
                ),
            )
        )
    return specs
