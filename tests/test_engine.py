"""The real Pulumi engine (scripts/pulumi: CLI, Python language host and kubernetes
provider built from Go modules) previewing, deploying, re-deploying and destroying
stacks on the local fake-GPU cluster, with the local target's config
(scripts/local_target.py): each stack in its own namespace and its own file backend.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from pathlib import Path

import pytest
import yaml

import local_target
from cluster_checks import (
    assert_every_deployment_fully_ready,
    assert_every_pod_running_and_ready,
    assert_every_service_has_a_ready_endpoint_per_replica,
    assert_gpu_pods_on_accepted_products_without_oversubscription,
)
from engine import backend_env, left_after_destroy, pulumi
from harness import ROOT, SECRET_SIGNATURE, SECRET_SIGNATURE_KEY, run_program, stack_file_config
from kube import get, kubectl, remove_namespace_and_its_volumes
from pr_comment import preview_summary

POLICY_PACK = ROOT / "policy" / "analyzer"
POLICY_PACK_NAME = "llm-serving-kubernetes"
# Stacks deployed with the engine: the two environments and seed 003's examples (a
# LeaderWorkerSet pool, run by the local cluster's LWS controller; a pool behind the
# inference gateway with its endpoint picker).
ENGINE_STACKS = {
    "dev": ROOT / "Pulumi.dev.yaml",
    "prod": ROOT / "Pulumi.prod.yaml",
    "multinode-405b": ROOT / "examples" / "multinode-405b.yaml",
    "llm-d-gateway": ROOT / "examples" / "llm-d-gateway.yaml",
}
PREVIEW_FILES = sorted(ROOT.glob("Pulumi.*.yaml")) + sorted((ROOT / "examples").glob("*.yaml"))


def expected_creates(config_file: Path) -> int:
    """What the mocks register for the same config, plus the Stack itself."""
    config = yaml.safe_load(config_file.read_text())["config"]
    token = config.pop("llm-serving:hfToken", None)
    return len(run_program(config, hf_token="placeholder" if token else None).resources) + 1


@pytest.mark.parametrize("stack_file", PREVIEW_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_preview_succeeds_offline_with_the_expected_creates(stack_file, cluster, tmp_path):
    namespace = "e2e-preview-" + stack_file.stem.removeprefix("Pulumi.").replace(".", "-")
    env = backend_env(tmp_path / "state")
    (tmp_path / "state").mkdir()
    config_file = local_target.prepare(stack_file, namespace, tmp_path / "Pulumi.preview.yaml")
    try:
        local_target.ensure_stack("preview", env)
        # With the policy pack, as `make preview` runs it; text output, since the
        # engine leaves policy reports out of --json.
        result = pulumi(
            env, "preview", "-s", "preview", "--config-file", str(config_file),
            "--policy-pack", str(POLICY_PACK), "--color", "never",
        )  # fmt: skip
        assert POLICY_PACK_NAME in result.stdout, "the policy pack did not run"
        lines = result.stdout.splitlines()
        violations = [line for line in lines if "[mandatory]" in line or "[advisory]" in line]
        assert violations == [], result.stdout[-6000:]
        creates = re.search(r"\+ (\d+) to create", result.stdout)
        assert creates and int(creates.group(1)) == expected_creates(config_file), result.stdout[-3000:]
        # What the pull-request comment shows of this preview (scripts/pr_comment.py).
        summary = preview_summary(result.stdout)
        assert summary[0] == "Policies:" and POLICY_PACK_NAME in summary[1] and "\u2705" in summary[1]
        assert f"    + {creates.group(1)} to create" in summary, summary
    finally:
        remove_namespace_and_its_volumes(namespace)


@pytest.fixture(scope="module", params=sorted(ENGINE_STACKS))
def deployed(request, cluster, tmp_path_factory):
    """One stack, up with the engine: yields what the checks need, destroys after."""
    stack = request.param
    namespace = f"e2e-engine-{stack}"
    work = tmp_path_factory.mktemp(f"engine-{stack}")
    (work / "state").mkdir()
    env = backend_env(work / "state")
    config_file = local_target.prepare(ENGINE_STACKS[stack], namespace, work / f"Pulumi.{stack}.yaml")
    local_target.ensure_stack(stack, env)
    # A token set the way users set it, made up here (never a fixture constant).
    token = "hf_e2e" + secrets.token_hex(16)
    base = ["-s", stack, "--config-file", str(config_file)]
    pulumi(env, "config", "set", "--secret", "llm-serving:hfToken", token, *base)
    pulumi(env, "config", "rm", "llm-serving:huggingFace", *base, check=False)
    preview = pulumi(env, "preview", *base, "--diff")
    started = time.monotonic()
    up = pulumi(env, "up", "--yes", "--skip-preview", *base)
    print(f"\n[engine] {stack}: pulumi up to all Ready in {time.monotonic() - started:.1f}s")
    run = {
        "stack": stack,
        "namespace": namespace,
        "env": env,
        "base": base,
        "token": token,
        "state": work / "state",
        "output": preview.stdout + preview.stderr + up.stdout + up.stderr,
    }
    try:
        yield run
    finally:
        pulumi(env, "destroy", "--yes", *base, check=False)
        remove_namespace_and_its_volumes(namespace)


def test_up_reaches_every_pod_ready(deployed):
    assert_every_pod_running_and_ready(deployed["namespace"])
    assert_every_deployment_fully_ready(deployed["namespace"])


def test_gpu_pods_on_accepted_products_without_oversubscription(deployed):
    assert_gpu_pods_on_accepted_products_without_oversubscription(deployed["namespace"])


def test_services_have_ready_endpoints(deployed):
    assert_every_service_has_a_ready_endpoint_per_replica(deployed["namespace"])


def test_second_up_reports_no_changes(deployed):
    pulumi(deployed["env"], "up", "--yes", "--expect-no-changes", *deployed["base"])


def test_hf_token_never_in_plaintext(deployed):
    token = deployed["token"]
    outputs = pulumi(deployed["env"], "stack", "output", "--json", "-s", deployed["stack"]).stdout
    state = "".join(p.read_text() for p in deployed["state"].rglob("*.json"))
    assert token not in deployed["output"]
    assert token not in outputs
    assert state and token not in state
    # It did reach the cluster, in the Secret the pods read.
    secret = json.loads(kubectl("get", "secret", "hf-token", "-n", deployed["namespace"], "-o", "json"))
    assert secret["data"]["HF_TOKEN"]


def test_another_stack_previews_next_to_it_in_its_own_namespace(deployed, tmp_path):
    """`make up` (dev) then `make preview STACK=prod` on one cluster, and the other way."""
    other = next(stack for stack in ENGINE_STACKS if stack != deployed["stack"])
    stack_file = ENGINE_STACKS[other]
    namespace = local_target.default_namespace(stack_file, other)
    assert namespace == f"llm-serving-{other}" != deployed["namespace"]
    env = backend_env(tmp_path / "state")
    (tmp_path / "state").mkdir()
    config_file = local_target.prepare(stack_file, namespace, tmp_path / "Pulumi.other.yaml")
    try:
        local_target.ensure_stack(other, env)
        pulumi(env, "preview", "-s", other, "--config-file", str(config_file))
    finally:
        remove_namespace_and_its_volumes(namespace)


def test_a_stack_that_would_take_over_its_objects_is_refused_at_preview(deployed, tmp_path):
    """Another stack (another checkout, its own backend) aimed at the same namespace."""
    env = backend_env(tmp_path / "state")
    (tmp_path / "state").mkdir()
    config_file = local_target.prepare(
        ENGINE_STACKS[deployed["stack"]], deployed["namespace"], tmp_path / "Pulumi.intruder.yaml"
    )
    local_target.ensure_stack("intruder", env)
    result = pulumi(env, "preview", "-s", "intruder", "--config-file", str(config_file), check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"belongs to stack llm-serving/{deployed['stack']} (llm-serving.io/stack)" in output, output[
        -3000:
    ]
    assert "stack llm-serving/intruder will not take it over" in output
    assert "Traceback" not in output


def test_api_key_is_a_random_password_secret_everywhere_but_the_cluster(deployed):
    """The stack's own RandomPassword (random provider built from Go modules): its value
    is in the state only as a secret, and in the Secret the pods read; never in
    outputs, logs or the state file's plaintext."""
    secret = json.loads(kubectl("get", "secret", "vllm-api-key", "-n", deployed["namespace"], "-o", "json"))
    key = base64.b64decode(secret["data"]["VLLM_API_KEY"]).decode()
    assert len(key) == 48 and key.isalnum()
    outputs = pulumi(deployed["env"], "stack", "output", "--json", "-s", deployed["stack"]).stdout
    state_files = list(deployed["state"].rglob("*.json"))
    state = "".join(p.read_text() for p in state_files)
    assert key not in deployed["output"]
    assert key not in outputs
    assert state and key not in state
    exported = json.loads(pulumi(deployed["env"], "stack", "export", "-s", deployed["stack"]).stdout)
    (password,) = [
        r
        for r in exported["deployment"]["resources"]
        if r["type"] == "random:index/randomPassword:RandomPassword"
    ]
    for field in ("result", "bcryptHash"):
        value = password["outputs"][field]
        assert value[SECRET_SIGNATURE_KEY] == SECRET_SIGNATURE and "ciphertext" in value, field
    assert password["inputs"]["length"] == 48 and password["inputs"]["special"] is False


def test_destroy_leaves_only_the_model_cache(deployed):
    namespace = deployed["namespace"]
    pulumi(deployed["env"], "destroy", "--yes", *deployed["base"])
    assert left_after_destroy(namespace) == {}
    claims = [c["metadata"]["name"] for c in get("persistentvolumeclaims", namespace)]
    assert claims == ["model-cache"]
    exported = json.loads(pulumi(deployed["env"], "stack", "export", "-s", deployed["stack"]).stdout)
    assert exported["deployment"].get("resources") in (None, [])


def test_local_target_says_which_add_ons_it_skips():
    _, dev_skipped = local_target.local_config(ROOT / "Pulumi.dev.yaml", "x")
    document, prod_skipped = local_target.local_config(ROOT / "Pulumi.prod.yaml", "x")
    assert dev_skipped == []
    assert prod_skipped == ["modelCache.longhorn", "monitoring.kubePrometheusStack"]
    stack = local_target.parse(document["config"])
    assert not any(installed for *_, installed in local_target.helm_addons(stack))
    assert stack.auth.existing_secret is None and not stack.create_namespace


@pytest.mark.parametrize("stack_file", PREVIEW_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_local_target_runs_the_stack_file_as_committed(stack_file):
    """Only Helm add-ons and the token (its placeholder Secret, in a namespace made
    first) differ from the committed file; the API key is the stack's own."""
    committed = stack_file_config(stack_file)
    local = local_target.local_config(stack_file, "x")[0]["config"]
    token_keys = {"llm-serving:huggingFace", "llm-serving:namespace", "llm-serving:createNamespace"}
    addon_sections = {
        "llm-serving:gpu",
        "llm-serving:modelCache",
        "llm-serving:monitoring",
        "llm-serving:leaderWorkerSet",
        "llm-serving:inferenceGateway",
    }
    changed = {key for key in committed.keys() | local.keys() if committed.get(key) != local.get(key)}
    # And the Ingress is not awaited: no ingress controller runs here.
    ingress = "llm-serving:ingress"
    assert changed <= token_keys | addon_sections | {ingress}
    for key in changed & addon_sections:
        assert without_installs(committed[key]) == without_installs(local[key]), key
    if ingress in changed:
        annotations = local[ingress].pop("annotations")
        assert annotations.pop("pulumi.com/skipAwait") == "true"
        assert annotations == committed[ingress].get("annotations", {})
        assert {k: v for k, v in committed[ingress].items() if k != "annotations"} == local[ingress]


def without_installs(section: dict) -> dict:
    """The section with every `install` key removed (and sections left empty by that)."""
    result = {}
    for key, value in section.items():
        if isinstance(value, dict):
            value = without_installs({k: v for k, v in value.items() if k != "install"})
            if not value:
                continue
        result[key] = value
    return result
