"""Cross-key checks of pools and prefill/decode stacks: catalog references, parallelism,
dtype and quantization, escape hatches, and whether each pod fits its GPUs.

Pure: no Pulumi imports.
"""

from __future__ import annotations

import difflib

from config import sizing
from config.capacity import MemoryTerms, PoolCapacity
from config.catalog import GpuModel, ModelArchitecture
from config.errors import Problem
from config.escape_hatches import InputProblem, check_env
from config.kube_types import quantity_value
from config.names import MULTI_NODE_ENV, PD_ROLES
from config.placement.gpu_support import unsupported_settings
from config.serving import parallel_layout
from config.serving.lora import LORA_MAX_VOCAB, LORA_RANKS
from config.serving.router_args import router_extra_args_problems
from config.serving.sections import PDStackConfig, PoolConfig
from config.serving.vllm_args import extra_args_problems, flag_name
from config.stack import StackConfig
from config.storage.checks import CacheUser

# Pool quantization flags a pre-quantized checkpoint accepts, by checkpoint method.
_COMPATIBLE_QUANTIZATION = {
    "awq": {"awq", "awq_marlin"},
    "gptq": {"gptq", "gptq_marlin"},
    "fp8": {"fp8"},
    "compressed-tensors": {"compressed-tensors"},
    "mxfp4": {"mxfp4"},
}


# What vLLM can quantize on the fly from an unquantized checkpoint.
_ONLINE_QUANTIZATION = {"fp8"}


def serves_something_problems(stack: StackConfig) -> list[Problem]:
    if stack.pools or stack.pd_stacks:
        return []
    return [
        Problem(
            key="pools",
            value=None,
            reason="the stack serves no model",
            fix="add a pool under llm-serving:pools or a prefill/decode stack under llm-serving:pdStacks",
        )
    ]


# UCX listeners a pod opens for NIXL 0.9: 5 workers per GPU, each on eth0 and lo.
UCX_LISTENERS_PER_GPU = 10


def ucx_port_problems(key: str, pd_stack: PDStackConfig) -> list[Problem]:
    """The UCX range must hold every listener of the larger role and clash with no
    other port of the pods (vLLM's API, NIXL's side channel)."""
    transfer = pd_stack.kv_transfer
    first, last = transfer.ucx_ports
    size = last - first + 1
    needed = max(getattr(pd_stack, role).gpus_per_pod for role in PD_ROLES) * UCX_LISTENERS_PER_GPU
    range_key = f"{key}.kvTransfer.ucxPortRange"
    if size < needed:
        return [
            Problem(
                range_key,
                transfer.ucx_port_range,
                f"holds {size} ports, but a pod opens {needed} UCX listeners "
                f"({UCX_LISTENERS_PER_GPU} per GPU) and UCX retries forever once the range is full",
                f"widen it to at least {needed} ports, e.g. {first}-{first + 2 * needed - 1}",
            )
        ]
    taken = {"kvTransfer.sideChannelPort": transfer.side_channel_port}
    taken |= {f"{role}.service.port": getattr(pd_stack, role).service.port for role in PD_ROLES}
    return [
        Problem(
            range_key,
            transfer.ucx_port_range,
            f"includes {name} {port}",
            f"move the range off {port}",
        )
        for name, port in taken.items()
        if first <= port <= last
    ]


def pd_stack_problems(stack: StackConfig) -> list[Problem]:
    """Rules that make a prefill/decode stack impossible to mis-wire."""
    problems = []
    for name, pd_stack in stack.pd_stacks.items():
        key = f"pdStacks.{name}"
        prefill, decode = pd_stack.prefill, pd_stack.decode
        if decode.model != prefill.model:
            problems.append(
                Problem(
                    f"{key}.decode.model",
                    decode.model,
                    f"differs from prefill's model {prefill.model}; KV caches only transfer "
                    "between the same model",
                    "serve the same model in both roles",
                )
            )
        elif decode.served_name != prefill.served_name:
            problems.append(
                Problem(
                    f"{key}.decode.servedModelName",
                    decode.served_name,
                    f"differs from prefill's {prefill.served_name!r}; the router sends one "
                    "request body to both",
                    "use the same servedModelName in both roles",
                )
            )
        if decode.lora != prefill.lora:
            problems.append(
                Problem(
                    f"{key}.decode.lora",
                    None,
                    "differs from prefill's lora; the router sends a request for an adapter to "
                    "both roles, so both must serve the same adapters with the same slots",
                    "give both roles the same lora section",
                )
            )
        problems += ucx_port_problems(key, pd_stack)
        for role in PD_ROLES:
            pool: PoolConfig = getattr(pd_stack, role)
            if pool.block_size is not None and pool.block_size != pd_stack.block_size:
                problems.append(
                    Problem(
                        f"{key}.{role}.blockSize",
                        pool.block_size,
                        "is set per role, but both roles must page the KV cache alike",
                        f"remove it and set {key}.blockSize",
                    )
                )
        if pd_stack.router.discovery == "pods" and prefill.service.port != decode.service.port:
            problems.append(
                Problem(
                    f"{key}.decode.service.port",
                    decode.service.port,
                    f"differs from prefill's port {prefill.service.port}, but with discovery "
                    "'pods' the router reaches every pod on one port (--service-discovery-port)",
                    f"use port {prefill.service.port} in both roles, or set "
                    f"{key}.router.discovery to 'services'",
                )
            )
        problems += input_problems(
            f"{key}.router.extraArgs", router_extra_args_problems(pd_stack.router.extra_args)
        )
    return problems


def input_problems(key: str, found: list[InputProblem]) -> list[Problem]:
    """Problems of extraArgs/env entries, at the entry's key; their text is never shown."""
    return [Problem(f"{key}{item.where}", None, item.reason, item.fix, show_value=False) for item in found]


def tensor_parallelism_fits_heads(arch: ModelArchitecture, tensor_parallel_size: int) -> bool:
    """vLLM's rule: attention heads divide by TP; KV heads divide by TP, or (when fewer)
    TP divides by them and each is replicated. MLA caches one latent, shared by all."""
    if arch.num_attention_heads % tensor_parallel_size:
        return False
    if arch.attention == "mla":
        return True
    kv_heads = arch.num_kv_heads
    if kv_heads >= tensor_parallel_size:
        return kv_heads % tensor_parallel_size == 0
    return tensor_parallel_size % kv_heads == 0


def closest(name: str, choices: list[str], count: int = 5) -> list[str]:
    """The choices most like `name` (a typo's fix first), then the first ones, `count` in all."""
    close = difflib.get_close_matches(name, choices, n=count, cutoff=0.5)
    return (close + [c for c in choices if c not in close])[:count]


def _chunked_prefill_disabled(extra_args: list[str]) -> bool:
    normalized = [arg.replace("_", "-").lower() for arg in extra_args]
    return "--no-enable-chunked-prefill" in normalized or "--enable-chunked-prefill=false" in normalized


class PoolChecker:
    """Checks one pool; collects problems instead of stopping at the first.

    `name` is the deployed pool's name; `key` is where its config lives
    (`pools.<name>` or `pdStacks.<stack>.<role>`).
    """

    def __init__(self, stack: StackConfig, name: str, pool: PoolConfig, key: str):
        self.stack = stack
        self.name = name
        self.key = key
        self.pool = pool
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.layout: parallel_layout.PoolLayout | None = None
        self.node: parallel_layout.NodeSize | None = None

    def _problem(self, key: str, value: object, reason: str, fix: str) -> None:
        self.problems.append(Problem(f"{self.key}.{key}", value, reason, fix))

    def check(self) -> PoolCapacity | None:
        pool = self.pool
        arch = self._model()
        gpus = self._accepted_gpus()
        self._extra_args()
        if arch is None or not gpus:
            return None
        # The pod must fit on any of them: sizing uses the one with the least memory.
        gpu_product, gpu = min(gpus.items(), key=lambda item: item[1].torch_visible_mib)
        max_model_len = pool.max_model_len or arch.max_context
        checks = [
            self._parallelism(arch, gpu_product, gpu),
            self._context(arch, max_model_len),
            self._quantization(arch),
            self._gpu_support(arch, gpus),
            self._scheduler(gpus, max_model_len),
            self._kv_offload(),
            self._lora(arch),
        ]
        if not all(checks):
            return None
        return self._fit(arch, gpu_product, gpu, max_model_len)

    def _kv_offload(self) -> bool:
        """The offload buffer is vLLM's KV connector, and it lives in the pod's memory."""
        offload = self.pool.kv_offload
        if offload is None:
            return True
        if self.key.startswith("pdStacks."):
            # vllm/config/vllm.py:645-677 (0.19.1): the offload backend becomes the
            # kv_transfer_config's connector, replacing the role's NixlConnector.
            self._problem(
                "kvOffload",
                offload.backend,
                "vLLM turns KV offloading into the pod's KV connector (OffloadingConnector or "
                "LMCacheConnectorV1), which would replace the NixlConnector that hands the KV "
                "cache from prefill to decode",
                "remove kvOffload from the prefill and decode roles; offload on a pool of its own",
            )
            return False
        node_memory = self.stack.gpu.node_memory
        nodes = self.layout.nodes_per_replica if self.layout else 1
        needed = self.pool.container_memory(nodes)
        if node_memory is not None and quantity_value(needed) > quantity_value(node_memory):
            share = f", split over {nodes} nodes" if nodes > 1 else ""
            self._problem(
                "kvOffload.sizeGib",
                offload.size_gib,
                f"each pod then needs {needed} of memory (resources.memory {self.pool.resources.memory} "
                f"plus {offload.size_gib:g} GiB of offload buffer{share}), "
                f"more than a GPU node holds (gpu.nodeMemory {node_memory})",
                "lower kvOffload.sizeGib or resources.memory, or set gpu.nodeMemory to the GPU nodes' "
                "allocatable memory if it is larger",
            )
            return False
        return True

    def _lora(self, arch: ModelArchitecture) -> bool:
        """Each adapter fits the base model and the slots vLLM allocates for it."""
        lora = self.pool.lora
        if lora is None:
            return True
        if not arch.supports_lora:
            self._problem(
                "lora",
                f"{len(lora.adapters)} adapter(s)",
                f"vLLM 0.19.1 implements no LoRA for {self.pool.model}'s architecture, so --enable-lora "
                "fails at start-up",
                "serve the adapters on a model vLLM supports LoRA for, or merge each adapter into its own "
                "copy of the model and serve that as a pool (a model you describe under llm-serving:models "
                "says so with supportsLora)",
            )
            return False
        if arch.vocab_size > LORA_MAX_VOCAB:
            self._problem(
                "lora",
                f"{len(lora.adapters)} adapter(s)",
                f"vLLM 0.19.1 refuses LoRA on a model whose vocabulary exceeds {LORA_MAX_VOCAB} tokens, "
                f"and {self.pool.model} has {arch.vocab_size}",
                "serve the adapters on a model with a smaller vocabulary, or merge each adapter into "
                "its own copy of the model and serve that as a pool",
            )
            return False
        ok = True
        for name, adapter in lora.adapters.items():
            key = f"lora.adapters.{name}"
            if name == self.pool.served_name:
                self._problem(
                    key,
                    name,
                    "is the pool's own served model name, so requests for the base model would "
                    "reach the adapter (or the other way round)",
                    "rename the adapter",
                )
                ok = False
            if adapter.base_model != self.pool.model:
                self._problem(
                    f"{key}.baseModel",
                    adapter.base_model,
                    f"the adapter was trained on {adapter.base_model}, and this pool serves "
                    f"{self.pool.model}: its weights would not fit the pool's layers",
                    f"serve it from a pool of {adapter.base_model}, or use an adapter trained on "
                    f"{self.pool.model}",
                )
                ok = False
            if adapter.rank > lora.rank:
                larger = next(rank for rank in LORA_RANKS if rank >= adapter.rank)
                self._problem(
                    f"{key}.rank",
                    adapter.rank,
                    f"exceeds lora.maxLoraRank {lora.rank}: vLLM refuses to load an adapter "
                    "whose rank is above the rank its slots are allocated for",
                    f"raise lora.maxLoraRank to {larger} (or unset it), or use a lower-rank adapter",
                )
                ok = False
        if lora.max_cpu_loras is not None and lora.max_cpu_loras < lora.slots:
            self._problem(
                "lora.maxCpuLoras",
                lora.max_cpu_loras,
                f"is below lora.maxLoras ({lora.slots}); vLLM refuses to start, since every "
                "adapter in a GPU slot is also kept in CPU memory",
                f"set lora.maxCpuLoras to at least {lora.slots}, or unset it",
            )
            ok = False
        if arch.routed_experts or arch.attention == "mla":
            layout = f"{arch.routed_experts} experts a layer" if arch.routed_experts else "MLA attention"
            self.warnings.append(
                f"{self.key}.lora: sizing counts the adapter slots of {self.pool.model} ({layout}) "
                "as a dense Llama-style model's; vLLM also gives every expert (and MLA's own "
                "projections) its slots, which the KV cache figure does not subtract: set overheadGib "
                "to keep a margin"
            )
        if lora.slots > len(lora.adapters) and not lora.runtime_loading:
            self.warnings.append(
                f"{self.key}.lora: maxLoras {lora.slots} reserves GPU memory for more adapters than the "
                f"{len(lora.adapters)} listed, and runtimeLoading is off: lower maxLoras to "
                f"{len(lora.adapters)} and give the memory to the KV cache"
            )
        return ok

    def _model(self) -> ModelArchitecture | None:
        catalog = self.stack.model_catalog
        arch = catalog.get(self.pool.model)
        if arch is None:
            self._problem(
                "model",
                self.pool.model,
                "is not in the model catalog",
                "describe it under llm-serving:models, or use a catalog model such as "
                + ", ".join(closest(self.pool.model, sorted(catalog))),
            )
        return arch

    def _accepted_gpus(self) -> dict[str, GpuModel]:
        """The GPUs this pool's pods may land on (empty, with a problem, when unknown)."""
        products = self.stack.accepted_products(self.pool)
        catalog = self.stack.gpu_catalog
        if not products:
            self._problem(
                "gpuProducts",
                None,
                "no accepted GPU products for this pool",
                "set llm-serving:gpu.products, or gpuProducts on the pool, to nvidia.com/gpu.product "
                f"label values such as {', '.join(sorted(catalog)[:4])}",
            )
            return {}
        unknown = [p for p in products if p not in catalog]
        if unknown:
            self._problem(
                "gpuProducts",
                products,
                f"{', '.join(unknown)} not in the GPU catalog",
                f"use known labels ({', '.join(sorted(catalog))}) or describe the GPU under "
                "llm-serving:gpus with its memoryMib",
            )
            return {}
        return {product: catalog[product] for product in products}

    def _extra_args(self) -> None:
        self.problems += input_problems(f"{self.key}.extraArgs", extra_args_problems(self.pool.extra_args))
        speculating = [a for a in self.pool.extra_args if flag_name(a) in ("--speculative-config", "-sc")]
        if self.pool.speculative is not None and speculating:
            self._problem(
                "extraArgs",
                speculating[0],
                "sets --speculative-config, which the pool's `speculative` section already renders",
                "remove one of them: `speculative` for n-gram lookup, extraArgs for other methods",
            )
        multi_node = self.pool.multi_node
        interfaces_set = multi_node.nccl_socket_ifname or multi_node.gloo_socket_ifname
        self.problems += input_problems(
            f"{self.key}.env", check_env(self.pool.env, MULTI_NODE_ENV if interfaces_set else None)
        )

    def cache_user(self) -> CacheUser | None:
        """The pool's pods and GPUs as the model cache sees them (after `check`), or None
        when its layout is unknown (its model or GPUs are, and that is reported)."""
        if self.layout is None or self.node is None:
            return None
        return CacheUser(
            key=self.key,
            count_key="replicas" if self.pool.autoscaling.mode == "none" else "autoscaling.maxReplicas",
            pods=self.pool.max_pods * self.layout.nodes_per_replica,
            gpus_per_pod=self.layout.gpus_per_pod,
            nodes_per_replica=self.layout.nodes_per_replica,
            node_gpus=self.node.gpus,
            node_source=self.node.source,
        )

    def _parallelism(self, arch: ModelArchitecture, product: str, gpu: GpuModel) -> bool:
        pool = self.pool
        limit = self.stack.gpu.max_gpus_per_node
        node = parallel_layout.node_size(pool, product, gpu, limit)
        self.node = node
        self.layout = parallel_layout.layout_for(pool, node)
        layout_problems = parallel_layout.split_problems(self.key, pool, arch) + (
            parallel_layout.multi_node_problems(
                self.key,
                pool,
                self.stack.accepted_products(pool),
                self.stack.gpu_catalog,
                node,
                in_pd_stack=self.key.startswith("pdStacks."),
            )
        )
        self.problems += layout_problems
        ok = not layout_problems
        if parallel_layout.tensor_parallelism_spans_nodes(pool, self.layout):
            self.warnings.append(
                f"{self.key}: tensorParallelSize {pool.tensor_parallel_size} spans nodes of "
                f"{self.layout.gpus_per_pod} GPUs; tensor parallelism all-reduces every layer over the "
                "network. Prefer tensorParallelSize = GPUs per node and pipelineParallelSize = nodes"
            )
        if not tensor_parallelism_fits_heads(arch, pool.tensor_parallel_size):
            valid = [tp for tp in range(1, limit + 1) if tensor_parallelism_fits_heads(arch, tp)]
            heads = f"{arch.num_attention_heads} attention heads"
            if arch.attention != "mla":
                heads += f" and {arch.num_kv_heads} KV heads"
            self._problem(
                "tensorParallelSize",
                pool.tensor_parallel_size,
                f"{pool.model} has {heads}, which {pool.tensor_parallel_size} GPUs cannot split "
                "evenly (vLLM refuses to start: attention heads must divide by it, and KV heads "
                "divide by it or it by them)",
                f"use one of {', '.join(map(str, valid))}",
            )
            ok = False
        return ok

    def _context(self, arch: ModelArchitecture, max_model_len: int) -> bool:
        if max_model_len > arch.max_context:
            self._problem(
                "maxModelLen",
                max_model_len,
                f"{self.pool.model} supports at most {arch.max_context} tokens of context",
                f"use {arch.max_context} or less",
            )
            return False
        return True

    def _quantization(self, arch: ModelArchitecture) -> bool:
        requested = self.pool.quantization
        if requested is None:
            return True
        if arch.quantization is not None:
            allowed = _COMPATIBLE_QUANTIZATION[arch.quantization]
            if requested not in allowed:
                self._problem(
                    "quantization",
                    requested,
                    f"{self.pool.model} is a pre-quantized {arch.quantization} checkpoint",
                    f"remove the key (vLLM reads it from the checkpoint) or use one of {sorted(allowed)}",
                )
                return False
            return True
        if requested not in _ONLINE_QUANTIZATION:
            self._problem(
                "quantization",
                requested,
                f"{requested} needs a pre-quantized checkpoint and {self.pool.model} is not one",
                f"use quantization fp8 (vLLM quantizes on the fly) or a model that ships {requested} weights",
            )
            return False
        return True

    def _gpu_support(self, arch: ModelArchitecture, gpus: dict[str, GpuModel]) -> bool:
        """dtype, quantization and KV-cache dtype on every accepted GPU."""
        pool = self.pool
        quantization = pool.quantization or arch.quantization
        found = []
        for product, gpu in sorted(gpus.items()):
            # 'auto' takes the checkpoint's dtype; vLLM falls back to float16 where
            # bfloat16 is missing, so only an explicit bfloat16 is an error.
            dtype = pool.dtype
            if dtype == "auto":
                dtype = arch.default_dtype if gpu.supports_bfloat16 else "float16"
            found += unsupported_settings(
                product, gpu.compute_capability, dtype, quantization, pool.kv_cache_dtype
            )
        reported: set[str] = set()
        for item in found:
            if item.key not in reported:  # one problem per key: the first GPU that fails it
                reported.add(item.key)
                self._problem(item.key, item.value, item.reason, item.fix)
        return not found

    def _scheduler(self, gpus: dict[str, GpuModel], max_model_len: int) -> bool:
        """vLLM's scheduler limits, with its per-GPU defaults for what is unset."""
        pool = self.pool
        ok = True
        for product, gpu in sorted(gpus.items()):
            default_tokens, default_seqs = sizing.scheduler_defaults(gpu)
            tokens = pool.max_num_batched_tokens or default_tokens
            seqs = pool.max_num_seqs or default_seqs
            if seqs > tokens:
                key = "maxNumSeqs" if pool.max_num_seqs else "maxNumBatchedTokens"
                default_on = "" if pool.max_num_batched_tokens else f", vLLM's default on {product}"
                self._problem(
                    key,
                    pool.max_num_seqs or pool.max_num_batched_tokens,
                    f"maxNumSeqs ({seqs}) exceeds maxNumBatchedTokens ({tokens}{default_on}); "
                    "vLLM refuses to start, since every running sequence needs a token per step",
                    f"set maxNumSeqs to at most {tokens}, or raise maxNumBatchedTokens to at least {seqs}",
                )
                return False
            if _chunked_prefill_disabled(pool.extra_args) and tokens < max_model_len:
                self._problem(
                    "maxNumBatchedTokens",
                    tokens,
                    f"is below maxModelLen ({max_model_len}) with chunked prefill disabled in extraArgs; "
                    "vLLM refuses to start, since a prompt must fit one batch",
                    f"raise maxNumBatchedTokens to {max_model_len} or keep chunked prefill enabled",
                )
                ok = False
                break
        return ok

    def _shape(self, arch: ModelArchitecture, gpu: GpuModel, max_model_len: int) -> sizing.PodShape:
        pool = self.pool
        release = sizing.vllm_release(self.stack.image_for(self.name))
        if release is not None and release not in sizing.PROFILER_CONSTANTS:
            self.warnings.append(
                f"{self.key}: sizing reproduces vLLM {sizing.PINNED_VLLM_RELEASE}'s memory profiler; "
                f"image {self.stack.image_for(self.name)} is vLLM {release}, whose activation and "
                "non-torch memory may differ (raise overheadGib to keep a margin)"
            )
        return sizing.pod_shape(
            arch,
            gpu,
            max_model_len=max_model_len,
            gpu_memory_utilization=pool.gpu_memory_utilization,
            tensor_parallel_size=pool.tensor_parallel_size,
            pipeline_parallel_size=pool.pipeline_parallel_size,
            dtype=pool.dtype,
            quantization=pool.quantization,
            kv_cache_dtype=pool.kv_cache_dtype,
            block_size=pool.block_size,
            max_num_batched_tokens=pool.max_num_batched_tokens,
            max_num_seqs=pool.max_num_seqs,
            margin_gib=pool.overhead_gib,
            release=release or sizing.PINNED_VLLM_RELEASE,
            lora=pool.lora,
        )

    def _cuda_graph_headroom(self, product: str, memory: MemoryTerms) -> None:
        """vLLM 0.19 captures CUDA graphs after the KV cache, outside gpuMemoryUtilization."""
        outside = memory.total * (1 - memory.gpu_memory_utilization)
        if outside < sizing.CUDA_GRAPH_GIB:
            self.warnings.append(
                f"{self.key}: gpuMemoryUtilization {memory.gpu_memory_utilization} leaves "
                f"{outside:.2f} GiB of {product} outside vLLM's pool, but vLLM "
                f"{sizing.PINNED_VLLM_RELEASE} captures CUDA graphs there (up to "
                f"{sizing.CUDA_GRAPH_GIB} GiB in its start-up logs): start-up may run out of memory; "
                "lower gpuMemoryUtilization or add --enforce-eager to extraArgs"
            )

    def _fit(
        self, arch: ModelArchitecture, product: str, gpu: GpuModel, max_model_len: int
    ) -> PoolCapacity | None:
        pool = self.pool
        shape = self._shape(arch, gpu, max_model_len)
        capacity = sizing.pod_capacity(shape)
        memory = MemoryTerms.of(capacity)
        if capacity.fits:
            self._cuda_graph_headroom(product, memory)
            return PoolCapacity(
                pool=self.name,
                model=pool.model,
                gpu_product=product,
                pods=pool.max_pods,
                gpus_per_pod=pool.gpus_per_pod,
                max_model_len=max_model_len,
                kv_cache_tokens_per_pod=capacity.kv_cache_tokens,
                max_concurrent_full_sequences=capacity.max_concurrent_full_sequences,
                memory=memory,
                layout=self.layout,
            )
        budget = f"on {product} ({gpu.torch_visible_mib} MiB visible to vLLM): {memory.describe()}"
        online_ok = arch.quantization is None and pool.quantization is None
        fixes = sizing.remedies(shape, self.stack.gpu.max_gpus_per_node, self.stack.gpu_catalog, online_ok)
        fix = (
            "set " + " or ".join(fixes)
            if fixes
            else ("no single change fits it: combine more tensor parallelism, quantization and a larger GPU")
        )
        if not capacity.weights_fit:
            self._problem(
                "tensorParallelSize",
                pool.tensor_parallel_size,
                f"{pool.model} does not fit: {budget}; the weights alone need "
                f"{memory.weights:.1f} GiB per GPU",
                fix,
            )
        else:
            needed = capacity.blocks_for(max_model_len) * capacity.kv_layout.block_bytes / sizing.GIB
            self._problem(
                "maxModelLen",
                max_model_len,
                f"vLLM would refuse to start, its KV cache cannot hold one full sequence: {budget} "
                f"({capacity.kv_cache_tokens} tokens), but {max_model_len} tokens need "
                f"{needed:.2f} GiB",
                fix,
            )
        return None
