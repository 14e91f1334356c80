"""How long a vLLM pod may take to start: the startup probe's budget, from the model's size.

A fixed budget fails large models: a 405B checkpoint that vLLM downloads itself needs
hours before its first /health, and the startup probe would restart it in a loop,
each restart downloading again. So, unless `probes.startupTimeoutSeconds` is set, the
budget is what the pod has to do, at rates chosen to be slow rather than typical:

- ENGINE_SECONDS for everything but weights: the engine process, torch.compile and
  CUDA graph capture (a few minutes on a warm cache; more on a cold compile cache);
- the whole checkpoint read from the cache volume at LOAD_MIB_PER_SECOND (network
  volumes such as Longhorn or NFS deliver a few hundred MiB/s; local NVMe far more);
- when the pod downloads the weights itself (no prefetch Job filled the cache first),
  the checkpoint again at DOWNLOAD_MIB_PER_SECOND from the hub.

never below the floor (1800 s, 3600 s for a multi-node group, whose nodes also form a
Ray cluster and an NCCL ring). Examples at these rates: Llama-3.1-8B (15 GiB) gets
the 1800 s floor; Llama-3.1-70B in bf16 (131 GiB) gets 1800 s when prefetched and
3960 s when downloading; Llama-3.1-405B in FP8 (~380 GiB) gets 2580 s prefetched and
10380 s (2.9 h) downloading.

Pure: no Pulumi imports.
"""

from __future__ import annotations

import math

ENGINE_SECONDS = 600
LOAD_MIB_PER_SECOND = 200
DOWNLOAD_MIB_PER_SECOND = 50
FLOOR_SECONDS = 1800
MULTI_NODE_FLOOR_SECONDS = 3600
# Pools whose pods download more than this themselves get a preview warning: at
# DOWNLOAD_MIB_PER_SECOND that is over 10 minutes a replica, repeated by every
# replica and every restart, against one prefetch Job.
PREFETCH_ADVISED_GIB = 30


def derived_startup_seconds(weights_gib: float, downloads: bool, multi_node: bool) -> int:
    """The budget for a checkpoint of `weights_gib`, rounded up to a whole minute."""
    mib = weights_gib * 1024
    seconds = ENGINE_SECONDS + mib / LOAD_MIB_PER_SECOND
    if downloads:
        seconds += mib / DOWNLOAD_MIB_PER_SECOND
    floor = MULTI_NODE_FLOOR_SECONDS if multi_node else FLOOR_SECONDS
    return max(floor, math.ceil(seconds / 60) * 60)


def prefetch_warnings(downloading: dict[str, float]) -> list[str]:
    """A warning per pool (config key -> checkpoint GiB) whose pods would download more
    than PREFETCH_ADVISED_GIB themselves."""
    return [
        f"llm-serving:{key}: every pod downloads its {weights:.0f} GiB checkpoint itself at start "
        f"(startup budget {derived_startup_seconds(weights, True, False)} s at "
        f"{DOWNLOAD_MIB_PER_SECOND} MiB/s, again on each restart); set "
        "llm-serving:modelCache.prefetch.enabled: true to download it once, before the pods start"
        for key, weights in downloading.items()
        if weights > PREFETCH_ADVISED_GIB
    ]
