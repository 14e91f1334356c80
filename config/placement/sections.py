"""Config section `gpu`: accepted GPU products, taint, runtime class, GPU Operator."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.addons.sections import HelmChartConfig
from config.kube_types import (
    ByteSize,
    ChartRepository,
    DnsLabel,
    DnsSubdomain,
    Int32,
    LabelValue,
    TaintKey,
)
from config.section import Section


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
    # The allocatable memory of a GPU node (`kubectl get node -o jsonpath=
    # '{.status.allocatable.memory}'`); set, every GPU pod's memory (with its KV
    # offload buffer) must fit in it, checked at preview. Unset: not checked.
    node_memory: ByteSize | None = None
    operator: GpuOperatorConfig = Field(default_factory=GpuOperatorConfig)
