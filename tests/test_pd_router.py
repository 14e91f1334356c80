"""Prefill/decode disaggregation: the prod stack (seed 001), a mixed-TP example, the
`services` discovery mode, config rules, and the real vllm-router argument parser."""

from __future__ import annotations

import copy
import json
import typing
from importlib.metadata import version

import pulumi
import pytest
from vllm_router.launch_router import parse_router_args
from vllm_router.router_args import RouterArgs

from config.errors import ConfigError
from config.loader import parse_stack_config
from config.release import VLLM_ROUTER_IMAGE
from config.serving.router_args import API_KEY_ARG, ROUTER_TYPED_FLAGS
from config.serving.sections import RouterPolicy
from harness import ROOT, STACK_NAMESPACE, ProgramRun, Registered, run_program, stack_file_config
from schemas import validation_errors

PD = "llm-serving:pdStacks"


def container(deployment: Registered, name: str) -> dict:
    (found,) = [c for c in deployment.inputs["spec"]["template"]["spec"]["containers"] if c["name"] == name]
    return found


def flag_values(args: list[str], flag: str) -> list[str]:
    """Every value following `flag`, up to the next flag."""
    start = args.index(flag) + 1
    values = []
    for arg in args[start:]:
        if arg.startswith("--"):
            break
        values.append(arg)
    return values


def parse_with_the_real_router(args: list[str]) -> RouterArgs:
    """The installed vllm-router's own parser and validation; unknown flags exit."""
    try:
        parsed = parse_router_args(args)
    except SystemExit as exit_:
        pytest.fail(f"vllm-router rejected {args}: exit {exit_.code}")
    parsed._validate_router_args()
    return parsed


@pytest.fixture(scope="module")
def prod() -> ProgramRun:
    return run_program(stack_file_config(ROOT / "Pulumi.prod.yaml"))


@pytest.fixture(scope="module")
def mixed_tp() -> ProgramRun:
    return run_program(stack_file_config(ROOT / "examples" / "pd-mixed-tp.yaml"))


@pytest.fixture(scope="module")
def services_mode() -> ProgramRun:
    return run_program(stack_file_config(ROOT / "examples" / "pd-services.yaml"))


def router_args(run: ProgramRun, stack: str) -> list[str]:
    return container(run.one("Deployment", f"{stack}-router"), "router")["args"]


# --- prod: seed 001 ----------------------------------------------------------


def test_prod_is_eight_prefill_and_eight_decode_pods_of_one_gpu(prod):
    for role in ("prefill", "decode"):
        deployment = prod.one("Deployment", f"llama-3-1-8b-{role}")
        assert deployment.inputs["spec"]["replicas"] == 8
        vllm = container(deployment, "vllm")
        assert vllm["args"][0] == "meta-llama/Llama-3.1-8B-Instruct"
        assert vllm["resources"]["limits"] == {"cpu": "22", "memory": "100Gi", "nvidia.com/gpu": "1"}
        assert vllm["resources"]["requests"]["cpu"] == "22"
    assert prod.outputs["capacity"]["totalGpus"] == 16


def test_every_worker_has_the_nixl_kv_transfer_config_and_block_size(prod, mixed_tp, services_mode):
    for run in (prod, mixed_tp, services_mode):
        for deployment in run.of_kind("Deployment"):
            if deployment.inputs["metadata"]["name"].endswith("-router"):
                continue
            args = container(deployment, "vllm")["args"]
            kv = json.loads(flag_values(args, "--kv-transfer-config")[0])
            assert kv == {"kv_connector": "NixlConnector", "kv_role": "kv_both"}
            assert flag_values(args, "--block-size") == ["128"]


def test_nixl_side_channel_is_on_the_pod_ip_with_its_port_declared(prod):
    for role in ("prefill", "decode"):
        vllm = container(prod.one("Deployment", f"llama-3-1-8b-{role}"), "vllm")
        env = {e["name"]: e for e in vllm["env"]}
        host = env["VLLM_NIXL_SIDE_CHANNEL_HOST"]["valueFrom"]["fieldRef"]["fieldPath"]
        assert host == "status.podIP"
        port = int(env["VLLM_NIXL_SIDE_CHANNEL_PORT"]["value"])
        assert {"name": "nixl", "containerPort": port} in vllm["ports"]


def test_one_service_per_role_selecting_only_that_roles_pods(prod):
    for role, other in (("prefill", "decode"), ("decode", "prefill")):
        selector = prod.one("Service", f"llama-3-1-8b-{role}").inputs["spec"]["selector"]
        own = prod.one("Deployment", f"llama-3-1-8b-{role}").inputs["spec"]["template"]["metadata"]["labels"]
        foreign = prod.one("Deployment", f"llama-3-1-8b-{other}").inputs["spec"]["template"]["metadata"][
            "labels"
        ]
        assert selector["app.kubernetes.io/component"] == role
        assert all(own.get(k) == v for k, v in selector.items())
        assert not all(foreign.get(k) == v for k, v in selector.items())


def test_router_is_pinned_replicated_protected_and_probed(prod):
    deployment = prod.one("Deployment", "llama-3-1-8b-router")
    assert deployment.inputs["spec"]["replicas"] == 2
    router = container(deployment, "router")
    assert router["image"] == VLLM_ROUTER_IMAGE
    assert router["command"] == ["vllm-router"]
    assert router["livenessProbe"]["httpGet"]["path"] == "/liveness"
    assert router["readinessProbe"]["httpGet"]["path"] == "/readiness"
    pdb = prod.one("PodDisruptionBudget", "llama-3-1-8b-router").inputs["spec"]["selector"]["matchLabels"]
    assert all(deployment.inputs["spec"]["template"]["metadata"]["labels"][k] == v for k, v in pdb.items())
    service_ports = {
        p["name"]: p["port"] for p in prod.one("Service", "llama-3-1-8b-router").inputs["spec"]["ports"]
    }
    assert service_ports == {"http": 8080, "metrics": 29000}


def test_the_router_checks_each_client_key_with_a_prefill_worker(prod):
    """vllm-router's --api-key checks nothing coming in: the router is told to validate
    client tokens against the prefill Service's /v1/models, which vLLM answers 200
    only for the stack's key (and which the router's NetworkPolicy already admits)."""
    env = {e["name"]: e for e in container(prod.one("Deployment", "llama-3-1-8b-router"), "router")["env"]}
    url = env["API_KEY_VALIDATION_URLS"]["value"]
    assert url == "http://llama-3-1-8b-prefill.llm-serving-test.svc.cluster.local:8000/v1/models"
    assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "VLLM_API_KEY"


def test_edge_key_checks_leave_the_router_open_and_preview_says_so():
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.prod.yaml"))
    config[PD]["llama-3-1-8b"]["router"]["clientKeys"] = "edge"
    values = {key.removeprefix("llm-serving:"): value for key, value in config.items()}
    _, report = parse_stack_config(values, has_hf_token=True)
    assert any("router.clientKeys: edge" in warning for warning in report.warnings)
    run = run_program(config)
    env = {e["name"] for e in container(run.one("Deployment", "llama-3-1-8b-router"), "router")["env"]}
    assert "API_KEY_VALIDATION_URLS" not in env and "OPENAI_API_KEY" in env


def test_router_waits_for_both_roles_with_their_budget(prod):
    """The router is Ready only once a prefill and a decode pod are: Pulumi creates it
    after both roles' Deployments are Ready, and its rollout may take the slower role's
    model-load budget (not Kubernetes' 600 s default)."""
    router = prod.one("Deployment", "llama-3-1-8b-router")
    roles = [prod.one("Deployment", f"llama-3-1-8b-{role}") for role in ("prefill", "decode")]
    assert {role.urn for role in roles} <= set(router.dependencies)
    deadlines = [role.inputs["spec"]["progressDeadlineSeconds"] for role in roles]
    assert router.inputs["spec"]["progressDeadlineSeconds"] == max(deadlines) > 600


def test_router_binds_all_interfaces_for_http_and_metrics(prod):
    args = router_args(prod, "llama-3-1-8b")
    assert flag_values(args, "--host") == ["0.0.0.0"]
    assert flag_values(args, "--prometheus-host") == ["0.0.0.0"]
    assert flag_values(args, "--prometheus-port") == ["29000"]
    assert "--vllm-pd-disaggregation" in args and "--pd-disaggregation" not in args
    assert flag_values(args, "--policy") == ["consistent_hash"]
    assert flag_values(args, "--kv-connector") == ["nixl"]


def test_pod_discovery_selects_each_roles_pods_on_their_port(prod):
    args = router_args(prod, "llama-3-1-8b")
    assert "--service-discovery" in args
    assert flag_values(args, "--service-discovery-namespace") == [STACK_NAMESPACE]
    for role in ("prefill", "decode"):
        labels = prod.one("Deployment", f"llama-3-1-8b-{role}").inputs["spec"]["template"]["metadata"][
            "labels"
        ]
        selector = dict(item.split("=", 1) for item in flag_values(args, f"--{role}-selector"))
        assert selector and all(labels[k] == v for k, v in selector.items())
        port = container(prod.one("Deployment", f"llama-3-1-8b-{role}"), "vllm")["ports"][0]["containerPort"]
        assert flag_values(args, "--service-discovery-port") == [str(port)]


def test_pod_discovery_rbac_is_exactly_get_list_watch_pods_in_the_namespace(prod):
    (role,) = prod.of_kind("Role")
    assert role.inputs["metadata"]["namespace"] == STACK_NAMESPACE
    assert role.inputs["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
    ]
    assert not prod.of_kind("ClusterRole") and not prod.of_kind("ClusterRoleBinding")
    (binding,) = prod.of_kind("RoleBinding")
    (account,) = prod.of_kind("ServiceAccount")
    assert binding.inputs["roleRef"]["name"] == role.inputs["metadata"]["name"]
    assert binding.inputs["subjects"] == [
        {"kind": "ServiceAccount", "name": account.inputs["metadata"]["name"], "namespace": STACK_NAMESPACE}
    ]
    pod = prod.one("Deployment", "llama-3-1-8b-router").inputs["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account.inputs["metadata"]["name"]


def test_api_key_reaches_workers_and_router_from_the_secret(prod):
    for name in ("llama-3-1-8b-prefill", "llama-3-1-8b-decode"):
        env = {e["name"]: e for e in container(prod.one("Deployment", name), "vllm")["env"]}
        assert env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "vllm-api-key"
    router = container(prod.one("Deployment", "llama-3-1-8b-router"), "router")
    env = {e["name"]: e for e in router["env"]}
    assert env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "vllm-api-key"
    assert flag_values(router["args"], "--api-key") == [API_KEY_ARG]
    # The P/D router authenticates to its workers with OPENAI_API_KEY (vllm-router
    # 0.1.17, src/routers/http/vllm_pd_router.rs): the same key, from the same Secret.
    assert env["OPENAI_API_KEY"]["valueFrom"] == env["VLLM_API_KEY"]["valueFrom"]


def test_router_objects_validate(prod, services_mode):
    for run in (prod, services_mode):
        errors = [e for manifest in run.manifests() for e in validation_errors(manifest)]
        assert errors == []


# --- the real router parser ----------------------------------------------------


@pytest.mark.parametrize(
    "example", ["Pulumi.prod.yaml", "examples/pd-mixed-tp.yaml", "examples/pd-services.yaml"]
)
def test_the_real_vllm_router_parser_accepts_the_rendered_arguments(example):
    run = run_program(stack_file_config(ROOT / example))
    (router,) = [d for d in run.of_kind("Deployment") if d.inputs["metadata"]["name"].endswith("-router")]
    args = container(router, "router")["args"]
    parsed = parse_with_the_real_router(args)
    assert parsed.vllm_pd_disaggregation
    assert parsed.host == "0.0.0.0" and parsed.prometheus_host == "0.0.0.0"


def test_the_parser_check_fails_on_a_flag_the_router_does_not_know():
    with pytest.raises(pytest.fail.Exception):
        parse_with_the_real_router(["--vllm-pd-disaggregation", "--pd-disaggregation"])


def test_policy_vocabulary_matches_the_installed_router():
    parser_choices = {
        action.dest: set(action.choices)
        for action in _router_parser()._actions
        if action.dest in ("policy", "prefill_policy", "decode_policy")
    }
    ours = set(typing.get_args(RouterPolicy))
    assert parser_choices == {"policy": ours, "prefill_policy": ours, "decode_policy": ours}


def test_every_flag_we_own_exists_in_the_installed_router():
    known = {option for action in _router_parser()._actions for option in action.option_strings}
    assert set(ROUTER_TYPED_FLAGS) <= known


def test_router_image_matches_the_router_release_we_test_against():
    assert VLLM_ROUTER_IMAGE.endswith(":v" + version("vllm-router"))


def _router_parser():
    import argparse

    parser = argparse.ArgumentParser()
    RouterArgs.add_cli_args(parser)
    return parser


# --- mixed TP (seed 003) and services discovery ---------------------------------


def test_roles_can_use_different_tensor_parallelism(mixed_tp):
    gpus = {}
    for role, pods in (("prefill", 2), ("decode", 4)):
        deployment = mixed_tp.one("Deployment", f"llama-70b-{role}")
        assert deployment.inputs["spec"]["replicas"] == pods
        vllm = container(deployment, "vllm")
        gpus[role] = int(vllm["resources"]["limits"]["nvidia.com/gpu"])
        assert flag_values(vllm["args"], "--tensor-parallel-size") == [str(gpus[role])]
        mounts = {m["mountPath"] for m in vllm["volumeMounts"]}
        assert "/dev/shm" in mounts
    assert gpus == {"prefill": 4, "decode": 2}
    assert mixed_tp.outputs["capacity"]["totalGpus"] == 16
    args = router_args(mixed_tp, "llama-70b")
    assert flag_values(args, "--prefill-policy") == ["power_of_two"]


def test_services_discovery_uses_one_url_per_role_service_like_the_seed(services_mode):
    args = router_args(services_mode, "llama-3-1-8b")
    assert flag_values(args, "--prefill") == [
        "http://llama-3-1-8b-prefill.llm-serving-test.svc.cluster.local:8000"
    ]
    assert flag_values(args, "--decode") == [
        "http://llama-3-1-8b-decode.llm-serving-test.svc.cluster.local:8200"
    ]
    assert "--service-discovery" not in args
    assert not services_mode.of_kind("Role") and not services_mode.of_kind("ServiceAccount")
    pod = services_mode.one("Deployment", "llama-3-1-8b-router").inputs["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    decode = container(services_mode.one("Deployment", "llama-3-1-8b-decode"), "vllm")
    assert flag_values(decode["args"], "--port") == ["8200"]
    service = services_mode.one("Service", "llama-3-1-8b-decode").inputs["spec"]["ports"][0]
    assert service["port"] == 8200


def test_intra_node_data_parallel_size_is_passed_when_asked():
    config = copy.deepcopy(stack_file_config(ROOT / "examples" / "pd-services.yaml"))
    config[PD]["llama-3-1-8b"]["router"]["intraNodeDataParallelSize"] = 8
    args = router_args(run_program(config), "llama-3-1-8b")
    assert flag_values(args, "--intra-node-data-parallel-size") == ["8"]
    assert parse_with_the_real_router(args).intra_node_data_parallel_size == 8


# --- config rules -----------------------------------------------------------------


def pd_values(**router) -> dict:
    role = {"model": "meta-llama/Llama-3.1-8B-Instruct", "maxModelLen": 8192}
    return {
        "gpu": {"products": ["NVIDIA-H100-80GB-HBM3"]},
        "pdStacks": {"chat": {"router": router, "prefill": dict(role), "decode": dict(role)}},
    }


def error_of(values: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(values, has_hf_token=True)
    return caught.value.message


def test_pod_discovery_puts_decode_on_the_prefill_port_and_services_on_8200():
    stack, _ = parse_stack_config(pd_values(), has_hf_token=True)
    assert stack.pd_stacks["chat"].decode.service.port == 8000
    stack, _ = parse_stack_config(pd_values(discovery="services"), has_hf_token=True)
    assert stack.pd_stacks["chat"].prefill.service.port == 8000
    assert stack.pd_stacks["chat"].decode.service.port == 8200


def test_pod_discovery_with_different_role_ports_fails():
    values = pd_values()
    values["pdStacks"]["chat"]["decode"]["service"] = {"port": 8200}
    message = error_of(values)
    assert "llm-serving:pdStacks.chat.decode.service.port = 8200" in message
    assert "discovery" in message and "services" in message


def test_both_roles_must_serve_the_same_model():
    values = pd_values()
    values["pdStacks"]["chat"]["decode"]["model"] = "Qwen/Qwen3-0.6B"
    message = error_of(values)
    assert 'llm-serving:pdStacks.chat.decode.model = "Qwen/Qwen3-0.6B"' in message
    assert "same model" in message


def test_both_roles_must_use_the_same_served_name():
    values = pd_values()
    values["pdStacks"]["chat"]["decode"]["servedModelName"] = "other"
    assert "llm-serving:pdStacks.chat.decode.servedModelName" in error_of(values)


def test_block_size_is_set_once_for_the_stack():
    values = pd_values()
    values["pdStacks"]["chat"]["prefill"]["blockSize"] = 16
    message = error_of(values)
    assert "llm-serving:pdStacks.chat.prefill.blockSize = 16" in message
    assert "pdStacks.chat.blockSize" in message


def test_sizing_applies_to_each_role_with_its_key():
    values = pd_values()
    values["pdStacks"]["chat"]["decode"]["tensorParallelSize"] = 3
    assert "llm-serving:pdStacks.chat.decode.tensorParallelSize = 3" in error_of(values)
    values = pd_values()
    values["pdStacks"]["chat"]["prefill"]["model"] = values["pdStacks"]["chat"]["decode"]["model"] = (
        "meta-llama/Llama-3.1-70B-Instruct"
    )
    message = error_of(values)
    assert "llm-serving:pdStacks.chat.prefill.tensorParallelSize = 1" in message
    assert "llm-serving:pdStacks.chat.decode.tensorParallelSize = 1" in message


def test_router_policy_and_discovery_are_closed_vocabularies():
    assert "llm-serving:pdStacks.chat.router.policy" in error_of(pd_values(policy="least_busy"))
    assert "llm-serving:pdStacks.chat.router.discovery" in error_of(pd_values(discovery="dns"))


def test_data_parallel_size_needs_services_discovery():
    message = error_of(pd_values(intraNodeDataParallelSize=8))
    assert "llm-serving:pdStacks.chat.router" in message and "services" in message


def test_router_extra_args_cannot_repeat_a_rendered_flag():
    message = error_of(pd_values(extraArgs=["--host=127.0.0.1", "--retry-max-retries", "3"]))
    assert "llm-serving:pdStacks.chat.router.extraArgs[0]: sets --host" in message
    assert "127.0.0.1" not in message
    assert "--retry-max-retries" not in message


def test_worker_extra_args_cannot_set_the_kv_transfer_config():
    values = pd_values()
    values["pdStacks"]["chat"]["prefill"]["extraArgs"] = ["--kv-transfer-config", "{}"]
    assert "llm-serving:pdStacks.chat.prefill.extraArgs" in error_of(values)


def test_role_pool_names_cannot_collide_with_a_pool():
    values = pd_values()
    values["pools"] = {"chat-prefill": {"model": "Qwen/Qwen3-0.6B"}}
    assert "llm-serving:pools.chat-prefill" in error_of(values)


def test_pd_stack_names_leave_room_for_role_suffixes():
    values = pd_values()
    values["pdStacks"] = {"x" * 35: values["pdStacks"]["chat"]}
    assert "<name>-prefill" in error_of(values)


@pytest.mark.parametrize(
    ("ucx", "fragment"),
    [
        ("20000", "FIRST-LAST"),
        ("20199-20000", "FIRST <= LAST"),
        ("40000-40199", "ephemeral range"),
        ("20000-20009", "holds 10 ports, but a pod opens 80 UCX listeners"),
        ("5500-5799", "includes kvTransfer.sideChannelPort 5600"),
        ("7900-8199", "includes prefill.service.port 8000"),
    ],
)
def test_a_ucx_port_range_that_cannot_carry_the_transfer_fails_with_the_fix(ucx, fragment):
    values = pd_values()
    values["pdStacks"]["chat"]["kvTransfer"] = {"ucxPortRange": ucx}
    values["pdStacks"]["chat"]["decode"]["tensorParallelSize"] = 8
    message = error_of(values)
    assert "llm-serving:pdStacks.chat.kvTransfer.ucxPortRange" in message
    assert fragment in message and ucx in message


def test_a_stack_with_nothing_to_serve_fails():
    message = error_of({"gpu": {"products": ["NVIDIA-L40"]}})
    assert "llm-serving:pools" in message and "pdStacks" in message


def test_bad_pd_config_fails_the_program_before_any_resource():
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.prod.yaml"))
    config[PD]["llama-3-1-8b"]["decode"]["model"] = "Qwen/Qwen3-0.6B"
    run = ProgramRun()
    with pytest.raises(pulumi.RunError):
        run_program(config, run=run)
    assert run.resources == []
