"""Grafana dashboards, built with Grafana's foundation SDK (not hand-written JSON).

One dashboard per vLLM pool (each P/D role is a pool) and one per router. Panels
query only the target's own Service in its namespace. Pure.
"""

from __future__ import annotations

import hashlib
import json

from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.builders.dashboard import Dashboard, DatasourceVariable, Row
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from components.monitoring import metric_names as m
from components.monitoring import promql
from components.shared import ScrapeTarget

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
GRAFANA_UID_MAX = 40


def dashboard_uid(namespace: str, name: str) -> str:
    """Stable and unique per namespace and target, within Grafana's 40 characters."""
    uid = f"llm-serving-{namespace}-{name}"
    if len(uid) <= GRAFANA_UID_MAX:
        return uid
    digest = hashlib.sha256(uid.encode()).hexdigest()[:8]
    return f"{uid[: GRAFANA_UID_MAX - 9]}-{digest}"


def _query(expr: str, legend: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend)


def _timeseries(title: str, unit: str, description: str, *queries: prometheus.Dataquery) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).description(description).datasource(DATASOURCE)
    for query in queries:
        panel = panel.with_target(query)
    return panel


def _latency(title: str, description: str, scope: promql.Scope, histogram: str) -> timeseries.Panel:
    """p50 and p95 of a latency histogram."""
    return _timeseries(
        title,
        "s",
        description,
        *(_query(promql.quantile(scope, histogram, q), f"p{round(q * 100)}") for q in (0.5, 0.95)),
    )


def _stat(title: str, unit: str, description: str, expr: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .unit(unit)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(_query(expr, title))
    )


def _dashboard(namespace: str, target: ScrapeTarget) -> Dashboard:
    return (
        Dashboard(f"vLLM {target.title}")
        .uid(dashboard_uid(namespace, target.name))
        .tags(["llm-serving", "vllm", namespace])
        .refresh("30s")
        .time("now-1h", "now")
        .with_variable(DatasourceVariable("datasource").label("Data source").type("prometheus"))
    )


def pool_dashboard(namespace: str, target: ScrapeTarget) -> dict:
    """Throughput, latency, queueing and cache health of one vLLM pool."""
    scope = promql.Scope(namespace, target.name)
    pods = "pod"
    builder = (
        _dashboard(namespace, target)
        .with_row(Row("Overview"))
        .with_panel(
            _stat(
                "Request rate",
                "reqps",
                "Finished requests per second, all pods.",
                promql.rate(scope, m.REQUEST_SUCCESS),
            )
        )
        .with_panel(
            _stat(
                "Prefix cache hit rate",
                "percentunit",
                "Share of prompt tokens served from the prefix cache.",
                promql.prefix_cache_hit_rate(scope),
            )
        )
        .with_row(Row("Latency"))
        .with_panel(
            _latency(
                "Time to first token",
                "p50 and p95 of the time from arrival to the first generated token.",
                scope,
                m.TIME_TO_FIRST_TOKEN,
            )
        )
        .with_panel(
            _latency(
                "Inter-token latency",
                "p50 and p95 of the time between consecutive generated tokens.",
                scope,
                m.INTER_TOKEN_LATENCY,
            )
        )
        .with_row(Row("Load"))
        .with_panel(
            _timeseries(
                "Request rate by finish reason",
                "reqps",
                "Finished requests per second: stop, length, abort.",
                _query(promql.rate(scope, m.REQUEST_SUCCESS, "finished_reason"), "{{finished_reason}}"),
            )
        )
        .with_panel(
            _timeseries(
                "Queue depth",
                "short",
                "Requests waiting for a batch slot, per pod (vllm:num_requests_waiting).",
                _query(f"sum by ({pods}) ({scope.select(m.NUM_REQUESTS_WAITING)})", "{{pod}}"),
            )
        )
        .with_panel(
            _timeseries(
                "Running requests",
                "short",
                "Requests in the running batch, per pod.",
                _query(f"sum by ({pods}) ({scope.select(m.NUM_REQUESTS_RUNNING)})", "{{pod}}"),
            )
        )
        .with_panel(
            _timeseries(
                "KV cache usage",
                "percentunit",
                "Share of each pod's KV cache in use (vllm:kv_cache_usage_perc).",
                _query(f"max by ({pods}) ({scope.select(m.KV_CACHE_USAGE)})", "{{pod}}"),
            )
        )
        .with_row(Row("Tokens"))
        .with_panel(
            _timeseries(
                "Token throughput",
                "short",
                "Prompt (prefill) and generated (decode) tokens per second, all pods.",
                _query(promql.rate(scope, m.PROMPT_TOKENS), "prompt tokens/s"),
                _query(promql.rate(scope, m.GENERATION_TOKENS), "generation tokens/s"),
            )
        )
        .with_panel(
            _timeseries(
                "Prefix cache hit rate by pod",
                "percentunit",
                "Share of prompt tokens served from each pod's prefix cache.",
                _query(promql.prefix_cache_hit_rate(scope, pods), "{{pod}}"),
            )
        )
        .with_panel(
            _timeseries(
                "Preemptions",
                "short",
                "Running requests evicted to free KV cache, per second.",
                _query(promql.rate(scope, m.NUM_PREEMPTIONS, pods), "{{pod}}"),
            )
        )
    )
    return _as_json(builder)


def router_dashboard(namespace: str, target: ScrapeTarget) -> dict:
    """Request rate, latency and errors seen by one vllm-router."""
    scope = promql.Scope(namespace, target.name)
    builder = (
        _dashboard(namespace, target)
        .with_row(Row("Router"))
        .with_panel(
            _timeseries(
                "Request rate by route",
                "reqps",
                "Requests per second the router received.",
                _query(promql.rate(scope, m.ROUTER_REQUESTS, "route"), "{{route}}"),
            )
        )
        .with_panel(
            _latency(
                "Request latency",
                "p50 and p95 of the router's request duration (prefill + KV transfer + decode).",
                scope,
                m.ROUTER_REQUEST_DURATION,
            )
        )
        .with_panel(
            _timeseries(
                "Error ratio",
                "percentunit",
                "Share of requests that ended in an error.",
                _query(promql.router_error_ratio(scope), "errors"),
            )
        )
        .with_panel(
            _timeseries(
                "Errors by stage",
                "reqps",
                "Failed requests per second: no prefill/decode pair to pick (by type), or an "
                "error from a prefill or a decode worker (by worker).",
                _query(
                    promql.rate(scope, m.ROUTER_SELECTION_ERRORS, "error_type"), "selection: {{error_type}}"
                ),
                _query(promql.rate(scope, m.ROUTER_PREFILL_ERRORS, "worker"), "prefill {{worker}}"),
                _query(promql.rate(scope, m.ROUTER_DECODE_ERRORS, "worker"), "decode {{worker}}"),
            )
        )
    )
    return _as_json(builder)


def picker_dashboard(namespace: str, target: ScrapeTarget) -> dict:
    """What one endpoint picker sees of its pool and what its scheduling costs."""
    scope = promql.Scope(namespace, target.name)
    builder = (
        _dashboard(namespace, target)
        .with_row(Row("Endpoint picker"))
        .with_panel(
            _timeseries(
                "Ready pods in the pool",
                "short",
                "Pods the picker can route to.",
                _query(f"max by (name) ({scope.select(m.EPP_POOL_READY_PODS)})", "{{name}}"),
            )
        )
        .with_panel(
            _timeseries(
                "Pool KV cache and queue",
                "short",
                "Average KV-cache utilization (0-1) and waiting requests per pod, as the picker scores them.",
                _query(f"max by (name) ({scope.select(m.EPP_POOL_AVG_KV_CACHE)})", "KV cache {{name}}"),
                _query(f"max by (name) ({scope.select(m.EPP_POOL_AVG_QUEUE)})", "queue {{name}}"),
            )
        )
        .with_panel(
            _timeseries(
                "Requests by model",
                "reqps",
                "Requests per second through the picker, by model.",
                _query(promql.rate(scope, m.EPP_REQUESTS, "model_name"), "{{model_name}}"),
            )
        )
        .with_panel(
            _timeseries(
                "Errors by code",
                "reqps",
                "Picker request errors per second by error code.",
                _query(promql.rate(scope, m.EPP_REQUEST_ERRORS, "error_code"), "{{error_code}}"),
            )
        )
        .with_panel(
            _latency(
                "Scheduling latency",
                "p50 and p95 of the picker's scheduling decision (added to every request).",
                scope,
                m.EPP_SCHEDULER_DURATION,
            )
        )
        .with_panel(
            _latency(
                "Request latency",
                "p50 and p95 of end-to-end request duration seen by the picker.",
                scope,
                m.EPP_REQUEST_DURATION,
            )
        )
    )
    return _as_json(builder)


def dashboard_for(namespace: str, target: ScrapeTarget) -> dict:
    builders = {"router": router_dashboard, "epp": picker_dashboard}
    return builders.get(target.kind, pool_dashboard)(namespace, target)


def _as_json(builder: Dashboard) -> dict:
    return json.loads(json.dumps(builder.build(), cls=JSONEncoder))


def queries(dashboard: dict) -> list[str]:
    """Every PromQL expression in a dashboard (tests parse each with promtool)."""
    return [
        target["expr"]
        for panel in dashboard.get("panels", [])
        for target in panel.get("targets", [])
        if "expr" in target
    ]
