"""VllmPool: N identical vLLM pods for one model behind one Service (seed 000).

Owns the Deployment, the Service, a PodDisruptionBudget that selects the pods and an
optional autoscaler (HPA or KEDA ScaledObject on queue depth). GPU placement comes
from GpuNodeSelector, the cache mount from ModelCache, scraping and alerts from
MonitoringStack; this component decides none of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.gpu_node_selector import GpuScheduling
from components.labels import selector_labels, workload_labels
from components.model_cache import CacheMount
from components.pod_secrets import PodSecrets, env_var
from components.promql import label_matcher
from components.scrape_target import ScrapeTarget
from components.workload import disruption_budget, service_spec, service_url
from config.schema import PoolConfig

CONTAINER_NAME = "vllm"
PORT_NAME = "http"
HEALTH_PATH = "/health"
SHM_VOLUME = "dshm"
STARTUP_PROBE_PERIOD_SECONDS = 10


@dataclass(frozen=True)
class VllmPoolSpec:
    """Everything a pool needs, already validated and resolved."""

    name: str
    namespace: pulumi.Input[str]
    pool: PoolConfig
    image: str
    image_pull_policy: str
    vllm_args: list[str]
    # The app.kubernetes.io/component label: "inference", or a P/D role.
    component: str = "inference"
    extra_env: list[k8s.core.v1.EnvVarArgs] = field(default_factory=list)
    extra_ports: list[k8s.core.v1.ContainerPortArgs] = field(default_factory=list)


def needs_shared_memory(pool: PoolConfig) -> bool:
    """NCCL needs a large /dev/shm whenever a pod spans more than one GPU."""
    if pool.shm.enabled is not None:
        return pool.shm.enabled
    return pool.gpus_per_pod > 1


def startup_failure_threshold(pool: PoolConfig) -> int:
    return math.ceil(pool.probes.startup_timeout_seconds / STARTUP_PROBE_PERIOD_SECONDS)


def _probe(period: int, failures: int) -> k8s.core.v1.ProbeArgs:
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=HEALTH_PATH, port=PORT_NAME),
        period_seconds=period,
        timeout_seconds=5,
        failure_threshold=failures,
    )


class VllmPool(pulumi.ComponentResource):
    """One model served by N identical pods; clients use `service_url`."""

    service_name: pulumi.Output[str]
    service_url: pulumi.Output[str]
    deployment_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        spec: VllmPoolSpec,
        scheduling: GpuScheduling,
        cache: CacheMount,
        secrets: PodSecrets,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-serving:inference:VllmPool", name, None, opts)
        self.spec = spec
        pool = spec.pool
        self.selector = selector_labels(spec.name, spec.component)
        self.labels = workload_labels(spec.name, spec.component)
        child = pulumi.ResourceOptions(parent=self)

        deployment = self._deployment(name, scheduling, cache, secrets, child)
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=self._metadata(),
            spec=service_spec(
                pool.service,
                self.selector,
                [
                    k8s.core.v1.ServicePortArgs(
                        name=PORT_NAME, port=pool.service.port, target_port=PORT_NAME, protocol="TCP"
                    )
                ],
            ),
            opts=child,
        )
        disruption_budget(f"{name}-pdb", self._metadata(), pool.disruption_budget, self.selector, child)
        self._autoscaler(name, deployment, child)

        self.deployment_name = deployment.metadata.name
        self.service_name = service.metadata.name
        self.service_url = service_url(service, pool.service.port)
        self.register_outputs(
            {
                "deploymentName": self.deployment_name,
                "serviceName": self.service_name,
                "serviceUrl": self.service_url,
            }
        )

    def scrape_target(self, title: str) -> ScrapeTarget:
        """vLLM serves /metrics on its API port."""
        return ScrapeTarget(self.spec.name, "vllm", title, self.selector, PORT_NAME)

    def _metadata(self, labels: dict[str, str] | None = None) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(
            name=self.spec.name, namespace=self.spec.namespace, labels=labels or self.labels
        )

    def _container(
        self, scheduling: GpuScheduling, cache: CacheMount, secrets: PodSecrets
    ) -> k8s.core.v1.ContainerArgs:
        pool = self.spec.pool
        env = [
            *secrets.env(),
            *cache.env(),
            *self.spec.extra_env,
            *(env_var(name, entry) for name, entry in sorted(pool.env.items())),
        ]
        mounts = [cache.volume_mount()]
        if needs_shared_memory(pool):
            mounts.append(k8s.core.v1.VolumeMountArgs(name=SHM_VOLUME, mount_path="/dev/shm"))
        return k8s.core.v1.ContainerArgs(
            name=CONTAINER_NAME,
            image=self.spec.image,
            image_pull_policy=self.spec.image_pull_policy,
            # The image's entrypoint is `vllm serve`; stating it keeps the args
            # (model first) correct whatever image is pinned.
            command=["vllm", "serve"],
            args=self.spec.vllm_args,
            ports=[
                k8s.core.v1.ContainerPortArgs(name=PORT_NAME, container_port=pool.service.port),
                *self.spec.extra_ports,
            ],
            env=env,
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={
                    "cpu": pool.resources.cpu,
                    "memory": pool.resources.memory,
                    **scheduling.gpu_resources,
                },
                limits={"memory": pool.resources.memory, **scheduling.gpu_resources},
            ),
            volume_mounts=mounts,
            # Liveness and readiness only start once the model has loaded.
            startup_probe=_probe(STARTUP_PROBE_PERIOD_SECONDS, startup_failure_threshold(pool)),
            readiness_probe=_probe(pool.probes.readiness_period_seconds, 3),
            liveness_probe=_probe(
                pool.probes.liveness_period_seconds, pool.probes.liveness_failure_threshold
            ),
        )

    def _deployment(
        self,
        name: str,
        scheduling: GpuScheduling,
        cache: CacheMount,
        secrets: PodSecrets,
        child: pulumi.ResourceOptions,
    ) -> k8s.apps.v1.Deployment:
        pool = self.spec.pool
        volumes = [cache.volume()]
        if needs_shared_memory(pool):
            volumes.append(
                k8s.core.v1.VolumeArgs(
                    name=SHM_VOLUME,
                    empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit=pool.shm.size),
                )
            )
        autoscaled = pool.autoscaling.mode != "none"
        # A rollout may wait for a whole model load before it counts as progress.
        progress_deadline = pool.probes.startup_timeout_seconds + 600
        return k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=self._metadata(),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=pool.autoscaling.min_replicas if autoscaled else pool.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self.selector),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                        max_surge=pool.rollout.max_surge, max_unavailable=pool.rollout.max_unavailable
                    ),
                ),
                progress_deadline_seconds=progress_deadline,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=self.labels,
                        annotations={"llm-serving.io/model": pool.model},
                    ),
                    spec=k8s.core.v1.PodSpecArgs(
                        affinity=scheduling.affinity,
                        tolerations=scheduling.tolerations,
                        runtime_class_name=scheduling.runtime_class_name,
                        termination_grace_period_seconds=pool.rollout.termination_grace_period_seconds,
                        containers=[self._container(scheduling, cache, secrets)],
                        volumes=volumes,
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    depends_on=[*scheduling.ready, *cache.ready],
                    # The autoscaler owns the replica count once it exists.
                    ignore_changes=["spec.replicas"] if autoscaled else None,
                    custom_timeouts=pulumi.CustomTimeouts(
                        create=f"{progress_deadline}s", update=f"{progress_deadline}s"
                    ),
                ),
            ),
        )

    def _autoscaler(
        self, name: str, deployment: k8s.apps.v1.Deployment, child: pulumi.ResourceOptions
    ) -> None:
        scaling = self.spec.pool.autoscaling
        target = {"api_version": "apps/v1", "kind": "Deployment", "name": deployment.metadata.name}
        if scaling.mode == "hpa":
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa",
                metadata=self._metadata(),
                spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                    scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(**target),
                    min_replicas=scaling.min_replicas,
                    max_replicas=scaling.max_replicas,
                    metrics=[
                        k8s.autoscaling.v2.MetricSpecArgs(
                            type="Pods",
                            pods=k8s.autoscaling.v2.PodsMetricSourceArgs(
                                metric=k8s.autoscaling.v2.MetricIdentifierArgs(name=scaling.hpa_metric_name),
                                target=k8s.autoscaling.v2.MetricTargetArgs(
                                    type="AverageValue", average_value=str(scaling.target_queue_depth)
                                ),
                            ),
                        )
                    ],
                ),
                opts=child,
            )
        elif scaling.mode == "keda":
            served_name = self.spec.pool.served_name
            query = pulumi.Output.from_input(self.spec.namespace).apply(
                lambda namespace: (
                    f"sum(vllm:num_requests_waiting{{{label_matcher('namespace', namespace)},"
                    f"{label_matcher('model_name', served_name)}}})"
                )
            )
            k8s.apiextensions.CustomResource(
                f"{name}-scaledobject",
                api_version="keda.sh/v1alpha1",
                kind="ScaledObject",
                metadata=self._metadata(),
                spec={
                    "scaleTargetRef": {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": deployment.metadata.name,
                    },
                    "minReplicaCount": scaling.min_replicas,
                    "maxReplicaCount": scaling.max_replicas,
                    "pollingInterval": scaling.polling_interval_seconds,
                    "cooldownPeriod": scaling.cooldown_period_seconds,
                    "triggers": [
                        {
                            "type": "prometheus",
                            "metadata": {
                                "serverAddress": scaling.prometheus_url,
                                "query": query,
                                "threshold": str(scaling.target_queue_depth),
                            },
                        }
                    ],
                },
                opts=child,
            )
