"""Names of the Kubernetes objects and environment variables the program generates.

One function or constant per generated name, used both by the components that
create the objects and by validation, which refuses configs where two objects would
share a name or where `env` would override a generated variable. Pure.
"""

from __future__ import annotations

# Kubernetes object names we derive from pool names must stay DNS labels
# (63 characters). The longest suffix we add is "-prefetch" (9), so pool names are
# capped to leave room for it.
MAX_POOL_NAME_LENGTH = 40
PD_ROLES = ("prefill", "decode")

# The Secret the program creates for `hfToken`, and the claim every pool shares in
# `hostPath` and `longhorn` cache modes.
HF_TOKEN_SECRET_NAME = "hf-token"
SHARED_CLAIM_NAME = "model-cache"


def role_pool_name(pd_stack_name: str, role: str) -> str:
    """The pool (Deployment, Service) that serves one role of a P/D stack."""
    return f"{pd_stack_name}-{role}"


def router_name(pd_stack_name: str) -> str:
    """The router's Deployment, Service, PDB and (pod discovery) RBAC objects."""
    return f"{pd_stack_name}-router"


def pool_claim_name(pool_name: str) -> str:
    """The claim of one pool in `pvc` cache mode."""
    return f"{pool_name}-model-cache"


def epp_name(pool_name: str) -> str:
    """The endpoint picker (Deployment, Service, RBAC, ConfigMap) of a routed pool."""
    return f"{pool_name}-epp"


def prefetch_job_name(pool_name: str) -> str:
    """The Job that downloads a pool's model into its claim."""
    return f"{pool_name}-prefetch"


def adapters_job_name(pool_name: str) -> str:
    """The Job that downloads a pool's LoRA adapters into its claim."""
    return f"{pool_name}-adapters"


# Environment variables the program sets in pods. `env` may not override them: the
# program's value is what makes the pod work (the cache location, the side channel)
# or what keeps a credential in its Secret.
HF_TOKEN_ENV = "HF_TOKEN"
API_KEY_ENV = "VLLM_API_KEY"
# vllm-router 0.1.17's P/D router sends its workers `Bearer $OPENAI_API_KEY`
# (src/routers/http/vllm_pd_router.rs); without it every completion is a 401.
ROUTER_WORKER_KEY_ENV = "OPENAI_API_KEY"
# Where the router (its binary, vllm-router src/main.rs) checks each client's bearer token:
# a comma-separated list of URLs, one GET each with the client's Authorization header.
ROUTER_KEY_VALIDATION_ENV = "API_KEY_VALIDATION_URLS"
HF_HOME_ENV = "HF_HOME"
# Pools served from a directory or a prefetched hub cache never call the hub.
HF_HUB_OFFLINE_ENV = "HF_HUB_OFFLINE"
NIXL_SIDE_CHANNEL_HOST_ENV = "VLLM_NIXL_SIDE_CHANNEL_HOST"
NIXL_SIDE_CHANNEL_PORT_ENV = "VLLM_NIXL_SIDE_CHANNEL_PORT"
# UCX (NIXL's transport) listens for KV data over TCP only in this range (UCX 1.10+).
UCX_TCP_PORT_RANGE_ENV = "UCX_TCP_PORT_RANGE"
# vLLM loads and unloads LoRA adapters at run time (/v1/load_lora_adapter) only with
# this set (vllm/envs.py, 0.19.1).
RUNTIME_LORA_ENV = "VLLM_ALLOW_RUNTIME_LORA_UPDATING"
# Model-server pods run on a read-only root: a writable HOME and /tmp (emptyDirs), and
# these variables pointing each library there (components/security/pod_security.py).
# A home no image ships: mounted empty, owned by fsGroup.
HOME = "/home/llm-serving"
TMP = "/tmp"
USER_NAME = "llm-serving"
CACHE = f"{HOME}/.cache"

# Where each library writes, all inside the writable HOME (see the module docstring).
CACHE_ENV = {
    "HOME": HOME,
    # getpass.getuser() reads USER before the passwd database, which has no entry
    # for our UID; TorchInductor's default cache path calls it.
    "USER": USER_NAME,
    "TMPDIR": TMP,
    "XDG_CACHE_HOME": CACHE,
    "XDG_CONFIG_HOME": f"{HOME}/.config",
    "VLLM_CACHE_ROOT": f"{CACHE}/vllm",
    "VLLM_CONFIG_ROOT": f"{HOME}/.config/vllm",
    "TRITON_CACHE_DIR": f"{CACHE}/triton",
    "TORCHINDUCTOR_CACHE_DIR": f"{CACHE}/torchinductor",
    "FLASHINFER_WORKSPACE_BASE": HOME,
    "CUDA_CACHE_PATH": f"{CACHE}/nv/ComputeCache",
    "NUMBA_CACHE_DIR": f"{CACHE}/numba",
    "OUTLINES_CACHE_DIR": f"{CACHE}/outlines",
}


# Model pods talk to the model hub only: no usage reports to vLLM's stats server, no
# Hugging Face telemetry (vllm/envs.py VLLM_NO_USAGE_STATS; huggingface_hub constants).
NO_TELEMETRY_ENV = {"VLLM_NO_USAGE_STATS": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
HF_TOKEN_PATH_ENV = "HF_TOKEN_PATH"

# Multi-node groups: the interfaces NCCL and Gloo use (from multiNode), and what the
# LeaderWorkerSet webhook injects into every pod of a group.
NCCL_SOCKET_IFNAME_ENV = "NCCL_SOCKET_IFNAME"
GLOO_SOCKET_IFNAME_ENV = "GLOO_SOCKET_IFNAME"
LWS_INJECTED_ENV = ("LWS_LEADER_ADDRESS", "LWS_GROUP_SIZE", "LWS_WORKER_INDEX", "LWS_NAME", "LWS_GROUP_INDEX")
# Variable -> the config key that owns its value. The NCCL/Gloo interface variables
# are generated only when multiNode names an interface (see `generated_env`).
GENERATED_ENV: dict[str, str] = {
    HF_TOKEN_ENV: "llm-serving:hfToken or huggingFace.existingSecret",
    API_KEY_ENV: "llm-serving:auth",
    HF_HOME_ENV: "llm-serving:modelCache.mountPath",
    HF_HUB_OFFLINE_ENV: "llm-serving:modelCache.prefetch.enabled or pools.<name>.source (served offline)",
    NIXL_SIDE_CHANNEL_HOST_ENV: "(always the pod IP)",
    NIXL_SIDE_CHANNEL_PORT_ENV: "pdStacks.<name>.kvTransfer.sideChannelPort",
    UCX_TCP_PORT_RANGE_ENV: "pdStacks.<name>.kvTransfer.ucxPortRange",
    RUNTIME_LORA_ENV: "pools.<name>.lora.runtimeLoading",
    HF_TOKEN_PATH_ENV: "llm-serving:hfToken or huggingFace.existingSecret (mounted as a file)",
    **{name: "llm-serving:podSecurity (scratch and caches on a read-only root)" for name in CACHE_ENV},
    **{name: "(telemetry stays off)" for name in NO_TELEMETRY_ENV},
    **{name: "(set by the LeaderWorkerSet controller)" for name in LWS_INJECTED_ENV},
}
# Refused in env although no component renders them: the webhook's, and HF_TOKEN, which
# would take precedence over the token file.
RESERVED_ENV = (HF_TOKEN_ENV, *LWS_INJECTED_ENV)
MULTI_NODE_ENV: dict[str, str] = {
    NCCL_SOCKET_IFNAME_ENV: "multiNode.ncclSocketIfname",
    GLOO_SOCKET_IFNAME_ENV: "multiNode.glooSocketIfname",
}
