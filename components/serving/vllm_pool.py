"""VllmPool: N identical vLLM replicas for one model behind one Service (seed 000).

Owns the workload, the Service, a PodDisruptionBudget that selects the pods and an
optional autoscaler (HPA or KEDA ScaledObject on queue depth). The workload is a
Deployment when a replica fits one node, and a LeaderWorkerSet when it spans nodes
(seed 003): one group of whole-node pods per replica, vLLM on the group's leader.
That choice comes from the layout config/ decided (`PoolLayout`); everything else
(Service, PDB, probes, monitoring) is the same code for both. GPU placement comes
from GpuNodeSelector, the cache mount from ModelCache, scraping and alerts from
MonitoringStack; this component decides none of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.monitoring import label_matcher
from components.placement import GpuScheduling
from components.security import MODEL_DOWNLOAD, PROMETHEUS, PodSecurity, ServedPort, Workload
from components.serving import multi_node
from components.shared import (
    GROUP_ROLE_LABEL,
    PodFragment,
    PodSecrets,
    ScrapeTarget,
    disruption_budget,
    env_var,
    hf_token_file,
    ingress_affinity,
    selector_labels,
    service_readiness,
    service_spec,
    service_url,
    workload_labels,
)
from components.storage import CacheMount
from config.names import RUNTIME_LORA_ENV
from config.serving.parallel_layout import PoolLayout
from config.serving.sections import PoolConfig
from config.serving.startup_budget import derived_startup_seconds

CONTAINER_NAME = "vllm"
PORT_NAME = "http"
HEALTH_PATH = "/health"
SHM_VOLUME = "dshm"
STARTUP_PROBE_PERIOD_SECONDS = 10
LWS_API_VERSION = "leaderworkerset.x-k8s.io/v1"
# LWS names its headless Service (the group's DNS) after the LeaderWorkerSet, so the
# LeaderWorkerSet must not take the name of our Service.
LWS_NAME_SUFFIX = "-group"
# LWS: one group per domain of this node label (api/leaderworkerset/v1, v0.9.0).
LWS_EXCLUSIVE_TOPOLOGY_ANNOTATION = "leaderworkerset.sigs.k8s.io/exclusive-topology"


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
    # Pods per replica and GPUs per pod; None: one pod of all the replica's GPUs.
    layout: PoolLayout | None = None
    # The whole checkpoint as loaded (GiB, from sizing): sets the startup budget.
    weights_gib: float = 0.0

    @property
    def pod_layout(self) -> PoolLayout:
        return self.layout or PoolLayout(nodes_per_replica=1, gpus_per_pod=self.pool.gpus_per_replica)


def needs_shared_memory(pool: PoolConfig) -> bool:
    """NCCL needs a large /dev/shm whenever a replica spans more than one GPU."""
    if pool.shm.enabled is not None:
        return pool.shm.enabled
    return pool.gpus_per_replica > 1


def startup_timeout_seconds(spec: VllmPoolSpec, downloads: bool) -> int:
    """The configured budget, or one derived from the checkpoint's size, the layout and
    whether the pod downloads the weights itself (config/serving/startup_budget.py)."""
    configured = spec.pool.probes.startup_timeout_seconds
    if configured is not None:
        return configured
    return derived_startup_seconds(spec.weights_gib, downloads, spec.pod_layout.multi_node)


def startup_failure_threshold(budget_seconds: int) -> int:
    return math.ceil(budget_seconds / STARTUP_PROBE_PERIOD_SECONDS)


def drain_before_stop(seconds: int) -> k8s.core.v1.LifecycleArgs | None:
    """A preStop sleep (the kubelet's own `sleep` action, Kubernetes 1.30+: no binary in
    the image needed): the pod keeps serving while its removal from Services and
    ingress tables propagates, so a rollout refuses no request. None when 0."""
    if not seconds:
        return None
    return k8s.core.v1.LifecycleArgs(
        pre_stop=k8s.core.v1.LifecycleHandlerArgs(sleep=k8s.core.v1.SleepActionArgs(seconds=seconds))
    )


def _probe(period: int, failures: int) -> k8s.core.v1.ProbeArgs:
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=HEALTH_PATH, port=PORT_NAME),
        period_seconds=period,
        timeout_seconds=5,
        failure_threshold=failures,
    )


class VllmPool(pulumi.ComponentResource):
    """One model served by N identical replicas; clients use `service_url`.

    `selector` selects every pod of the pool (PDB, Service labels);
    `serving_selector` only the pods that serve the API (all of them, or a
    multi-node group's leaders): the Service and an InferencePool route to those.
    """

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
        security: PodSecurity,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-serving:inference:VllmPool", name, None, opts)
        self.spec = spec
        self.security = security
        pool = spec.pool
        self.layout = spec.pod_layout
        # Offline pools (HF_HUB_OFFLINE) download nothing: no egress to the hub or S3.
        self.downloads = not cache.offline
        self.selector = selector_labels(spec.name, spec.component)
        self.labels = workload_labels(spec.name, spec.component)
        self.serving_selector = (
            {**self.selector, GROUP_ROLE_LABEL: multi_node.LEADER}
            if self.layout.multi_node
            else self.selector
        )
        child = pulumi.ResourceOptions(parent=self)

        # What a workload waiting on this pool's readiness orders itself after, and the
        # time this pool's rollout may take (its model load budget and a margin).
        self.startup_budget_seconds = startup_timeout_seconds(spec, self.downloads)
        self.rollout_deadline_seconds = self.startup_budget_seconds + 600
        self.workload: pulumi.Resource
        if self.layout.multi_node:
            group_set = self._leader_worker_set(name, scheduling, cache, secrets, child)
            self.workload = group_set
            workload_name = group_set.metadata.apply(lambda metadata: metadata["name"])
            scale_target = {"api_version": LWS_API_VERSION, "kind": "LeaderWorkerSet"}
        else:
            deployment = self._deployment(name, scheduling, cache, secrets, child)
            self.workload = deployment
            workload_name = deployment.metadata.name
            scale_target = {"api_version": "apps/v1", "kind": "Deployment"}
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=self._metadata(
                annotations={
                    **service_readiness(pool.service, workload_awaited=not self.layout.multi_node),
                    **ingress_affinity(pool.service, f"llm-serving-{spec.name}"),
                }
            ),
            spec=service_spec(
                pool.service,
                self.serving_selector,
                [
                    k8s.core.v1.ServicePortArgs(
                        name=PORT_NAME, port=pool.service.port, target_port=PORT_NAME, protocol="TCP"
                    )
                ],
            ),
            opts=child,
        )
        disruption_budget(f"{name}-pdb", self._metadata(), pool.disruption_budget, self.selector, child)
        self._autoscaler(name, {**scale_target, "name": workload_name}, child)

        # The Deployment, or the LeaderWorkerSet.
        self.deployment_name = workload_name
        self.service_name = service.metadata.name
        self.service_url = service_url(service, pool.service.port)
        self.register_outputs(
            {
                "deploymentName": self.deployment_name,
                "serviceName": self.service_name,
                "serviceUrl": self.service_url,
            }
        )

    def traffic(self, callers: frozenset[str], extra_ports: tuple[ServedPort, ...] = ()) -> Workload:
        """Its API port (also /metrics, so Prometheus calls it too) for `callers`; model
        downloads out unless it serves offline; a multi-node group's pods talk among
        themselves on any port (Ray, NCCL and Gloo pick theirs at run time)."""
        api = ServedPort(PORT_NAME, self.spec.pool.service.port, callers | {PROMETHEUS})
        return Workload(
            self.spec.name,
            self.selector,
            (api, *extra_ports),
            MODEL_DOWNLOAD if self.downloads else frozenset(),
            among_themselves=self.layout.multi_node,
        )

    def scrape_target(self, title: str) -> ScrapeTarget:
        """vLLM serves /metrics on its API port (a group's leader only)."""
        group_set = f"{self.spec.name}{LWS_NAME_SUFFIX}" if self.layout.multi_node else None
        return ScrapeTarget(self.spec.name, "vllm", title, self.selector, PORT_NAME, group_set)

    def _metadata(
        self, labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None
    ) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(
            name=self.spec.name,
            namespace=self.spec.namespace,
            labels=labels or self.labels,
            annotations=annotations,
        )

    def _env(self, files: PodFragment, cache: CacheMount) -> list[k8s.core.v1.EnvVarArgs]:
        pool = self.spec.pool
        return [
            *files.env,
            *cache.env(),
            *self.spec.extra_env,
            *(multi_node.network_env(pool.multi_node) if self.layout.multi_node else []),
            *self._runtime_lora_env(),
            *(env_var(name, entry) for name, entry in sorted(pool.env.items())),
        ]

    def _runtime_lora_env(self) -> list[k8s.core.v1.EnvVarArgs]:
        """Adapters loaded through the API at run time, only where the config allows it.

        Set either way on a LoRA pool, so an image that turns it on in its own
        environment cannot open /v1/load_lora_adapter behind the config's back (vLLM
        0.19.1 reads "1" or "true", any case: vllm/envs.py:909)."""
        lora = self.spec.pool.lora
        if lora is None:
            return []
        return [k8s.core.v1.EnvVarArgs(name=RUNTIME_LORA_ENV, value=str(lora.runtime_loading).lower())]

    def _resources(self, scheduling: GpuScheduling) -> k8s.core.v1.ResourceRequirementsArgs:
        """CPU limit = request by default, memory limit = request, GPUs requested =
        limited: Guaranteed QoS, which the static CPU manager needs to pin cores."""
        resources = self.spec.pool.resources
        # resources.memory plus this pod's share of a KV offload buffer.
        memory = self.spec.pool.container_memory(self.layout.nodes_per_replica)
        return k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": resources.cpu, "memory": memory, **scheduling.gpu_resources},
            limits={"cpu": resources.effective_cpu_limit, "memory": memory, **scheduling.gpu_resources},
        )

    def _files(self, serves_api: bool, secrets: PodSecrets) -> PodFragment:
        """The token as a file, the API key (only where the API is served), and
        writable scratch on a read-only root."""
        credentials = secrets.fragment() if serves_api else hf_token_file(secrets.hf_token)
        return credentials + self.security.model_server_scratch()

    def _volume_mounts(self, cache: CacheMount, files: PodFragment) -> list[k8s.core.v1.VolumeMountArgs]:
        mounts = [cache.volume_mount(), *files.mounts]
        if needs_shared_memory(self.spec.pool):
            mounts.append(k8s.core.v1.VolumeMountArgs(name=SHM_VOLUME, mount_path="/dev/shm"))
        return mounts

    def _container(
        self, scheduling: GpuScheduling, cache: CacheMount, files: PodFragment
    ) -> k8s.core.v1.ContainerArgs:
        """The vLLM server: a single-node replica's pod, or a multi-node group's leader."""
        pool = self.spec.pool
        extra_ports = list(self.spec.extra_ports)
        if self.layout.multi_node:
            command = multi_node.leader_command(pool.multi_node)
            args = [*self.spec.vllm_args, *multi_node.ray_args()]
            # Declared for whoever writes network policy: workers join the head here.
            extra_ports.append(
                k8s.core.v1.ContainerPortArgs(name="ray", container_port=pool.multi_node.ray_port)
            )
        else:
            # The image's entrypoint is `vllm serve`; stating it keeps the args
            # (model first) correct whatever image is pinned.
            command, args = ["vllm", "serve"], self.spec.vllm_args
        return k8s.core.v1.ContainerArgs(
            name=CONTAINER_NAME,
            image=self.spec.image,
            image_pull_policy=self.spec.image_pull_policy,
            command=command,
            args=args,
            ports=[
                k8s.core.v1.ContainerPortArgs(name=PORT_NAME, container_port=pool.service.port),
                *extra_ports,
            ],
            env=self._env(files, cache),
            resources=self._resources(scheduling),
            security_context=self.security.container_context,
            volume_mounts=self._volume_mounts(cache, files),
            # Liveness and readiness only start once the model has loaded.
            startup_probe=_probe(
                STARTUP_PROBE_PERIOD_SECONDS, startup_failure_threshold(self.startup_budget_seconds)
            ),
            readiness_probe=_probe(pool.probes.readiness_period_seconds, 3),
            liveness_probe=_probe(
                pool.probes.liveness_period_seconds, pool.probes.liveness_failure_threshold
            ),
            lifecycle=drain_before_stop(pool.rollout.drain_seconds),
        )

    def _worker_container(
        self, scheduling: GpuScheduling, cache: CacheMount, files: PodFragment
    ) -> k8s.core.v1.ContainerArgs:
        """A Ray node of a group: no API, so no probes; if Ray stops, the container
        exits and LWS recreates the whole group."""
        return k8s.core.v1.ContainerArgs(
            name=CONTAINER_NAME,
            image=self.spec.image,
            image_pull_policy=self.spec.image_pull_policy,
            command=multi_node.worker_command(self.spec.pool.multi_node),
            env=self._env(files, cache),
            resources=self._resources(scheduling),
            security_context=self.security.container_context,
            volume_mounts=self._volume_mounts(cache, files),
        )

    def _pod_spec(
        self,
        container: k8s.core.v1.ContainerArgs,
        scheduling: GpuScheduling,
        cache: CacheMount,
        files: PodFragment,
    ) -> k8s.core.v1.PodSpecArgs:
        pool = self.spec.pool
        volumes = [cache.volume(), *files.volumes]
        if needs_shared_memory(pool):
            volumes.append(
                k8s.core.v1.VolumeArgs(
                    name=SHM_VOLUME,
                    empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit=pool.shm.size),
                )
            )
        return k8s.core.v1.PodSpecArgs(
            affinity=scheduling.affinity,
            tolerations=scheduling.tolerations,
            runtime_class_name=scheduling.runtime_class_name,
            termination_grace_period_seconds=pool.rollout.termination_grace_period_seconds,
            security_context=self.security.pod_context,
            # vLLM never talks to the Kubernetes API.
            automount_service_account_token=False,
            containers=[container],
            volumes=volumes,
        )

    def _pod_metadata(self, labels: dict[str, str]) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(
            labels=labels, annotations={"llm-serving.io/model": self.spec.pool.model}
        )

    def _workload_options(
        self,
        scheduling: GpuScheduling,
        cache: CacheMount,
        child: pulumi.ResourceOptions,
        timeout_seconds: int,
    ) -> pulumi.ResourceOptions:
        autoscaled = self.spec.pool.autoscaling.mode != "none"
        return pulumi.ResourceOptions.merge(
            child,
            pulumi.ResourceOptions(
                depends_on=[*scheduling.ready, *cache.ready],
                # The autoscaler owns the replica count once it exists.
                ignore_changes=["spec.replicas"] if autoscaled else None,
                custom_timeouts=pulumi.CustomTimeouts(
                    create=f"{timeout_seconds}s", update=f"{timeout_seconds}s"
                ),
            ),
        )

    def _replicas(self) -> int:
        pool = self.spec.pool
        return pool.autoscaling.min_replicas if pool.autoscaling.mode != "none" else pool.replicas

    def _deployment(
        self,
        name: str,
        scheduling: GpuScheduling,
        cache: CacheMount,
        secrets: PodSecrets,
        child: pulumi.ResourceOptions,
    ) -> k8s.apps.v1.Deployment:
        pool = self.spec.pool
        files = self._files(True, secrets)
        # A rollout may wait for a whole model load before it counts as progress.
        progress_deadline = self.rollout_deadline_seconds
        return k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=self._metadata(),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=self._replicas(),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self.selector),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                        max_surge=pool.rollout.max_surge, max_unavailable=pool.rollout.max_unavailable
                    ),
                ),
                progress_deadline_seconds=progress_deadline,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=self._pod_metadata(self.labels),
                    spec=self._pod_spec(self._container(scheduling, cache, files), scheduling, cache, files),
                ),
            ),
            opts=self._workload_options(scheduling, cache, child, progress_deadline),
        )

    def _leader_worker_set(
        self,
        name: str,
        scheduling: GpuScheduling,
        cache: CacheMount,
        secrets: PodSecrets,
        child: pulumi.ResourceOptions,
    ) -> k8s.apiextensions.CustomResource:
        """One group per replica: a leader (Ray head + vLLM) and nodes - 1 workers,
        each pod taking a whole node's GPUs. A pod that fails restarts its whole
        group: a Ray cluster missing a node cannot serve."""
        pool = self.spec.pool
        annotations = {}
        if pool.multi_node.topology_key:
            annotations[LWS_EXCLUSIVE_TOPOLOGY_ANNOTATION] = pool.multi_node.topology_key
        leader_files = self._files(True, secrets)
        # Workers serve no API: the Hugging Face token only, never the API key.
        worker_files = self._files(False, secrets)
        template = {
            "size": self.layout.nodes_per_replica,
            "restartPolicy": "RecreateGroupOnPodRestart",
            "leaderTemplate": self._pod_template(
                multi_node.LEADER,
                self._container(scheduling, cache, leader_files),
                scheduling,
                cache,
                leader_files,
            ),
            "workerTemplate": self._pod_template(
                multi_node.WORKER,
                self._worker_container(scheduling, cache, worker_files),
                scheduling,
                cache,
                worker_files,
            ),
        }
        timeout = self.rollout_deadline_seconds
        return k8s.apiextensions.CustomResource(
            f"{name}-leaderworkerset",
            api_version=LWS_API_VERSION,
            kind="LeaderWorkerSet",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"{self.spec.name}{LWS_NAME_SUFFIX}",
                namespace=self.spec.namespace,
                labels=self.labels,
                annotations=annotations or None,
            ),
            spec={
                "replicas": self._replicas(),
                "startupPolicy": "LeaderCreated",
                "rolloutStrategy": {
                    "type": "RollingUpdate",
                    "rollingUpdateConfiguration": {
                        "maxSurge": pool.rollout.max_surge,
                        "maxUnavailable": pool.rollout.max_unavailable,
                    },
                },
                "leaderWorkerTemplate": template,
            },
            opts=self._workload_options(scheduling, cache, child, timeout),
        )

    def _pod_template(
        self,
        role: str,
        container: k8s.core.v1.ContainerArgs,
        scheduling: GpuScheduling,
        cache: CacheMount,
        files: PodFragment,
    ) -> k8s.core.v1.PodTemplateSpecArgs:
        return k8s.core.v1.PodTemplateSpecArgs(
            metadata=self._pod_metadata({**self.labels, GROUP_ROLE_LABEL: role}),
            spec=self._pod_spec(container, scheduling, cache, files),
        )

    def _autoscaler(self, name: str, target: dict, child: pulumi.ResourceOptions) -> None:
        """Scales the workload (a Deployment, or a LeaderWorkerSet's groups)."""
        scaling = self.spec.pool.autoscaling
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
                        "apiVersion": target["api_version"],
                        "kind": target["kind"],
                        "name": target["name"],
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
