"""Render mode: `make render` writes every manifest of a stack with no cluster, a second
run changes nothing, the files are valid objects, and destroy removes them. What
cannot be rendered (Helm releases, credential Secrets) is left out with a message."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from config.render import without_helm_releases
from harness import ROOT, run_program, stack_file_config
from local_target import parse
from schemas import validation_errors

RENDER_OPTION = "kubernetes:renderYamlToDirectory"


def test_helm_releases_turned_off_with_a_message_each():
    prod = parse(stack_file_config(ROOT / "Pulumi.prod.yaml"))
    assert prod.model_cache.longhorn.install and prod.monitoring.kube_prometheus_stack.install
    rendered, messages = without_helm_releases(prod)
    assert not rendered.model_cache.longhorn.install
    assert not rendered.monitoring.kube_prometheus_stack.install
    assert not rendered.gpu.operator.install
    assert [m.split(".install")[0] for m in messages] == [
        "render mode: modelCache.longhorn",
        "render mode: monitoring.kubePrometheusStack",
    ]
    assert all("cannot be rendered" in m for m in messages)
    # Everything else is untouched.
    assert (
        rendered.model_copy(update={"model_cache": prod.model_cache, "monitoring": prod.monitoring}) == prod
    )


def test_program_in_render_mode_leaves_out_exactly_releases_and_credentials():
    config = stack_file_config(ROOT / "Pulumi.prod.yaml")
    normal = {(r.type, r.name) for r in run_program(config).resources}
    rendered = run_program({**config, RENDER_OPTION: "/tmp/rendered"})
    assert normal - {(r.type, r.name) for r in rendered.resources} == {
        ("kubernetes:helm.sh/v3:Release", "model-cache-longhorn"),
        ("kubernetes:helm.sh/v3:Release", "monitoring-kube-prometheus-stack"),
        ("kubernetes:core/v1:Namespace", "model-cache-longhorn-namespace"),
        ("kubernetes:core/v1:Namespace", "monitoring-kube-prometheus-stack-namespace"),
        ("kubernetes:core/v1:Secret", "hf-token"),
        ("kubernetes:core/v1:Secret", "vllm-api-key"),
        ("random:index/randomPassword:RandomPassword", "vllm-api-key"),
    }
    # Pods still read the Secrets by the names a real deploy creates.
    pod_specs = [
        w.manifest["spec"]["template"]["spec"] for k in ("Deployment", "Job") for w in rendered.of_kind(k)
    ]
    refs = {
        env["valueFrom"]["secretKeyRef"]["name"]
        for spec in pod_specs
        for container in spec["containers"]
        for env in container.get("env", [])
        if "secretKeyRef" in env.get("valueFrom", {})
    } | {
        volume["secret"]["secretName"]
        for spec in pod_specs
        for volume in spec.get("volumes", [])
        if "secret" in volume
    }
    assert refs == {"hf-token", "vllm-api-key"}


def make_render(stack: str, out, work, *flags: str) -> subprocess.CompletedProcess:
    extra = [f"RENDER_FLAGS={' '.join(flags)}"] if flags and flags != ("destroy",) else []
    target = "render-destroy" if flags == ("destroy",) else "render"
    return subprocess.run(
        ["make", "-s", target, f"STACK={stack}", f"RENDER_DIR={out}", f"RENDER_WORK={work}", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_make_render_writes_valid_manifests_idempotently_and_destroy_removes_them(stack, tmp_path):
    out, work = tmp_path / "rendered", tmp_path / "work"
    first = make_render(stack, out, work)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    files = sorted(out.rglob("*.yaml"))
    manifests = [yaml.safe_load(f.read_text()) for f in files]
    expected = run_program(
        {**stack_file_config(ROOT / f"Pulumi.{stack}.yaml"), RENDER_OPTION: str(out)}, stack=stack
    ).manifests()
    assert len(manifests) == len(expected) > 0
    assert sorted((m["kind"], m["metadata"]["name"]) for m in manifests) == sorted(
        (m["kind"], m["metadata"]["name"]) for m in expected
    )
    for path, manifest in zip(files, manifests, strict=True):
        assert validation_errors(manifest) == [], path.name
        assert manifest["kind"] != "Secret", f"{path.name}: a Secret was rendered"
    if stack == "prod":
        assert "Helm releases cannot be rendered" in first.stdout + first.stderr

    second = make_render(stack, out, work, "--expect-no-changes")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert sorted(out.rglob("*.yaml")) == files

    destroyed = make_render(stack, out, work, "destroy")
    assert destroyed.returncode == 0, destroyed.stdout[-3000:] + destroyed.stderr[-3000:]
    assert list(out.rglob("*.yaml")) == []
