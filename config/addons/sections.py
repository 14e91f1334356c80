"""Config sections of the Helm add-ons: the chart a release installs, the LeaderWorkerSet
controller (`leaderWorkerSet`).
"""

from __future__ import annotations

from pydantic import Field

from config.kube_types import (
    ChartRepository,
    DnsLabel,
)
from config.section import Section


class HelmChartConfig(Section):
    """A third-party add-on installed as a Helm release in its own namespace; its chart
    version is a release key (`release.chartVersions`)."""

    install: bool
    repository: ChartRepository
    namespace: DnsLabel
    values: dict = Field(default_factory=dict)


class LeaderWorkerSetControllerConfig(HelmChartConfig):
    """The LeaderWorkerSet controller that multi-node pools need (sigs.k8s.io/lws);
    off by default: most clusters that run multi-node inference already have it."""

    install: bool = False
    # The project publishes its chart only as an OCI artifact.
    repository: ChartRepository = "oci://registry.k8s.io/lws/charts"
    namespace: DnsLabel = "lws-system"
