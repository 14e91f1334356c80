"""GpuNodeSelector: the one place that decides how a pod lands on a GPU node."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.addons import helm_addon
from components.placement.node_selectors import node_labels_in
from config.placement.sections import GpuConfig

GPU_RESOURCE = "nvidia.com/gpu"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"


@dataclass(frozen=True)
class GpuScheduling:
    """What a pod spec needs to run on an accepted GPU: merge it into the pod."""

    affinity: k8s.core.v1.AffinityArgs
    tolerations: list[k8s.core.v1.TolerationArgs]
    runtime_class_name: str | None
    gpu_resources: dict[str, str]
    # Resources GPU pods must wait for (the RuntimeClass, the GPU Operator).
    ready: list[pulumi.Resource] = field(default_factory=list)


def gpu_scheduling(
    spec: GpuConfig,
    products: list[str],
    gpu_count: int,
    ready: list[pulumi.Resource] | None = None,
    node_labels: dict[str, str] | None = None,
) -> GpuScheduling:
    """Required node affinity on the product label (and on `node_labels`, the pool's
    nodeSelector), the GPU taint's toleration, the runtime class, and `nvidia.com/gpu`
    requests equal to limits."""
    affinity = k8s.core.v1.AffinityArgs(
        node_affinity=k8s.core.v1.NodeAffinityArgs(
            required_during_scheduling_ignored_during_execution=node_labels_in(
                {GPU_PRODUCT_LABEL: sorted(products)}
                | {key: [value] for key, value in sorted((node_labels or {}).items())}
            )
        )
    )
    toleration = k8s.core.v1.TolerationArgs(key=spec.taint.key, operator="Exists", effect=spec.taint.effect)
    return GpuScheduling(
        affinity=affinity,
        tolerations=[toleration],
        runtime_class_name=spec.runtime_class_name,
        gpu_resources={GPU_RESOURCE: str(gpu_count)},
        ready=list(ready or []),
    )


class GpuNodeSelector(pulumi.ComponentResource):
    """Owns the RuntimeClass and, optionally, the NVIDIA GPU Operator release.

    Pools ask it for a `GpuScheduling` fragment, which also lists what GPU pods
    must wait for, so the runtime class exists before any GPU pod is created.
    """

    def __init__(
        self,
        name: str,
        spec: GpuConfig,
        operator_chart_version: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-serving:gpu:GpuNodeSelector", name, None, opts)
        self.spec = spec
        self._ready: list[pulumi.Resource] = []
        child = pulumi.ResourceOptions(parent=self)

        if spec.operator.install:
            operator = helm_addon(
                f"{name}-gpu-operator",
                "gpu-operator",
                "gpu-operator",
                spec.operator,
                operator_chart_version,
                spec.operator.values,
                child,
            )
            self._ready.append(operator)

        if spec.create_runtime_class and spec.runtime_class_name:
            runtime_class = k8s.node.v1.RuntimeClass(
                f"{name}-runtime-class",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=spec.runtime_class_name),
                handler=spec.runtime_class_handler,
                opts=child,
            )
            self._ready.append(runtime_class)
        self.register_outputs({"runtimeClassName": spec.runtime_class_name})

    def scheduling(
        self, products: list[str], gpu_count: int, node_labels: dict[str, str] | None = None
    ) -> GpuScheduling:
        return gpu_scheduling(self.spec, products, gpu_count, self._ready, node_labels)
