"""vllm-router arguments for a prefill/decode stack, rendered once from config.

Flags are the router's current ones (vllm-router 0.1.x, `router_args.py`):
`--vllm-pd-disaggregation` (not SGLang's `--pd-disaggregation`), and `--host` /
`--prometheus-host` 0.0.0.0, because both default to 127.0.0.1, which nothing outside
the pod can reach. The test suite feeds the result to the installed router's parser.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.escape_hatches import FlagParser, InputProblem, check_arguments
from config.serving.sections import PDStackConfig

# Kubernetes expands $(VAR) in args from the container's env, so the key stays in
# its Secret and never appears in the manifest.
API_KEY_ARG = "$(VLLM_API_KEY)"
# vLLM's connector class -> the router's --kv-connector value.
ROUTER_KV_CONNECTOR = {"NixlConnector": "nixl"}

ROUTER_TYPED_FLAGS: dict[str, str] = {
    "--vllm-pd-disaggregation": "(always on for a P/D stack)",
    "--host": "(always 0.0.0.0)",
    "--port": "router.service.port",
    "--prometheus-host": "(always 0.0.0.0)",
    "--prometheus-port": "router.metricsPort",
    "--policy": "router.policy",
    "--prefill-policy": "router.prefillPolicy",
    "--decode-policy": "router.decodePolicy",
    "--kv-connector": "kvTransfer.connector",
    "--request-timeout-secs": "router.requestTimeoutSeconds",
    "--service-discovery": "router.discovery",
    "--service-discovery-namespace": "router.discovery",
    "--service-discovery-port": "router.discovery",
    "--prefill-selector": "router.discovery",
    "--decode-selector": "router.discovery",
    "--selector": "router.discovery",
    "--prefill": "router.discovery",
    "--decode": "router.discovery",
    "--worker-urls": "router.discovery",
    "--intra-node-data-parallel-size": "router.intraNodeDataParallelSize",
    "--api-key": "llm-serving:auth",
}


@dataclass(frozen=True)
class RoleEndpoint:
    """Where the router finds one role: its pods' labels, its Service, its port."""

    selector: dict[str, str]
    service_url: str
    port: int


def _router_flag(flag: str) -> str | None:
    """vllm-router's parser is plain argparse: no `_` to `-` (so `--policy_x` is an
    unknown flag and the router exits), but unique prefixes are expanded."""
    return None if "_" in flag else flag


ROUTER_PARSER = FlagParser(
    program="vllm-router",
    owned=ROUTER_TYPED_FLAGS,
    normalize=_router_flag,
    spelling_fix="write the flag with '-' (vllm-router's parser does not turn '_' into '-')",
)


def router_extra_args_problems(extra_args: list[str]) -> list[InputProblem]:
    """Problems of a router's extraArgs (see escape_hatches.py)."""
    return check_arguments(extra_args, ROUTER_PARSER)


def _selector_args(selector: dict[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in sorted(selector.items())]


def render_router_args(
    pd_stack: PDStackConfig,
    namespace: str,
    prefill: RoleEndpoint,
    decode: RoleEndpoint,
    auth_enabled: bool,
) -> list[str]:
    """The router container's args (the image's entrypoint is `vllm-router`)."""
    router = pd_stack.router
    args = [
        "--vllm-pd-disaggregation",
        "--host",
        "0.0.0.0",
        "--port",
        str(router.service.port),
        "--prometheus-host",
        "0.0.0.0",
        "--prometheus-port",
        str(router.metrics_port),
        "--policy",
        router.policy,
        "--kv-connector",
        ROUTER_KV_CONNECTOR[pd_stack.kv_transfer.connector],
        "--request-timeout-secs",
        str(router.request_timeout_seconds),
    ]
    if router.prefill_policy:
        args += ["--prefill-policy", router.prefill_policy]
    if router.decode_policy:
        args += ["--decode-policy", router.decode_policy]
    if router.discovery == "pods":
        args += [
            "--service-discovery",
            "--service-discovery-namespace",
            namespace,
            # One port for every discovered pod; validation keeps both roles on it.
            "--service-discovery-port",
            str(prefill.port),
            "--prefill-selector",
            *_selector_args(prefill.selector),
            "--decode-selector",
            *_selector_args(decode.selector),
        ]
    else:
        args += ["--prefill", prefill.service_url, "--decode", decode.service_url]
        if router.intra_node_data_parallel_size is not None:
            args += ["--intra-node-data-parallel-size", str(router.intra_node_data_parallel_size)]
    if auth_enabled:
        args += ["--api-key", API_KEY_ARG]
    return args + list(router.extra_args)
