"""Every pod the program creates is hardened, for every stack file and every mode
that changes it (root forced by storage or config, discovery with or without RBAC)."""

from __future__ import annotations

import copy

import pytest

from components.security.pod_security import HOME, TMP
from config.errors import ConfigError
from config.loader import parse_stack_config
from harness import ROOT, ProgramRun, run_program, stack_file_config

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml")) + sorted((ROOT / "examples").glob("*.yaml"))
# Variables that name a directory some library writes to at run time.
WRITERS = [
    "HOME",
    "TMPDIR",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "VLLM_CACHE_ROOT",
    "VLLM_CONFIG_ROOT",
    "TRITON_CACHE_DIR",
    "TORCHINDUCTOR_CACHE_DIR",
    "FLASHINFER_WORKSPACE_BASE",
    "CUDA_CACHE_PATH",
    "NUMBA_CACHE_DIR",
    "OUTLINES_CACHE_DIR",
    "HF_HOME",
]


@pytest.fixture(scope="module", params=STACK_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def stack_run(request) -> ProgramRun:
    return run_program(stack_file_config(request.param))


def pod_specs(run: ProgramRun) -> list[tuple[str, dict]]:
    return [
        (r.inputs["metadata"]["name"], r.inputs["spec"]["template"]["spec"])
        for r in run.of_kind("Deployment") + run.of_kind("Job")
    ]


def env_values(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_every_container_drops_everything_and_never_escalates(stack_run):
    for name, pod in pod_specs(stack_run):
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["privileged"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert context["readOnlyRootFilesystem"] is True, name
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")


def test_pods_run_as_a_fixed_high_non_root_user(stack_run):
    for name, pod in pod_specs(stack_run):
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True, name
        assert context["runAsUser"] >= 10000 and context["runAsGroup"] >= 10000, name
        assert context["fsGroup"] == context["runAsGroup"], name
        assert context["fsGroupChangePolicy"] == "OnRootMismatch", name


def test_only_pods_that_watch_the_api_get_a_token_and_their_own_account(stack_run):
    """Routers with pod discovery and endpoint pickers; nothing else."""
    accounts = {a.inputs["metadata"]["name"] for a in stack_run.of_kind("ServiceAccount")}
    bound = {b.inputs["subjects"][0]["name"] for b in stack_run.of_kind("RoleBinding")}
    for name, pod in pod_specs(stack_run):
        if pod.get("automountServiceAccountToken") is False:
            assert "serviceAccountName" not in pod, name
            continue
        assert pod["automountServiceAccountToken"] is True and name.endswith(("-router", "-epp")), name
        assert pod["serviceAccountName"] in accounts and pod["serviceAccountName"] in bound, name
        if name.endswith("-router"):
            assert "--service-discovery" in pod["containers"][0]["args"], name


def test_every_write_path_is_on_a_writable_volume(stack_run):
    """A read-only root works only if every directory a library writes is a volume."""
    for name, pod in pod_specs(stack_run):
        writable = {
            v["name"] for v in pod.get("volumes", []) if "emptyDir" in v or "persistentVolumeClaim" in v
        }
        for container in pod["containers"]:
            mounts = [m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] in writable]
            assert TMP in mounts, name
            for variable, path in env_values(container).items():
                if variable in WRITERS:
                    assert any(path == m or path.startswith(m + "/") for m in mounts), (name, variable, path)
            if container["name"] in ("vllm", "download"):
                assert env_values(container)["HOME"] == HOME and HOME in mounts, name
                assert env_values(container)["USER"], name  # getpass.getuser() without a passwd entry


def test_the_hf_token_is_a_read_only_file_never_an_environment_variable(stack_run):
    for name, pod in pod_specs(stack_run):
        for container in pod["containers"]:
            variables = {e["name"]: e for e in container.get("env", [])}
            assert "HF_TOKEN" not in variables and "HUGGING_FACE_HUB_TOKEN" not in variables, name
            secret_refs = [
                e["valueFrom"]["secretKeyRef"]["name"]
                for e in variables.values()
                if "secretKeyRef" in e.get("valueFrom", {})
            ]
            assert "hf-token" not in secret_refs, name
            if container["name"] in ("vllm", "download"):
                path = variables["HF_TOKEN_PATH"]["value"]
                (mount,) = [m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
                assert mount["readOnly"] is True
                (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
                assert volume["secret"]["defaultMode"] == 0o440


def test_gpu_pods_are_guaranteed_qos(stack_run):
    for name, pod in pod_specs(stack_run):
        for container in pod["containers"]:
            resources = container["resources"]
            assert resources["limits"]["cpu"] and resources["limits"]["memory"], name
            if "nvidia.com/gpu" in resources["limits"]:
                assert resources["requests"] == resources["limits"], name


def test_a_cpu_limit_above_the_request_is_allowed_but_explicit():
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    config["llm-serving:pools"]["mixtral-8x7b"]["resources"]["cpuLimit"] = "32"
    (deployment,) = [
        d for d in run_program(config).of_kind("Deployment") if d.inputs["metadata"]["name"] == "mixtral-8x7b"
    ]
    resources = deployment.inputs["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert (resources["requests"]["cpu"], resources["limits"]["cpu"]) == ("16", "32")


def _host_path_config(**pod_security) -> dict:
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    config.pop("llm-serving:podSecurity")
    if pod_security:
        config["llm-serving:podSecurity"] = pod_security
    return config


def test_host_path_cache_runs_as_root_only_when_unprepared_and_says_so():
    config = _host_path_config()
    values = {k.removeprefix("llm-serving:"): v for k, v in config.items()}
    _, report = parse_stack_config(values, has_hf_token=True)
    (warning,) = [w for w in report.warnings if "root" in w]
    assert (
        "podSecurity.runAsRoot: false" in warning
        and "install -d -o 10001 -g 10001 /var/lib/llm-models" in warning
    )
    run = run_program(config)
    for name, pod in pod_specs(run):
        assert pod["securityContext"]["runAsUser"] == 0, name
        assert "fsGroup" not in pod["securityContext"]
        for container in pod["containers"]:
            # Root, but still no capabilities, no escalation, read-only root.
            assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
    (volume,) = run.of_kind("PersistentVolume")
    assert volume.inputs["spec"]["hostPath"]["type"] == "DirectoryOrCreate"


def test_a_prepared_host_path_runs_non_root_and_must_exist():
    run = run_program(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    (volume,) = run.of_kind("PersistentVolume")
    # A missing directory fails the mount visibly instead of appearing owned by root.
    assert volume.inputs["spec"]["hostPath"]["type"] == "Directory"


def test_root_can_be_forced_for_an_image_that_needs_it():
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.prod.yaml"))
    config["llm-serving:podSecurity"] = {"runAsRoot": True}
    for name, pod in pod_specs(run_program(config)):
        assert pod["securityContext"]["runAsUser"] == 0, name
        assert pod["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_read_only_root_and_ids_are_configurable():
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.prod.yaml"))
    config["llm-serving:podSecurity"] = {
        "runAsUser": 20000,
        "runAsGroup": 20001,
        "fsGroup": 20001,
        "readOnlyRootFilesystem": False,
    }
    for name, pod in pod_specs(run_program(config)):
        assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["fsGroup"]) == (20000, 20001), (
            name
        )
        assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is False


def test_a_cache_under_root_is_refused_for_non_root_pods():
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.prod.yaml"))
    config["llm-serving:modelCache"]["mountPath"] = "/root/.cache/huggingface"
    values = {k.removeprefix("llm-serving:"): v for k, v in config.items()}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(values, has_hf_token=True)
    assert 'llm-serving:modelCache.mountPath = "/root/.cache/huggingface"' in caught.value.message
    assert "/var/cache/huggingface" in caught.value.message
    config["llm-serving:podSecurity"] = {"runAsRoot": True}
    parse_stack_config({k.removeprefix("llm-serving:"): v for k, v in config.items()}, has_hf_token=True)
