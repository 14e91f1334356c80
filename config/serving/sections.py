"""Config sections of what serves: `vllm` defaults, `pools.<name>` (a VllmPool) and
`pdStacks.<name>` (a PDRouterStack with its router and KV transfer).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from config.kube_types import (
    ByteSize,
    CpuQuantity,
    DnsSubdomain,
    EnvVarName,
    FiniteFloat,
    HttpUrl,
    Int32,
    Int64,
    LabelKey,
    LabelValue,
    MetricName,
    ModelId,
    NetworkInterfaces,
    Port,
    SecretDataKey,
    ServedModelName,
    dns_1035_label,
    quantity_value,
)
from config.names import MAX_POOL_NAME_LENGTH, PD_ROLES
from config.section import Section
from config.serving.lora import LoraConfig
from config.storage.sections import ModelSource


class VllmDefaults(Section):
    # The image itself is a release key: release.images.vllm.
    image_pull_policy: Literal["IfNotPresent", "Always", "Never"] = "IfNotPresent"


Dtype = Literal["auto", "half", "float16", "bfloat16", "float", "float32"]


KvCacheDtype = Literal["auto", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2"]


Quantization = Literal["awq", "awq_marlin", "gptq", "gptq_marlin", "fp8", "compressed-tensors", "mxfp4"]


BlockSize = Literal[1, 8, 16, 32, 64, 128, 256]


class PodResources(Section):
    cpu: CpuQuantity = "8"
    # Default: equal to `cpu`, so GPU pods get Guaranteed QoS (what the static CPU
    # manager needs to pin cores).
    cpu_limit: CpuQuantity | None = None
    memory: ByteSize = "32Gi"

    @property
    def effective_cpu_limit(self) -> str:
        return self.cpu_limit or self.cpu


class SharedMemory(Section):
    # None: mounted whenever a pod has more than one GPU (NCCL needs it).
    enabled: bool | None = None
    size: ByteSize = "16Gi"


class ServiceConfig(Section):
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    port: Port = 8000
    session_affinity: Literal["None", "ClientIP"] = "None"
    session_affinity_timeout_seconds: Int32 = Field(default=3600, ge=1, le=86400)


class ProbeConfig(Section):
    # Model download and load can take hours for large models; the startupProbe holds
    # liveness off until then. Unset: derived from the model's size and whether the pod
    # downloads it (config/serving/startup_budget.py).
    # Bounded so that the derived failureThreshold and progressDeadlineSeconds stay int32.
    startup_timeout_seconds: Int32 | None = Field(default=None, ge=60, le=7 * 24 * 3600)
    readiness_period_seconds: Int32 = Field(default=5, ge=1, le=3600)
    liveness_period_seconds: Int32 = Field(default=10, ge=1, le=3600)
    liveness_failure_threshold: Int32 = Field(default=3, ge=1, le=1000)


class RolloutConfig(Section):
    # maxSurge 0: a rollout never needs a spare GPU.
    max_surge: Int32 = Field(default=0, ge=0)
    max_unavailable: Int32 = Field(default=1, ge=0)
    termination_grace_period_seconds: Int64 = Field(default=120, ge=0)
    # A pod being replaced keeps accepting requests this long before vLLM gets SIGTERM
    # (a preStop sleep): the endpoint controllers and every node's kube-proxy (or an
    # ingress controller sending to endpoints) drop it from their tables only after
    # the deletion is seen, and a request routed to it meanwhile would be refused.
    drain_seconds: Int32 = Field(default=10, ge=0, le=3600)

    @model_validator(mode="after")
    def _can_progress(self) -> RolloutConfig:
        if self.max_surge == 0 and self.max_unavailable == 0:
            raise ValueError("maxSurge and maxUnavailable cannot both be 0: no rollout could proceed")
        if self.drain_seconds and self.drain_seconds >= self.termination_grace_period_seconds:
            raise ValueError(
                f"drainSeconds ({self.drain_seconds}) must be less than terminationGracePeriodSeconds "
                f"({self.termination_grace_period_seconds}): the grace period counts the drain too, "
                "and vLLM needs the rest to finish in-flight requests; raise "
                "terminationGracePeriodSeconds or lower drainSeconds"
            )
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


# vLLM 0.19.1's `--kv-offloading-backend` choices (vllm/config/cache.py:27).
KvOffloadBackend = Literal["native", "lmcache"]
# GiB vLLM's offloading size means (`cpu_bytes_to_use = size * (1 << 30)`,
# vllm/config/vllm.py:666).
GIB = 1 << 30
MEBIBYTE = 1 << 20


class KvOffloadConfig(Section):
    """KV-cache blocks offloaded to the pod's CPU memory (vLLM `--kv-offloading-size`,
    `--kv-offloading-backend`): evicted prefixes stay reusable without recomputation.

    `sizeGib` is vLLM's buffer for a whole replica (summed over its tensor- and
    pipeline-parallel ranks, vllm/config/cache.py:144); the pod's memory request and
    limit grow by it (by its share on each node of a multi-node replica), so the
    buffer can never be what gets the pod OOM-killed."""

    size_gib: FiniteFloat = Field(gt=0, le=4096)
    # `native`: vLLM's own CPU offloading connector; `lmcache`: LMCache's, which the
    # image must contain (the upstream vllm-openai image does).
    backend: KvOffloadBackend = "native"


class SpeculativeConfig(Section):
    """Speculative decoding by n-gram prompt lookup (vLLM `--speculative-config`,
    vllm/config/speculative.py in 0.19.1): proposals are copied from the prompt's own
    n-grams, so no draft weights load and the memory sum does not change; it pays off
    where outputs repeat the input (code edits, summaries, retrieval answers).

    Draft-model, EAGLE and MTP methods load extra weights and KV layers, which the
    sizing does not model yet (docs/roadmap.md); `extraArgs` may still pass
    `--speculative-config` for them when this section is unset."""

    method: Literal["ngram"] = "ngram"
    num_speculative_tokens: Int32 = Field(ge=1, le=64)
    # The n-gram window matched in the prompt; vLLM's default is 5 for both.
    prompt_lookup_max: Int32 = Field(default=5, ge=1, le=64)
    prompt_lookup_min: Int32 | None = Field(default=None, ge=1, le=64)

    @model_validator(mode="after")
    def _window(self) -> SpeculativeConfig:
        if self.prompt_lookup_min is not None and self.prompt_lookup_min > self.prompt_lookup_max:
            raise ValueError(
                f"promptLookupMin {self.prompt_lookup_min} is larger than promptLookupMax "
                f"{self.prompt_lookup_max}, which vLLM refuses at start-up. Fix: make promptLookupMin at "
                "most promptLookupMax"
            )
        return self

    def as_vllm_config(self) -> dict:
        """The `--speculative-config` JSON vLLM 0.19.1 reads (SpeculativeConfig fields)."""
        return {
            "method": self.method,
            "num_speculative_tokens": self.num_speculative_tokens,
            "prompt_lookup_max": self.prompt_lookup_max,
            "prompt_lookup_min": self.prompt_lookup_min or self.prompt_lookup_max,
        }


class PoolConfig(Section):
    """N identical vLLM pods serving one model behind one Service."""

    model: ModelId
    served_model_name: ServedModelName | None = None
    # Where the weights come from; `model` still names the architecture (catalog,
    # sizing) and the default served name.
    source: ModelSource = Field(default_factory=ModelSource)
    replicas: Int32 = Field(default=1, ge=0)
    gpu_products: list[LabelValue] | None = None
    # Node labels the pool's pods also require (besides the GPU product), e.g. one
    # node by kubernetes.io/hostname, or a node pool's label.
    node_selector: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=16)
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
    kv_offload: KvOffloadConfig | None = None
    speculative: SpeculativeConfig | None = None
    lora: LoraConfig | None = None

    @field_validator("node_selector")
    @classmethod
    def _not_gpu_product(cls, value: dict[str, str]) -> dict[str, str]:
        if "nvidia.com/gpu.product" in value:
            raise ValueError(
                "cannot name nvidia.com/gpu.product: sizing reads the GPU from it; set gpuProducts instead"
            )
        return value

    def container_memory(self, nodes_per_replica: int = 1) -> str:
        """The vLLM container's memory request and limit: `resources.memory`, plus this
        pod's share of the KV offload buffer (rounded up to whole MiB)."""
        if self.kv_offload is None:
            return self.resources.memory
        buffer = math.ceil(self.kv_offload.size_gib * GIB / nodes_per_replica)
        total = quantity_value(self.resources.memory) + buffer
        return f"{math.ceil(total / MEBIBYTE)}Mi"

    @property
    def gpus_per_replica(self) -> int:
        """GPUs one copy of the model needs: tensorParallelSize x pipelineParallelSize."""
        return self.tensor_parallel_size * self.pipeline_parallel_size

    @property
    def gpus_per_pod(self) -> int:
        """GPUs of a single-node replica's pod (a multi-node pool's pods: see
        config.serving.parallel_layout.PoolLayout)."""
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
    # Who checks a client's API key (with llm-serving:auth on). vllm-router checks none
    # by itself (--api-key is only what it presents to workers): "validate" has it ask a
    # prefill worker's /v1/models with the client's token for each new token (vLLM
    # answers 200 only to the stack's key); "edge" leaves it to whatever stands in
    # front (a gateway or ingress that authenticates), and the router serves anyone
    # who reaches it.
    client_keys: Literal["validate", "edge"] = "validate"
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
    # The ports UCX (NIXL's transport) listens on for the KV data over TCP
    # (UCX_TCP_PORT_RANGE, UCX 1.10+); otherwise the OS picks any port, and no
    # NetworkPolicy could admit the transfer. Per pod NIXL 0.9 opens 5 UCX workers per
    # GPU, each listening on every interface (eth0 and lo): 80 ports at TP 8, so 200
    # leaves headroom (UCX retries forever when the range is full). Below 32768, out of
    # Linux's ephemeral range.
    ucx_port_range: str = "20000-20199"

    @property
    def ucx_ports(self) -> tuple[int, int]:
        first, _, last = self.ucx_port_range.partition("-")
        return int(first), int(last or first)

    @field_validator("ucx_port_range")
    @classmethod
    def _port_range(cls, value: str) -> str:
        match = re.fullmatch(r"(\d{1,5})-(\d{1,5})", value.strip())
        if not match:
            raise ValueError(f"{value!r} is not a port range: write FIRST-LAST, e.g. 20000-20199")
        first, last = int(match.group(1)), int(match.group(2))
        if not 1024 <= first <= last <= 32767:
            raise ValueError(
                f"{value!r}: ports must satisfy 1024 <= FIRST <= LAST <= 32767 (below Linux's "
                "ephemeral range, where outgoing connections would take them)"
            )
        return f"{first}-{last}"


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
