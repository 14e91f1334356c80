"""NetworkPolicies: the namespace denies all traffic, then allows what the stack needs.

Built from the `Workload`s the other components describe (components/security/traffic.py):
clients (the ingress controller's pods) to routers and plain pools; routers to their
role pools; each P/D role to the other's NIXL side channel; Prometheus to metrics
ports; DNS for every pod; model downloads to the public internet on 443 (and to the
object storage you list); pod-discovering routers to the API server. Nothing else.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.security.network_rules import network_policy_specs
from components.security.traffic import Workload
from components.shared import PART_OF
from config.security.sections import NetworkPolicyConfig, PeerSelector


class NetworkPolicies(pulumi.ComponentResource):
    """Owns every NetworkPolicy of the stack's namespace."""

    policy_names: list[str]

    def __init__(
        self,
        name: str,
        spec: NetworkPolicyConfig,
        namespace: pulumi.Input[str],
        workloads: list[Workload],
        prometheus: PeerSelector | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-serving:network:NetworkPolicies", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.policy_names = []
        for policy_name, policy_spec in network_policy_specs(workloads, spec, prometheus):
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=policy_name, namespace=namespace, labels={"app.kubernetes.io/part-of": PART_OF}
                ),
                spec=policy_spec,
                opts=child,
            )
            self.policy_names.append(policy_name)
        self.register_outputs({"policies": self.policy_names})
