"""MonitoringStack: monitors for every pool and router, one rule group, dashboards.

Every PromQL expression (alert rules and dashboard queries) is checked by Prometheus'
own `promtool`, built from its Go module by `make tools`; the alert expressions are
also evaluated by `promtool test rules` on synthetic series named exactly as vLLM,
vllm-router and kube-state-metrics export them.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from components.monitoring import metric_names
from components.monitoring.dashboards import dashboard_uid, queries
from harness import ROOT, STACK_NAMESPACE, ProgramRun, run_program, stack_file_config

MONITORED_STACKS = [
    "Pulumi.dev.yaml",
    "Pulumi.prod.yaml",
    "examples/seed-000-replicas.yaml",
    "seed-003: multi-node pool behind the inference gateway",
]
NAMESPACE = STACK_NAMESPACE
METRIC_IN_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{")


@pytest.fixture(scope="session")
def promtool() -> Path:
    path = Path(
        subprocess.run(
            [str(ROOT / "scripts" / "tools.sh"), "path", "promtool"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    assert path.exists(), f"promtool is not built at {path}; run `make tools`"
    return path


def seed_003_config() -> dict:
    """The 405B LeaderWorkerSet pool, routed through the gateway, monitored."""
    config = copy.deepcopy(stack_file_config(ROOT / "examples" / "multinode-405b.yaml"))
    config["llm-serving:monitoring"] = {"enabled": True}
    config["llm-serving:inferenceGateway"] = {"routes": {"llama-405b": {}}}
    return config


@pytest.fixture(scope="module", params=MONITORED_STACKS)
def monitored(request) -> ProgramRun:
    if request.param.startswith("seed-003"):
        return run_program(seed_003_config())
    return run_program(stack_file_config(ROOT / request.param))


@pytest.fixture(scope="module")
def seed_003() -> ProgramRun:
    return run_program(seed_003_config())


@pytest.fixture(scope="module")
def prod() -> ProgramRun:
    return run_program(stack_file_config(ROOT / "Pulumi.prod.yaml"))


def rule_group(run: ProgramRun) -> dict:
    (rule,) = run.of_kind("PrometheusRule")
    (group,) = rule.inputs["spec"]["groups"]
    return group


def dashboard_config_maps(run: ProgramRun) -> list:
    """ConfigMaps Grafana's sidecar loads (not, say, an endpoint picker's plugins)."""
    return [
        c for c in run.of_kind("ConfigMap") if "grafana_dashboard" in c.inputs["metadata"].get("labels", {})
    ]


def dashboards(run: ProgramRun) -> dict[str, dict]:
    found = {}
    for config_map in dashboard_config_maps(run):
        for key, text in config_map.inputs["data"].items():
            found[key] = json.loads(text)
    return found


def check_rules(promtool: Path, groups: list[dict], tmp_path: Path) -> str:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    result = subprocess.run([str(promtool), "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


# --- what is created -----------------------------------------------------------


def test_every_pool_and_router_has_a_monitor_on_its_metrics_port(monitored):
    services = {s.inputs["metadata"]["name"]: s for s in monitored.of_kind("Service")}
    monitors = monitored.of_kind("ServiceMonitor")
    assert {m.inputs["metadata"]["name"] for m in monitors} == set(services)
    for monitor in monitors:
        service = services[monitor.inputs["metadata"]["name"]].inputs
        selector = monitor.inputs["spec"]["selector"]["matchLabels"]
        assert all(service["metadata"]["labels"].get(k) == v for k, v in selector.items())
        (endpoint,) = monitor.inputs["spec"]["endpoints"]
        assert endpoint["path"] == "/metrics"
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
        assert monitor.inputs["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}


def test_router_is_scraped_on_29000(prod):
    monitor = next(
        m for m in prod.of_kind("ServiceMonitor") if m.inputs["metadata"]["name"].endswith("-router")
    )
    service = next(s for s in prod.of_kind("Service") if s.inputs["metadata"]["name"].endswith("-router"))
    port = {p["name"]: p["port"] for p in service.inputs["spec"]["ports"]}[
        monitor.inputs["spec"]["endpoints"][0]["port"]
    ]
    assert port == 29000


def test_one_rule_group_with_every_alert(monitored):
    group = rule_group(monitored)
    names = {rule["alert"] for rule in group["rules"]}
    assert {
        "VllmQueueDepthHigh",
        "VllmKvCacheNearlyFull",
        "VllmTimeToFirstTokenSloBreach",
        "VllmPreemptionsRising",
        "VllmNoReadyPods",
    } <= names
    for rule in group["rules"]:
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and len(rule["annotations"]["description"]) > 80


def test_router_error_alert_exists_with_a_router(prod):
    assert "VllmRouterErrorRateHigh" in {rule["alert"] for rule in rule_group(prod)["rules"]}


def test_monitors_and_rules_carry_the_prometheus_selector_labels(monitored):
    for kind in ("ServiceMonitor", "PrometheusRule"):
        for resource in monitored.of_kind(kind):
            assert resource.inputs["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_a_dashboard_per_pool_and_router_labelled_for_the_sidecar(monitored):
    targets = {s.inputs["metadata"]["name"] for s in monitored.of_kind("Service")}
    config_maps = dashboard_config_maps(monitored)
    assert {c.inputs["metadata"]["name"] for c in config_maps} == {f"{t}-dashboard" for t in targets}
    for config_map in config_maps:
        assert config_map.inputs["metadata"]["labels"]["grafana_dashboard"] == "1"
    # Every other ConfigMap is no dashboard (an endpoint picker's plugins).
    others = [c for c in monitored.of_kind("ConfigMap") if c not in config_maps]
    assert all(c.inputs["metadata"]["name"].endswith("-epp") for c in others)
    uids = [d["uid"] for d in dashboards(monitored).values()]
    assert len(uids) == len(set(uids)) and all(len(uid) <= 40 for uid in uids)


def test_pool_dashboards_show_what_operators_need(monitored):
    expected = {
        "Request rate",
        "Time to first token",
        "Inter-token latency",
        "Queue depth",
        "Running requests",
        "KV cache usage",
        "Token throughput",
        "Prefix cache hit rate",
    }
    for name, dashboard in dashboards(monitored).items():
        titles = {panel["title"] for panel in dashboard["panels"]}
        if "router" in name:
            assert {"Request rate by route", "Request latency", "Error ratio"} <= titles
        elif name.endswith("-epp.json"):
            assert {"Ready pods in the pool", "Pool KV cache and queue", "Scheduling latency"} <= titles
        else:
            assert expected <= titles
            latency = next(p for p in dashboard["panels"] if p["title"] == "Time to first token")
            assert [t["legendFormat"] for t in latency["targets"]] == ["p50", "p95"]


def test_prod_installs_kube_prometheus_stack_and_monitors_wait_for_it(prod):
    release = next(r for r in prod.of_kind("Release") if r.inputs["chart"] == "kube-prometheus-stack")
    assert release.inputs["version"] and release.inputs["name"] == "kube-prometheus-stack"
    sidecar = release.inputs["values"]["grafana"]["sidecar"]["dashboards"]
    assert sidecar["searchNamespace"] == "ALL" and sidecar["label"] == "grafana_dashboard"
    for kind in ("ServiceMonitor", "PrometheusRule", "ConfigMap"):
        for resource in prod.of_kind(kind):
            assert release.urn in resource.dependencies


def test_dev_creates_objects_only():
    dev = run_program(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    assert not [r for r in dev.of_kind("Release") if r.inputs["chart"] == "kube-prometheus-stack"]
    assert dev.of_kind("ServiceMonitor") and dev.of_kind("PrometheusRule")


def test_thresholds_and_selector_come_from_config(tmp_path):
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    config["llm-serving:monitoring"] = {
        "enabled": True,
        "selectorLabels": {"prometheus": "main"},
        "alerts": {"queueDepth": 42, "timeToFirstTokenP95Seconds": 0.75, "queueDepthFor": "2m"},
    }
    run = run_program(config)
    rules = {rule["alert"]: rule for rule in rule_group(run)["rules"]}
    assert rules["VllmQueueDepthHigh"]["expr"].endswith("> 42.0")
    assert rules["VllmQueueDepthHigh"]["for"] == "2m"
    assert rules["VllmTimeToFirstTokenSloBreach"]["expr"].endswith("> 0.75")
    assert run.of_kind("ServiceMonitor")[0].inputs["metadata"]["labels"]["prometheus"] == "main"


def test_monitoring_off_creates_nothing():
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    del config["llm-serving:monitoring"]
    run = run_program(config)
    for kind in ("ServiceMonitor", "PrometheusRule", "ConfigMap"):
        assert not run.of_kind(kind)
    assert "monitoring" not in run.outputs


def test_monitoring_outputs_name_the_alerts_and_dashboards(prod):
    assert "VllmRouterErrorRateHigh" in prod.outputs["monitoring"]["alerts"]
    assert len(prod.outputs["monitoring"]["dashboards"]) == 3


def test_bad_duration_is_refused_at_preview():
    from config.errors import ConfigError
    from config.loader import parse_stack_config

    values = {
        "gpu": {"products": ["NVIDIA-L40"]},
        "pools": {"chat": {"model": "Qwen/Qwen3-0.6B"}},
        "monitoring": {"enabled": True, "alerts": {"queueDepthFor": "5 minutes"}},
    }
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(values, has_hf_token=True)
    assert 'llm-serving:monitoring.alerts.queueDepthFor = "5 minutes"' in caught.value.message


# --- every expression is real PromQL over real metric names ----------------------


def test_promtool_accepts_the_rendered_rule_group(monitored, promtool, tmp_path):
    group = rule_group(monitored)
    output = check_rules(promtool, [group], tmp_path)
    assert f"SUCCESS: {len(group['rules'])} rules found" in output


def test_promtool_parses_every_dashboard_query(monitored, promtool, tmp_path):
    expressions = [expr for dashboard in dashboards(monitored).values() for expr in queries(dashboard)]
    assert len(expressions) > 10
    group = {
        "name": "dashboard-queries",
        "rules": [{"record": f"dashboard:query_{i}", "expr": expr} for i, expr in enumerate(expressions)],
    }
    output = check_rules(promtool, [group], tmp_path)
    assert f"SUCCESS: {len(expressions)} rules found" in output


def test_promtool_rejects_broken_promql(promtool, tmp_path):
    """The check above can fail: a syntax error makes promtool exit non-zero."""
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump({"groups": [{"name": "x", "rules": [{"record": "x:y", "expr": "sum(rate(foo[5m])"}]}]})
    )
    assert subprocess.run([str(promtool), "check", "rules", str(path)], capture_output=True).returncode != 0


def test_every_metric_name_is_one_that_is_exported_today(monitored):
    expressions = [rule["expr"] for rule in rule_group(monitored)["rules"]]
    expressions += [expr for dashboard in dashboards(monitored).values() for expr in queries(dashboard)]
    used = {name for expr in expressions for name in METRIC_IN_SELECTOR.findall(expr)}
    assert used, "no metric names found"
    assert used <= metric_names.KNOWN_METRICS, used - metric_names.KNOWN_METRICS
    assert not any("gpu_cache_usage_perc" in expr or "time_per_output_token" in expr for expr in expressions)


def test_dashboard_uids_stay_within_grafanas_limit():
    uid = dashboard_uid("a-very-long-namespace-name", "a-very-long-pool-name-prefill")
    assert len(uid) == 40 and uid != dashboard_uid(
        "a-very-long-namespace-name", "a-very-long-pool-name-decode"
    )


# --- the alerts fire on real series, and only above their thresholds --------------

LLAMA = 'namespace="llm-serving-test",service="llama-3-1-8b-decode",pod="decode-0",model_name="m"'
ROUTER_POD = 'namespace="llm-serving-test",service="llama-3-1-8b-router",pod="router-0"'
ROUTER = f'{ROUTER_POD},route="/v1/completions"'
DEPLOYMENT = 'namespace="llm-serving-test",deployment="llama-3-1-8b-decode"'
OUT = '{namespace="llm-serving-test",service="llama-3-1-8b-decode"}'


def _case(alert: str, series: list[tuple[str, str]], value: float | None, labels: str = OUT) -> dict:
    return {"alert": alert, "series": series, "value": value, "labels": labels}


ALERT_CASES = [
    _case("VllmQueueDepthHigh", [(f"vllm:num_requests_waiting{{{LLAMA}}}", "20x30")], 20),
    _case("VllmQueueDepthHigh", [(f"vllm:num_requests_waiting{{{LLAMA}}}", "2x30")], None),
    _case(
        "VllmKvCacheNearlyFull",
        [(f"vllm:kv_cache_usage_perc{{{LLAMA}}}", "0.99x30")],
        0.99,
        '{namespace="llm-serving-test",service="llama-3-1-8b-decode",pod="decode-0"}',
    ),
    _case("VllmKvCacheNearlyFull", [(f"vllm:kv_cache_usage_perc{{{LLAMA}}}", "0.5x30")], None),
    _case(
        "VllmTimeToFirstTokenSloBreach",
        [
            (f'vllm:time_to_first_token_seconds_bucket{{{LLAMA},le="0.5"}}', "0+0x30"),
            (f'vllm:time_to_first_token_seconds_bucket{{{LLAMA},le="5"}}', "0+10x30"),
            (f'vllm:time_to_first_token_seconds_bucket{{{LLAMA},le="+Inf"}}', "0+10x30"),
        ],
        # p95 interpolated within the (0.5, 5] bucket: 0.5 + 4.5 * 0.95 = 4.775, as a double
        4.7749999999999995,
    ),
    _case(
        "VllmTimeToFirstTokenSloBreach",
        [
            (f'vllm:time_to_first_token_seconds_bucket{{{LLAMA},le="0.5"}}', "0+10x30"),
            (f'vllm:time_to_first_token_seconds_bucket{{{LLAMA},le="5"}}', "0+10x30"),
            (f'vllm:time_to_first_token_seconds_bucket{{{LLAMA},le="+Inf"}}', "0+10x30"),
        ],
        None,
    ),
    _case("VllmPreemptionsRising", [(f"vllm:num_preemptions_total{{{LLAMA}}}", "0+60x30")], 1),
    _case("VllmPreemptionsRising", [(f"vllm:num_preemptions_total{{{LLAMA}}}", "0+1x30")], None),
    _case(
        "VllmRouterErrorRateHigh",
        [
            (f"vllm_router_pd_requests_total{{{ROUTER}}}", "0+100x30"),
            # Failures from a prefill worker and a decode worker; no selection errors
            # (that counter has no series at all, as on a router that never had one).
            (f'vllm_router_pd_prefill_errors_total{{{ROUTER_POD},worker="http://10.0.0.1:8000"}}', "0+6x30"),
            (f'vllm_router_pd_decode_errors_total{{{ROUTER_POD},worker="http://10.0.0.2:8000"}}', "0+4x30"),
        ],
        0.1,  # (6 + 4) errors / 100 requests
        '{namespace="llm-serving-test",service="llama-3-1-8b-router"}',
    ),
    _case(
        "VllmRouterErrorRateHigh",
        [
            (f"vllm_router_pd_requests_total{{{ROUTER}}}", "0+100x30"),
            (f'vllm_router_pd_errors_total{{{ROUTER_POD},error_type="server_selection"}}', "0+1x30"),
        ],
        None,
    ),
    _case(
        "VllmNoReadyPods",
        [
            (f"kube_deployment_status_replicas_ready{{{DEPLOYMENT}}}", "0x30"),
            (f"kube_deployment_spec_replicas{{{DEPLOYMENT}}}", "8x30"),
        ],
        0,
        f"kube_deployment_status_replicas_ready{{{DEPLOYMENT}}}",
    ),
    _case(
        "VllmNoReadyPods",
        [
            (f"kube_deployment_status_replicas_ready{{{DEPLOYMENT}}}", "0x30"),
            (f"kube_deployment_spec_replicas{{{DEPLOYMENT}}}", "0x30"),
        ],
        None,
    ),
]


GROUP_SET = 'namespace="llm-serving-test",statefulset="llama-405b-group"'
PICKER = 'namespace="llm-serving-test",service="llama-405b-epp",pod="epp-0",name="llama-405b"'
SEED_003_ALERT_CASES = [
    _case(
        "VllmNoReadyGroups",
        [
            (f"kube_statefulset_status_replicas_ready{{{GROUP_SET}}}", "0x30"),
            (f"kube_statefulset_replicas{{{GROUP_SET}}}", "2x30"),
        ],
        0,
        f"kube_statefulset_status_replicas_ready{{{GROUP_SET}}}",
    ),
    _case(
        "VllmNoReadyGroups",
        [
            (f"kube_statefulset_status_replicas_ready{{{GROUP_SET}}}", "1x30"),
            (f"kube_statefulset_replicas{{{GROUP_SET}}}", "2x30"),
        ],
        None,
    ),
    _case(
        "InferencePoolNoReadyPods",
        [(f"inference_pool_ready_pods{{{PICKER}}}", "0x30")],
        0,
        '{namespace="llm-serving-test",service="llama-405b-epp",name="llama-405b"}',
    ),
    _case("InferencePoolNoReadyPods", [(f"inference_pool_ready_pods{{{PICKER}}}", "2x30")], None),
]


def _case_id(case: dict) -> str:
    return f"{case['alert']}-{'fires' if case['value'] is not None else 'silent'}"


@pytest.mark.parametrize("case", SEED_003_ALERT_CASES, ids=[_case_id(c) for c in SEED_003_ALERT_CASES])
def test_seed_003_alert_expression_on_synthetic_series(case, seed_003, promtool, tmp_path):
    check_alert_case(case, seed_003, promtool, tmp_path)


@pytest.mark.parametrize("case", ALERT_CASES, ids=[_case_id(c) for c in ALERT_CASES])
def test_alert_expression_on_synthetic_series(case, prod, promtool, tmp_path):
    check_alert_case(case, prod, promtool, tmp_path)


def check_alert_case(case: dict, run: ProgramRun, promtool: Path, tmp_path: Path) -> None:
    """promtool evaluates the alert's expression on the case's series at 20 minutes."""
    rules = {rule["alert"]: rule for rule in rule_group(run)["rules"]}
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(yaml.safe_dump({"groups": [rule_group(run)]}))
    expected = [] if case["value"] is None else [{"labels": case["labels"], "value": case["value"]}]
    test_file = tmp_path / "test.yaml"
    test_file.write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(rule_file)],
                "evaluation_interval": "1m",
                "tests": [
                    {
                        "interval": "1m",
                        "input_series": [{"series": s, "values": v} for s, v in case["series"]],
                        "promql_expr_test": [
                            {
                                "expr": rules[case["alert"]]["expr"],
                                "eval_time": "20m",
                                "exp_samples": expected,
                            }
                        ],
                    }
                ],
            }
        )
    )
    result = subprocess.run([str(promtool), "test", "rules", str(test_file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
