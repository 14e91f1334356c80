"""Config sections of security: `auth`, `podSecurity`, `networkPolicy`, `quota`."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from config.kube_types import (
    ByteSize,
    DnsLabel,
    DnsSubdomain,
    Int32,
    Int64,
    LabelKey,
    LabelValue,
    Port,
    SecretDataKey,
)
from config.monitoring.sections import MonitoringConfig
from config.section import Section


class AuthConfig(Section):
    """API key for the OpenAI-compatible endpoints (`/v1/*`).

    Generated (random.RandomPassword) into the Secret `secretName`, or read from a
    Secret that already exists (`existingSecret`, e.g. one External Secrets syncs),
    in which case the key never passes through Pulumi.
    """

    enabled: bool = True
    secret_name: DnsSubdomain = "vllm-api-key"
    existing_secret: DnsSubdomain | None = None
    secret_key: SecretDataKey = "VLLM_API_KEY"

    @property
    def effective_secret_name(self) -> str:
        return self.existing_secret or self.secret_name


# A fixed, high UID/GID (>= 10000, clear of host users; checkov CKV_K8S_40).
DEFAULT_POD_UID = 10001


class PodSecurityConfig(Section):
    """How every pod we create runs (vLLM pools, P/D roles, routers, prefetch Jobs).

    Always: no privilege escalation, every capability dropped, seccomp RuntimeDefault.
    By default also a read-only root filesystem (writable emptyDirs where vLLM and its
    compilers write) and a fixed non-root UID/GID with `fsGroup`.
    """

    run_as_user: Int64 = Field(default=DEFAULT_POD_UID, ge=1)
    run_as_group: Int64 = Field(default=DEFAULT_POD_UID, ge=1)
    fs_group: Int64 = Field(default=DEFAULT_POD_UID, ge=1)
    # None (auto): root only where the storage forces it: a `hostPath` cache is a node
    # directory kubelet creates owned by root, and fsGroup does not apply to hostPath.
    # false: non-root everywhere (prepare a hostPath directory for the UID first).
    # true: root everywhere (an image that needs it); capabilities stay dropped.
    run_as_root: bool | None = None
    read_only_root_filesystem: bool = True
    # emptyDir limits of the writable scratch: compile/JIT caches ($HOME) and /tmp.
    cache_size: ByteSize = "20Gi"
    tmp_size: ByteSize = "4Gi"

    def runs_as_root(self, cache_mode: str) -> bool:
        if self.run_as_root is not None:
            return self.run_as_root
        return cache_mode == "hostPath"


class PeerSelector(Section):
    """Pods in other namespaces, by namespace name and (optionally) pod labels."""

    namespaces: list[DnsLabel] = Field(min_length=1)
    pod_labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)


class EgressRule(Section):
    """Addresses outside the cluster network, by CIDR, on some TCP ports."""

    cidrs: list[str] = Field(min_length=1)
    excluded_cidrs: list[str] = Field(default_factory=list)
    ports: list[Port] = Field(min_length=1)

    @field_validator("cidrs", "excluded_cidrs")
    @classmethod
    def _cidrs(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a CIDR such as 10.0.0.0/8 or 203.0.113.7/32") from None
        return values

    @field_validator("ports")
    @classmethod
    def _ports(cls, values: list[int]) -> list[int]:
        if any(not 1 <= port <= 65535 for port in values):
            raise ValueError("ports must be between 1 and 65535")
        return values


# Private, link-local (cloud metadata) and shared address ranges: the model hub is on
# the public internet, so its egress rule never reaches the cluster's own networks.
PRIVATE_CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


# IPv4 and IPv6: private, link-local (cloud metadata), shared (CGNAT), unique-local.
NON_PUBLIC_CIDRS = [*PRIVATE_CIDRS, "169.254.0.0/16", "100.64.0.0/10", "fc00::/7", "fe80::/10"]


class NetworkPolicyConfig(Section):
    """NetworkPolicy of the stack's namespace: deny everything, allow what it needs."""

    enabled: bool = True
    # Who calls the OpenAI endpoints (routers and plain pools): the ingress
    # controller's pods; k3s runs Traefik in kube-system.
    clients: PeerSelector = Field(
        default_factory=lambda: PeerSelector(
            namespaces=["kube-system"], pod_labels={"app.kubernetes.io/name": "traefik"}
        )
    )
    # Who scrapes /metrics (when monitoring is enabled). Default: the Prometheus pods
    # of kube-prometheus-stack in monitoring.kubePrometheusStack.namespace.
    prometheus: PeerSelector | None = None
    dns: PeerSelector = Field(
        default_factory=lambda: PeerSelector(namespaces=["kube-system"], pod_labels={"k8s-app": "kube-dns"})
    )
    # Model downloads (vLLM pods, prefetch Jobs): Hugging Face serves from CDNs with
    # changing addresses, so: any public address on 443.
    model_hub: EgressRule = Field(
        default_factory=lambda: EgressRule(
            cidrs=["0.0.0.0/0", "::/0"], excluded_cidrs=list(NON_PUBLIC_CIDRS), ports=[443]
        )
    )
    # Object storage the model pods and prefetch Jobs may reach (e.g. an in-cluster
    # MinIO's address); none by default.
    object_storage: list[EgressRule] = Field(default_factory=list)
    # The Kubernetes API, for routers that discover pods: by default any private
    # address (where k3s and kubeadm control planes live), never the internet. Narrow
    # it to your control plane's addresses (or name a managed cluster's public
    # endpoint); NetworkPolicy sees the endpoint (often :6443), not the Service.
    api_server: EgressRule = Field(
        default_factory=lambda: EgressRule(cidrs=list(PRIVATE_CIDRS), ports=[443, 6443])
    )

    def prometheus_peers(self, monitoring: MonitoringConfig) -> PeerSelector | None:
        """Who may scrape metrics: nobody with monitoring off."""
        if not monitoring.enabled:
            return None
        return self.prometheus or PeerSelector(
            namespaces=[monitoring.kube_prometheus_stack.namespace],
            # The Prometheus operator labels the pods it runs so.
            pod_labels={"app.kubernetes.io/name": "prometheus"},
        )


class QuotaConfig(Section):
    """A LimitRange and a ResourceQuota for the namespace, sized from the stack."""

    enabled: bool = True
    # Extra room on CPU, memory and storage beyond what the stack adds up to (GPUs are
    # never padded: one spare GPU is exactly what a typo would take).
    headroom_percent: Int32 = Field(default=10, ge=0, le=1000)
