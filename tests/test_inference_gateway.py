"""The inference gateway (seed 003): Gateway -> HTTPRoute -> InferencePool -> endpoint
picker. Config checks, what the program registers under Pulumi's mocks, and the
endpoint picker's real flag parser (built by scripts/tools.sh) on our arguments."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from config.edge.epp_args import render_epp_args, render_plugins_config
from config.edge.sections import EndpointPickerConfig
from config.errors import ConfigError
from config.loader import parse_stack_config
from harness import ROOT, STACK_NAMESPACE, run_program, stack_file_config
from schemas import validation_errors

GATEWAY_EXAMPLE = ROOT / "examples" / "llm-d-gateway.yaml"
PD_EXAMPLE = ROOT / "examples" / "pd-gateway.yaml"
POOL = "llama-3-1-8b"


def example(path: Path = GATEWAY_EXAMPLE) -> dict:
    return copy.deepcopy(stack_file_config(path))


def as_values(config: dict) -> dict:
    return {key.removeprefix("llm-serving:"): value for key, value in config.items()}


def error_of(config: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(as_values(config), has_hf_token=True)
    return caught.value.message


@pytest.fixture(scope="module")
def gateway_run():
    return run_program(stack_file_config(GATEWAY_EXAMPLE))


@pytest.fixture(scope="module")
def pd_run():
    return run_program(stack_file_config(PD_EXAMPLE))


# --- config -------------------------------------------------------------------


def test_a_route_must_name_a_pool_or_pd_stack():
    config = example()
    config["llm-serving:inferenceGateway"]["routes"]["nope"] = {}
    message = error_of(config)
    assert "llm-serving:inferenceGateway.routes.nope" in message and POOL in message


def test_two_routes_cannot_share_a_path_or_a_model():
    config = example()
    config["llm-serving:pools"]["copy"] = dict(config["llm-serving:pools"][POOL])
    config["llm-serving:inferenceGateway"]["routes"]["copy"] = {"pathPrefix": "/llama"}
    message = error_of(config)
    assert 'llm-serving:inferenceGateway.routes.copy.pathPrefix = "/llama"' in message
    assert "llm-serving:inferenceGateway.routes.copy.matchModelHeader" in message


def test_scorer_names_and_weights_are_checked():
    config = example()
    config["llm-serving:inferenceGateway"]["endpointPicker"] = {"scorers": {"prefix-cache-scorer": 0}}
    assert "positive weight" in error_of(config)
    config["llm-serving:inferenceGateway"]["endpointPicker"] = {"scorers": {"random-scorer": 1}}
    assert "llm-serving:inferenceGateway.endpointPicker.scorers" in error_of(config)


def test_path_prefix_must_be_a_path():
    config = example()
    config["llm-serving:inferenceGateway"]["routes"][POOL]["pathPrefix"] = "llama/"
    assert "llm-serving:inferenceGateway.routes.llama-3-1-8b.pathPrefix" in error_of(config)


# --- what the program registers --------------------------------------------------


def test_every_gateway_object_validates_against_its_crd(gateway_run, pd_run):
    for run in (gateway_run, pd_run):
        for kind in ("Gateway", "HTTPRoute", "InferencePool", "InferenceObjective"):
            for resource in run.of_kind(kind):
                assert validation_errors(resource.manifest) == [], resource.name


def test_the_inference_pool_selects_the_pools_serving_pods_and_port(gateway_run):
    pool = gateway_run.one("InferencePool", POOL).inputs["spec"]
    deployment = gateway_run.one("Deployment", POOL).inputs["spec"]
    labels = deployment["template"]["metadata"]["labels"]
    assert pool["selector"]["matchLabels"].items() <= labels.items()
    (container,) = deployment["template"]["spec"]["containers"]
    assert pool["targetPorts"] == [{"number": container["ports"][0]["containerPort"]}]
    assert pool["endpointPickerRef"] == {
        "name": f"{POOL}-epp",
        "port": {"number": 9002},
        "failureMode": "FailOpen",
    }
    epp_service = gateway_run.one("Service", f"{POOL}-epp").inputs["spec"]
    assert {p["name"]: p["port"] for p in epp_service["ports"]} == {"grpc-ext-proc": 9002, "metrics": 9090}


def test_a_multi_node_pool_routes_to_its_leaders_only():
    config = copy.deepcopy(stack_file_config(ROOT / "examples" / "multinode-405b.yaml"))
    config["llm-serving:inferenceGateway"] = {"routes": {"llama-405b": {}}}
    run = run_program(config)
    selector = run.one("InferencePool", "llama-405b").inputs["spec"]["selector"]["matchLabels"]
    assert selector["llm-serving.io/group-role"] == "leader"


def test_routes_go_by_path_and_by_model(gateway_run):
    route = gateway_run.one("HTTPRoute", POOL).inputs["spec"]
    assert route["parentRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "inference-gateway"}
    ]
    by_path, by_model = route["rules"]
    assert by_path["matches"] == [{"path": {"type": "PathPrefix", "value": "/llama"}}]
    assert by_path["filters"][0]["urlRewrite"]["path"] == {
        "type": "ReplacePrefixMatch",
        "replacePrefixMatch": "/",
    }
    assert by_model["matches"][0]["headers"] == [
        {"type": "Exact", "name": "X-Gateway-Model-Name", "value": "llama-3.1-8b"}
    ]
    for rule in route["rules"]:
        assert rule["backendRefs"] == [
            {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": POOL}
        ]
        assert rule["timeouts"] == {"request": "300s"}
    gateway = gateway_run.one("Gateway", "inference-gateway").inputs["spec"]
    assert gateway["gatewayClassName"] == "agentgateway"
    assert gateway["listeners"][0]["allowedRoutes"] == {"namespaces": {"from": "Same"}}


def test_each_model_has_an_objective_with_its_priority(gateway_run):
    objective = gateway_run.one("InferenceObjective", POOL).inputs["spec"]
    assert objective == {
        "priority": 10,
        "poolRef": {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": POOL},
    }


def test_the_picker_has_least_privilege_rbac(gateway_run):
    (role,) = gateway_run.of_kind("Role")
    rules = {(tuple(r["apiGroups"]), tuple(r["resources"])): r["verbs"] for r in role.inputs["rules"]}
    assert rules == {
        (("",), ("pods",)): ["get", "list", "watch"],
        (("inference.networking.k8s.io",), ("inferencepools",)): ["get", "list", "watch"],
        (("inference.networking.x-k8s.io",), ("inferenceobjectives", "inferencemodelrewrites")): [
            "get",
            "list",
            "watch",
        ],
    }
    assert not gateway_run.of_kind("ClusterRole") and not gateway_run.of_kind("ClusterRoleBinding")
    (binding,) = gateway_run.of_kind("RoleBinding")
    assert binding.inputs["subjects"][0]["name"] == f"{POOL}-epp"


def test_the_picker_deployment_runs_upstreams_flags_probes_and_config(gateway_run):
    deployment = gateway_run.one("Deployment", f"{POOL}-epp").inputs["spec"]
    assert deployment["strategy"] == {"type": "Recreate"}
    pod = deployment["template"]["spec"]
    assert pod["serviceAccountName"] == f"{POOL}-epp" and pod["automountServiceAccountToken"] is True
    (container,) = pod["containers"]
    assert container["image"] == "registry.k8s.io/gateway-api-inference-extension/epp:v1.5.0"
    args = container["args"]
    assert args[args.index("--pool-name") + 1] == POOL
    assert args[args.index("--pool-namespace") + 1] == STACK_NAMESPACE
    assert args[args.index("--config-file") + 1] == "/config/plugins.yaml"
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["grpc"] == {"port": 9003, "service": "inference-extension"}
    assert container["resources"]["requests"] == container["resources"]["limits"]
    config = gateway_run.one("ConfigMap", f"{POOL}-epp").inputs["data"]["plugins.yaml"]
    profile = yaml.safe_load(config)["schedulingProfiles"][0]["plugins"]
    assert {p["pluginRef"]: p["weight"] for p in profile} == {
        "queue-scorer": 2,
        "kv-cache-utilization-scorer": 2,
        "prefix-cache-scorer": 3,
    }
    assert len(deployment["template"]["metadata"]["annotations"]["llm-serving.io/plugins-sha256"]) == 64
    assert gateway_run.one("PodDisruptionBudget", f"{POOL}-epp")


def test_several_pickers_elect_a_leader():
    config = example()
    config["llm-serving:inferenceGateway"]["endpointPicker"] = {"replicas": 2}
    run = run_program(config)
    (container,) = run.one("Deployment", f"{POOL}-epp").inputs["spec"]["template"]["spec"]["containers"]
    assert "--ha-enable-leader-election" in container["args"]
    assert container["readinessProbe"]["grpc"]["service"] == "readiness"
    (role,) = run.of_kind("Role")
    assert any("leases" in r["resources"] for r in role.inputs["rules"])


def test_a_pd_stack_is_routed_to_its_router(pd_run):
    route = pd_run.one("HTTPRoute", "llama-70b").inputs["spec"]
    for rule in route["rules"]:
        assert rule["backendRefs"] == [{"kind": "Service", "name": "llama-70b-router", "port": 8080}]
        assert rule["timeouts"] == {"request": "600s"}
    # One picker: for the plain pool only.
    assert [p.inputs["metadata"]["name"] for p in pd_run.of_kind("InferencePool")] == [POOL]


def test_no_routes_no_gateway_objects():
    config = example()
    del config["llm-serving:inferenceGateway"]
    run = run_program(config)
    for kind in ("Gateway", "HTTPRoute", "InferencePool", "InferenceObjective", "Role"):
        assert not run.of_kind(kind)


def test_the_implementation_is_an_optional_pinned_release_crds_first():
    config = example()
    config["llm-serving:inferenceGateway"]["implementation"] = {"install": True}
    run = run_program(config)
    crds, controller = run.of_kind("Release")
    assert crds.inputs["chart"] == "oci://cr.agentgateway.dev/charts/agentgateway-crds"
    assert controller.inputs["chart"] == "oci://cr.agentgateway.dev/charts/agentgateway"
    assert crds.inputs["version"] == controller.inputs["version"] == "v1.0.0"
    assert controller.inputs["values"]["inferenceExtension"] == {"enabled": True}
    assert crds.urn in controller.dependencies
    for kind in ("Gateway", "HTTPRoute", "InferencePool"):
        assert controller.urn in run.of_kind(kind)[0].dependencies
    assert len(run.of_kind("Namespace")) == 2  # the stack's and the implementation's


def test_monitoring_scrapes_the_picker_with_upstreams_metric_names():
    config = example()
    config["llm-serving:monitoring"] = {"enabled": True}
    run = run_program(config)
    monitors = {m.inputs["metadata"]["name"]: m.inputs["spec"] for m in run.of_kind("ServiceMonitor")}
    assert monitors[f"{POOL}-epp"]["endpoints"][0]["port"] == "metrics"
    (rules,) = run.of_kind("PrometheusRule")
    alerts = {r["alert"]: r["expr"] for r in rules.inputs["spec"]["groups"][0]["rules"]}
    assert "inference_pool_ready_pods" in alerts["InferencePoolNoReadyPods"]
    dashboards = {c.inputs["metadata"]["name"]: c for c in run.of_kind("ConfigMap")}
    picker_dashboard = dashboards[f"{POOL}-epp-dashboard"].inputs["data"][f"{POOL}-epp.json"]
    assert "inference_extension_scheduler_e2e_duration_seconds_bucket" in picker_dashboard


# --- the endpoint picker's real flag parser -----------------------------------------


def epp_binary() -> Path:
    path = subprocess.run(
        [str(ROOT / "scripts" / "tools.sh"), "path", "epp"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert Path(path).exists(), f"the endpoint picker is not built at {path}; run `make tools`"
    return Path(path)


def run_epp(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run the picker with no cluster to reach: it parses and validates its flags, then
    fails looking for a kubeconfig."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "none")}
    return subprocess.run([str(epp_binary()), *args], capture_output=True, text=True, env=env, timeout=60)


def test_the_pickers_parser_accepts_our_arguments(tmp_path):
    picker = EndpointPickerConfig(replicas=2)
    config = tmp_path / "plugins.yaml"
    config.write_text(render_plugins_config(picker))
    args = render_epp_args(picker, POOL, "llm-serving")
    args[args.index("--config-file") + 1] = str(config)
    result = run_epp(args, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0  # no cluster here
    assert "unknown flag" not in output and "invalid argument" not in output, output
    assert "either pool-name or endpoint-selector" not in output
    # The step after flag parsing and validation (cmd/epp/runner/runner.go, Run).
    assert "Failed to get Kubernetes rest config" in output, output


def test_the_pickers_parser_rejects_a_wrong_flag(tmp_path):
    """The check above can fail: an unknown flag is refused by the parser."""
    result = run_epp(["--pool-name", POOL, "--no-such-flag"], tmp_path)
    assert result.returncode != 0 and "unknown flag" in result.stdout + result.stderr


def test_the_gateway_proxy_reaches_its_control_plane_whether_installed_here_or_not(gateway_run):
    """The proxies get their configuration over xDS from the implementation's controller
    (agentgateway-system by default); the example uses an implementation that was there
    before (install: false), as most clusters do."""
    (policy,) = [
        p for p in gateway_run.of_kind("NetworkPolicy") if p.inputs["metadata"]["name"].endswith("-proxy")
    ]
    peers = [peer for rule in policy.inputs["spec"]["egress"] for peer in rule.get("to", [])]
    assert any(
        "podSelector" not in peer and "agentgateway-system" in json.dumps(peer.get("namespaceSelector"))
        for peer in peers
    ), peers
