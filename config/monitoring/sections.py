"""Config section `monitoring`: kube-prometheus-stack, alert thresholds, dashboards."""

from __future__ import annotations

from pydantic import Field

from config.addons.sections import HelmChartConfig
from config.kube_types import (
    ChartRepository,
    DnsLabel,
    Duration,
    FiniteFloat,
    LabelKey,
    LabelValue,
)
from config.section import Section


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
