"""Config sections of the edge: `ingress` and `inferenceGateway` (Gateway, routes,
endpoint picker).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.addons.sections import HelmChartConfig
from config.kube_types import (
    ChartRepository,
    DnsLabel,
    DnsSubdomain,
    Duration,
    Hostname,
    HttpPathPrefix,
    Int32,
    LabelKey,
    Port,
)
from config.section import Section
from config.serving.sections import DisruptionBudgetConfig, PodResources


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
