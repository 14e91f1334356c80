"""GpuNodeSelector: the one place that decides how a pod lands on a GPU node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from config.schema import GpuConfig

GPU_RESOURCE = "nvidia.com/gpu"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"


@dataclass(frozen=True)
class GpuScheduling:
    """What a pod spec needs to run on an accepted GPU: merge it into the pod."""

    affinity: k8s.core.v1.AffinityArgs
    tolerations: list[k8s.core.v1.TolerationArgs]
    runtime_class_name: Optional[str]
    gpu_resources: dict[str, str]


def gpu_scheduling(spec: GpuConfig, products: list[str], gpu_count: int) -> GpuScheduling:
    """Required node affinity on the product label, the GPU taint's toleration, the
    runtime class, and `nvidia.com/gpu` requests equal to limits."""
    affinity = k8s.core.v1.AffinityArgs(
        node_affinity=k8s.core.v1.NodeAffinityArgs(
            required_during_scheduling_ignored_during_execution=k8s.core.v1.NodeSelectorArgs(
                node_selector_terms=[
                    k8s.core.v1.NodeSelectorTermArgs(
                        match_expressions=[
                            k8s.core.v1.NodeSelectorRequirementArgs(
                                key=GPU_PRODUCT_LABEL, operator="In", values=sorted(products)
                            )
                        ]
                    )
                ]
            )
        )
    )
    toleration = k8s.core.v1.TolerationArgs(
        key=spec.taint.key, operator="Exists", effect=spec.taint.effect
    )
    return GpuScheduling(
        affinity=affinity,
        tolerations=[toleration],
        runtime_class_name=spec.runtime_class_name,
        gpu_resources={GPU_RESOURCE: str(gpu_count)},
    )


class GpuNodeSelector(pulumi.ComponentResource):
    """Owns the RuntimeClass and, optionally, the NVIDIA GPU Operator release.

    Pools ask it for a `GpuScheduling` fragment and depend on it, so the runtime
    class exists before any GPU pod is created.
    """

    def __init__(self, name: str, spec: GpuConfig, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("llm-serving:gpu:GpuNodeSelector", name, None, opts)
        self.spec = spec
        child = pulumi.ResourceOptions(parent=self)

        if spec.operator.install:
            namespace = k8s.core.v1.Namespace(
                f"{name}-operator-ns",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=spec.operator.namespace),
                opts=child,
            )
            k8s.helm.v3.Release(
                f"{name}-gpu-operator",
                name="gpu-operator",
                chart="gpu-operator",
                version=spec.operator.chart_version,
                namespace=namespace.metadata.name,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=spec.operator.repository),
                values=spec.operator.values,
                opts=child,
            )

        if spec.create_runtime_class and spec.runtime_class_name:
            k8s.node.v1.RuntimeClass(
                f"{name}-runtime-class",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=spec.runtime_class_name),
                handler=spec.runtime_class_handler,
                opts=child,
            )
        self.register_outputs({"runtimeClassName": spec.runtime_class_name})

    def scheduling(self, products: list[str], gpu_count: int) -> GpuScheduling:
        return gpu_scheduling(self.spec, products, gpu_count)
