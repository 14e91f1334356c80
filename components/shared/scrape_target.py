"""What MonitoringStack needs to know about a workload it watches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ScrapeTarget:
    """One Service to scrape; its Deployment has the same name (or see `group_set`)."""

    name: str
    kind: Literal["vllm", "router", "epp"]
    title: str  # for people: "llama-3-1-8b-decode (decode role of llama-3-1-8b)"
    service_selector: dict[str, str]  # labels that select the Service
    port_name: str  # the Service port serving /metrics
    # A multi-node pool: its LeaderWorkerSet, whose leaders LWS runs as a StatefulSet
    # of that name. None: the workload is a Deployment named `name`.
    group_set: str | None = None
