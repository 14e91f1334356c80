"""Alert rules for LLM serving: one Prometheus rule group per stack.

Each alert has a severity, a summary and a runbook-style description (what it means,
what to check, what to change). Thresholds come from `monitoring.alerts`. Pure.
"""

from __future__ import annotations

from components.monitoring import metric_names as m
from components.monitoring import promql
from components.shared import ScrapeTarget
from config.monitoring.sections import AlertThresholds


def _alert(name: str, expr: str, duration: str, severity: str, summary: str, description: str) -> dict:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    }


def _names(targets: list[ScrapeTarget]) -> str:
    return promql.regex_alternatives(sorted(t.name for t in targets))


def alert_rule_group(namespace: str, targets: list[ScrapeTarget], limits: AlertThresholds) -> dict:
    """The rule group for every pool and router of one stack."""
    pools = [t for t in targets if t.kind == "vllm"]
    routers = [t for t in targets if t.kind == "router"]
    pickers = [t for t in targets if t.kind == "epp"]
    by = "namespace, service"
    rules = []
    if pools:
        scope = promql.Scope(namespace, _names(pools))
        rules += [
            _alert(
                "VllmQueueDepthHigh",
                f"avg by ({by}) ({scope.select(m.NUM_REQUESTS_WAITING)}) > {limits.queue_depth}",
                limits.queue_depth_for,
                "warning",
                "{{ $labels.service }}: {{ $value | humanize }} requests waiting per pod",
                "Requests queue because every pod of the pool is at its batch limit. Check the "
                "pool's KV cache usage and preemptions (a full cache limits the batch) and its "
                "request rate. Fix: add replicas (pools.<name>.replicas or autoscaling), or raise "
                "maxNumSeqs if the KV cache has room.",
            ),
            _alert(
                "VllmKvCacheNearlyFull",
                f"max by ({by}, pod) ({scope.select(m.KV_CACHE_USAGE)}) > {limits.kv_cache_usage}",
                limits.kv_cache_usage_for,
                "warning",
                "{{ $labels.pod }}: KV cache {{ $value | humanizePercentage }} full",
                "The pod's KV cache is nearly full, so new requests wait and running ones may be "
                "preempted. Check the capacity report (stack output `capacity`) against the "
                "traffic's context lengths. Fix: more replicas, tensorParallelSize (more memory "
                "per pod), kvCacheDtype fp8, or a lower maxModelLen.",
            ),
            _alert(
                "VllmTimeToFirstTokenSloBreach",
                f"{promql.quantile(scope, m.TIME_TO_FIRST_TOKEN, 0.95, by)} "
                f"> {limits.time_to_first_token_p95_seconds}",
                limits.time_to_first_token_for,
                "warning",
                "{{ $labels.service }}: p95 time to first token {{ $value | humanizeDuration }}",
                "p95 time to first token is over the SLO "
                f"({limits.time_to_first_token_p95_seconds}s). It grows with queueing and with "
                "long prompts. Check queue depth and prompt token rate. Fix: add replicas, lower "
                "maxNumBatchedTokens to interleave prefills, or move to prefill/decode "
                "disaggregation (pdStacks).",
            ),
            _alert(
                "VllmPreemptionsRising",
                f"{promql.rate(scope, m.NUM_PREEMPTIONS, by)} > {limits.preemptions_per_second}",
                limits.preemptions_for,
                "warning",
                "{{ $labels.service }}: {{ $value | humanize }} preemptions/s",
                "vLLM is evicting running requests to free KV cache and recomputing them later, "
                "which wastes GPU time and raises latency. Fix: lower maxNumSeqs, add KV cache "
                "(tensorParallelSize, kvCacheDtype fp8, a larger GPU) or add replicas.",
            ),
        ]
    if routers:
        scope = promql.Scope(namespace, _names(routers))
        rules.append(
            _alert(
                "VllmRouterErrorRateHigh",
                f"{promql.router_error_ratio(scope, by)} > {limits.error_ratio}",
                limits.error_ratio_for,
                "critical",
                "{{ $labels.service }}: {{ $value | humanizePercentage }} of requests fail",
                "The router is returning errors for a large share of requests. Check the router "
                "logs and whether prefill and decode pods are Ready; NIXL transfer failures "
                "show in the decode pods' logs. Fix whatever the logs name; the router retries "
                "per router.extraArgs (--retry-max-retries).",
            )
        )
    if pickers:
        scope = promql.Scope(namespace, _names(pickers))
        rules.append(
            _alert(
                "InferencePoolNoReadyPods",
                f"max by (namespace, service, name) ({scope.select(m.EPP_POOL_READY_PODS)}) == 0",
                limits.no_ready_pods_for,
                "critical",
                "{{ $labels.name }}: the endpoint picker has no pod to route to",
                "The InferencePool's selector matches no Ready pod, so the gateway fails every "
                "request for it (or, with failureMode FailOpen, sends them nowhere useful). Check "
                "the pool's pods (`kubectl get pods -l app.kubernetes.io/instance=<pool>`) and that "
                "the InferencePool's selector and target port match them.",
            )
        )
    single_node = [t for t in targets if t.group_set is None]
    deployments = (
        f"{promql.label_matcher('namespace', namespace)},"
        f"deployment=~{promql.string_literal(_names(single_node))}"
    )
    rules.append(
        _alert(
            "VllmNoReadyPods",
            f"({m.DEPLOYMENT_READY_REPLICAS}{{{deployments}}} == 0) and on (namespace, deployment) "
            f"({m.DEPLOYMENT_SPEC_REPLICAS}{{{deployments}}} > 0)",
            limits.no_ready_pods_for,
            "critical",
            "{{ $labels.deployment }}: no Ready pods",
            "The Deployment wants pods but none is Ready, so its Service has no endpoints. "
            "Check `kubectl describe pod` (Pending: no node with the accepted GPU product or "
            "free GPUs; CrashLoopBackOff: the vLLM log, often an out-of-memory at start or a "
            "missing HF token) and the startup probe's progress during a long model download.",
        )
    )
    group_sets = sorted(t.group_set for t in targets if t.group_set is not None)
    if group_sets:
        leaders = f'namespace="{namespace}",statefulset=~"{"|".join(group_sets)}"'
        rules.append(
            _alert(
                "VllmNoReadyGroups",
                f"({m.STATEFULSET_READY_REPLICAS}{{{leaders}}} == 0) and on (namespace, statefulset) "
                f"({m.STATEFULSET_SPEC_REPLICAS}{{{leaders}}} > 0)",
                limits.no_ready_pods_for,
                "critical",
                "{{ $labels.statefulset }}: no Ready group leader",
                "The multi-node pool wants groups but no leader is Ready, so its Service has no "
                "endpoints. Check `kubectl get pods -l leaderworkerset.sigs.k8s.io/name=<set>`: "
                "Pending pods name the missing nodes (a group needs that many whole nodes of one "
                "product); a leader that never gets Ready is usually waiting for its workers to "
                "join Ray (its log says so) or still loading (startup probe).",
            )
        )
    return {"name": f"llm-serving.{namespace}", "rules": rules}
