"""Every metric name our rules and dashboards use, and where it comes from.

vLLM (v1 engine, `vllm/v1/metrics/loggers.py`; ../shared/notes/vllm.md section 2):
counters are exposed with `_total`, histograms as `_bucket`/`_sum`/`_count`. The
deprecated `vllm:gpu_cache_usage_perc` and `vllm:time_per_output_token_seconds` are
deliberately absent. vllm-router (`src/metrics.rs`, `init_metrics`). Kubernetes
object state comes from kube-state-metrics, part of kube-prometheus-stack.
"""

from __future__ import annotations

# vLLM, scraped from each pod's serving port.
NUM_REQUESTS_RUNNING = "vllm:num_requests_running"
NUM_REQUESTS_WAITING = "vllm:num_requests_waiting"
KV_CACHE_USAGE = "vllm:kv_cache_usage_perc"
PROMPT_TOKENS = "vllm:prompt_tokens_total"
GENERATION_TOKENS = "vllm:generation_tokens_total"
REQUEST_SUCCESS = "vllm:request_success_total"
NUM_PREEMPTIONS = "vllm:num_preemptions_total"
PREFIX_CACHE_QUERIES = "vllm:prefix_cache_queries_total"
PREFIX_CACHE_HITS = "vllm:prefix_cache_hits_total"
TIME_TO_FIRST_TOKEN = "vllm:time_to_first_token_seconds"
INTER_TOKEN_LATENCY = "vllm:inter_token_latency_seconds"
E2E_REQUEST_LATENCY = "vllm:e2e_request_latency_seconds"

# vllm-router in prefill/decode mode (every router we deploy), scraped from its metrics
# port: vllm-router 0.1.17 src/metrics.rs, recorded in src/routers/http/
# vllm_pd_router.rs. The regular-mode names (vllm_router_requests_total, ...) are never
# exported by a P/D router, and vllm_router_request_duration_seconds by none at all.
# Requests count successes and failures alike; a failure is counted once, in one of
# the three error counters (no server to pick, a prefill error, a decode error).
ROUTER_REQUESTS = "vllm_router_pd_requests_total"  # {route}
ROUTER_REQUEST_DURATION = "vllm_router_pd_request_duration_seconds"  # {route}
ROUTER_SELECTION_ERRORS = "vllm_router_pd_errors_total"  # {error_type}
ROUTER_PREFILL_ERRORS = "vllm_router_pd_prefill_errors_total"  # {worker}
ROUTER_DECODE_ERRORS = "vllm_router_pd_decode_errors_total"  # {worker}
ROUTER_ERRORS = (ROUTER_SELECTION_ERRORS, ROUTER_PREFILL_ERRORS, ROUTER_DECODE_ERRORS)

# The endpoint picker (GAIE v1.5.0 pkg/epp/metrics/metrics.go; site-src/guides/
# metrics-and-observability.md), scraped from its metrics port.
EPP_POOL_READY_PODS = "inference_pool_ready_pods"
EPP_POOL_AVG_KV_CACHE = "inference_pool_average_kv_cache_utilization"
EPP_POOL_AVG_QUEUE = "inference_pool_average_queue_size"
EPP_REQUESTS = "inference_objective_request_total"
EPP_REQUEST_ERRORS = "inference_objective_request_error_total"
EPP_REQUEST_DURATION = "inference_objective_request_duration_seconds"
EPP_SCHEDULER_DURATION = "inference_extension_scheduler_e2e_duration_seconds"

# kube-state-metrics.
DEPLOYMENT_READY_REPLICAS = "kube_deployment_status_replicas_ready"
DEPLOYMENT_SPEC_REPLICAS = "kube_deployment_spec_replicas"
# A multi-node pool's leaders are a StatefulSet named after its LeaderWorkerSet.
STATEFULSET_READY_REPLICAS = "kube_statefulset_status_replicas_ready"
STATEFULSET_SPEC_REPLICAS = "kube_statefulset_replicas"

VLLM_HISTOGRAMS = {TIME_TO_FIRST_TOKEN, INTER_TOKEN_LATENCY, E2E_REQUEST_LATENCY}
ROUTER_HISTOGRAMS = {ROUTER_REQUEST_DURATION}

# What each source exports today (the full lists, not just what we use), so a test
# can tell a typo or a renamed metric from a real one.
VLLM_EXPORTED = {
    "vllm:num_requests_running",
    "vllm:num_requests_waiting",
    "vllm:kv_cache_usage_perc",
    "vllm:engine_sleep_state",
    "vllm:cache_config_info",
    "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total",
    "vllm:request_success_total",
    "vllm:num_preemptions_total",
    "vllm:prefix_cache_queries_total",
    "vllm:prefix_cache_hits_total",
    "vllm:external_prefix_cache_queries_total",
    "vllm:external_prefix_cache_hits_total",
    *(
        f"{histogram}{suffix}"
        for histogram in (
            "vllm:time_to_first_token_seconds",
            "vllm:inter_token_latency_seconds",
            "vllm:request_time_per_output_token_seconds",
            "vllm:e2e_request_latency_seconds",
            "vllm:request_queue_time_seconds",
            "vllm:request_inference_time_seconds",
            "vllm:request_prefill_time_seconds",
            "vllm:request_decode_time_seconds",
            "vllm:iteration_tokens_total",
            "vllm:request_prompt_tokens",
            "vllm:request_generation_tokens",
        )
        for suffix in ("_bucket", "_sum", "_count")
    ),
}
# What a P/D router exports (vllm-router 0.1.17 src/metrics.rs, the P/D and shared
# metrics; the kv_aware policy's and program scheduling's left out).
ROUTER_EXPORTED = {
    "vllm_router_pd_requests_total",
    "vllm_router_pd_prefill_requests_total",
    "vllm_router_pd_decode_requests_total",
    "vllm_router_pd_errors_total",
    "vllm_router_pd_prefill_errors_total",
    "vllm_router_pd_decode_errors_total",
    "vllm_router_pd_body_over_limit_total",
    "vllm_router_pd_prefill_occupancy",
    "vllm_router_pd_active_prefill_tokens",
    "vllm_router_pd_pending_decode_requests",
    "vllm_router_pd_active_decode_requests",
    "vllm_router_cb_state",
    "vllm_router_worker_health",
    *(f"vllm_router_pd_request_duration_seconds{suffix}" for suffix in ("_bucket", "_sum", "_count")),
}
KUBE_STATE_EXPORTED = {
    DEPLOYMENT_READY_REPLICAS,
    DEPLOYMENT_SPEC_REPLICAS,
    STATEFULSET_READY_REPLICAS,
    STATEFULSET_SPEC_REPLICAS,
}
EPP_EXPORTED = {
    EPP_POOL_READY_PODS,
    EPP_POOL_AVG_KV_CACHE,
    EPP_POOL_AVG_QUEUE,
    EPP_REQUESTS,
    EPP_REQUEST_ERRORS,
    *(
        f"{histogram}{suffix}"
        for histogram in (EPP_REQUEST_DURATION, EPP_SCHEDULER_DURATION)
        for suffix in ("_bucket", "_sum", "_count")
    ),
}
KNOWN_METRICS = VLLM_EXPORTED | ROUTER_EXPORTED | KUBE_STATE_EXPORTED | EPP_EXPORTED
