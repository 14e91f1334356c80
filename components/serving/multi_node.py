"""What the pods of a multi-node vLLM group run: a Ray cluster per group, vLLM on
its leader.

LeaderWorkerSet starts one leader and `size - 1` workers per group and tells each
pod where the leader is (LWS_LEADER_ADDRESS) and how big the group is
(LWS_GROUP_SIZE); both are injected by its pod webhook
(sigs.k8s.io/lws v0.9.0, api/leaderworkerset/v1/leaderworkerset_types.go). vLLM
spans nodes through Ray (`--distributed-executor-backend ray`): the leader starts the
Ray head, waits until every worker has joined, then runs `vllm serve`, which places
its tensor/pipeline ranks on the group's GPUs. Workers only run a Ray node. This
follows the LWS vLLM example (docs/examples/vllm/GPU/lws.yaml at v0.9.0), written out
here so that nothing depends on a script inside the image.

Pure builders: no resources are registered here.
"""

from __future__ import annotations

import pulumi_kubernetes as k8s

from config.names import GLOO_SOCKET_IFNAME_ENV, NCCL_SOCKET_IFNAME_ENV
from config.serving.sections import MultiNodeConfig

LEADER = "leader"
WORKER = "worker"

# "$@" carries the `vllm serve` arguments, so they stay a list (no shell quoting).
_LEADER_SCRIPT = """set -eu
ray start --head --port={port} --disable-usage-stats
# vLLM places its ranks when it starts: wait until every pod of the group has joined.
until [ "$(python3 -c 'import ray; ray.init(address="auto", logging_level="ERROR"); \
print(sum(1 for n in ray.nodes() if n["Alive"]))')" -ge "$LWS_GROUP_SIZE" ]; do
  echo "waiting for $LWS_GROUP_SIZE Ray nodes"; sleep 5
done
exec vllm serve "$@"
"""

# A worker that exits restarts the whole group (RecreateGroupOnPodRestart), so it
# waits for the head instead of failing while the leader is still starting.
_WORKER_SCRIPT = """set -eu
until ray health-check --address "$LWS_LEADER_ADDRESS:{port}" >/dev/null 2>&1; do
  echo "waiting for the Ray head at $LWS_LEADER_ADDRESS:{port}"; sleep 5
done
exec ray start --address="$LWS_LEADER_ADDRESS:{port}" --block --disable-usage-stats
"""


def leader_command(config: MultiNodeConfig) -> list[str]:
    """The leader's command; its args are `vllm serve`'s (model first)."""
    return ["bash", "-c", _LEADER_SCRIPT.format(port=config.ray_port), "vllm-leader"]


def worker_command(config: MultiNodeConfig) -> list[str]:
    return ["bash", "-c", _WORKER_SCRIPT.format(port=config.ray_port)]


def ray_args() -> list[str]:
    """Added to `vllm serve`: ranks on the group's Ray cluster."""
    return ["--distributed-executor-backend", "ray"]


def network_env(config: MultiNodeConfig) -> list[k8s.core.v1.EnvVarArgs]:
    """The interfaces NCCL and Gloo talk between nodes on, when the config names them."""
    variables = {
        NCCL_SOCKET_IFNAME_ENV: config.nccl_socket_ifname,
        GLOO_SOCKET_IFNAME_ENV: config.gloo_interface,
    }
    return [k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in variables.items() if v]
