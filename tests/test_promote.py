"""`make promote`: release keys copied from one stack file to another, exactly and only
them, refused while the source has un-applied changes; prints the diff and the
target's preview. Runs the real engine on a copy of the stack files in render mode
(manifests to a directory), so no cluster is needed."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest
import yaml

import promote
from harness import ROOT

PULUMI = str(ROOT / "scripts" / "pulumi")
NEW_IMAGE = "vllm/vllm-openai:v0.19.2"


def test_unapplied_keys_compare_values_as_the_engine_stores_them():
    applied = {
        "llm-serving:release": {"value": '{"images": {}}', "objectValue": {"images": {}}, "secret": False},
        "llm-serving:createNamespace": {"value": "false", "secret": False},
        "llm-serving:hfToken": {"secret": True},
    }
    same = {"llm-serving:release": {"images": {}}, "llm-serving:createNamespace": False}
    assert promote.unapplied_keys({**same, "llm-serving:hfToken": {"secure": "v1:x"}}, applied) == []
    assert promote.unapplied_keys(same, applied) == ["llm-serving:hfToken"]
    edited = {
        **same,
        "llm-serving:release": {"images": {"vllm": NEW_IMAGE}},
        "llm-serving:hfToken": {"secure": "y"},
    }
    assert promote.unapplied_keys(edited, applied) == ["llm-serving:release"]
    assert promote.unapplied_keys(
        {**same, "llm-serving:new": 1, "llm-serving:hfToken": {"secure": "y"}}, applied
    ) == ["llm-serving:new"]


@pytest.fixture
def project(tmp_path) -> tuple[Path, dict[str, str]]:
    """A project running this repo's program, with the dev and prod stack files in
    render mode, its own backend, and both stacks created."""
    project = tmp_path / "project"
    project.mkdir()
    settings = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    settings["main"] = os.path.relpath(ROOT, project)
    settings["runtime"]["options"]["virtualenv"] = os.path.relpath(ROOT / ".venv", project)
    (project / "Pulumi.yaml").write_text(yaml.safe_dump(settings))
    for stack in ("dev", "prod"):
        text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
        text += (
            f"  kubernetes:renderYamlToDirectory: {tmp_path / ('rendered-' + stack)}\n"
            "  llm-serving:huggingFace:\n    existingSecret: hf-token\n"
        )
        (project / f"Pulumi.{stack}.yaml").write_text(text)
    (tmp_path / "state").mkdir()
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "promote-" + secrets.token_hex(8),
    }
    env.pop("KUBECONFIG", None)
    for stack in ("dev", "prod"):
        engine(env, project, "stack", "init", stack, "--no-select")
    return project, env


def engine(env, project, *args) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [PULUMI, *args, "--cwd", str(project)], env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def make_promote(env, project, source="dev", *extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", "promote", f"FROM={source}", "TO=prod", f"PROMOTE_PROJECT={project}", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def set_vllm_image(stack_file: Path, image: str) -> None:
    text = stack_file.read_text()
    assert "      vllm: vllm/vllm-openai:v0.19.1\n" in text
    stack_file.write_text(text.replace("vllm: vllm/vllm-openai:v0.19.1", f"vllm: {image}"))


def test_make_promote_copies_only_the_release_keys_of_an_applied_source_and_rolls_back(project):
    project, env = project
    dev_file, prod_file = project / "Pulumi.dev.yaml", project / "Pulumi.prod.yaml"

    never_applied = make_promote(env, project)
    assert never_applied.returncode != 0
    assert "refused: stack dev has never been applied" in never_applied.stderr

    engine(env, project, "up", "--yes", "--skip-preview", "-s", "prod")  # prod's update 1
    set_vllm_image(dev_file, NEW_IMAGE)
    engine(env, project, "up", "--yes", "--skip-preview", "-s", "dev")
    prod_before = prod_file.read_text()
    promoted = make_promote(env, project)
    assert promoted.returncode == 0, promoted.stdout[-3000:] + promoted.stderr[-3000:]

    prod_after = prod_file.read_text()
    dev = yaml.safe_load(dev_file.read_text())["config"]
    before, after = yaml.safe_load(prod_before), yaml.safe_load(prod_after)
    assert after["config"]["llm-serving:release"] == dev["llm-serving:release"]
    # Nothing else of the target changed: other keys, comments, the schema modeline.
    assert {k: v for k, v in after["config"].items() if k != "llm-serving:release"} == {
        k: v for k, v in before["config"].items() if k != "llm-serving:release"
    }
    changed = [
        line
        for line in set(prod_before.splitlines()) ^ set(prod_after.splitlines())
        if not line.startswith("      ")
    ]
    assert changed == []
    # The diff, then the target's preview, showing the new image.
    assert f"+      vllm: {NEW_IMAGE}" in promoted.stdout
    assert "-      vllm: vllm/vllm-openai:v0.19.1" in promoted.stdout
    assert promoted.stdout.index("+      vllm:") < promoted.stdout.index("pulumi preview -s prod")
    assert (
        "Previewing update (prod)" in promoted.stdout
        and NEW_IMAGE in promoted.stdout.split("pulumi preview")[-1]
    )

    # An edit of dev not yet applied: promotion refuses and leaves prod alone.
    dev_file.write_text(dev_file.read_text().replace(NEW_IMAGE, "vllm/vllm-openai:v0.20.0"))
    refused = make_promote(env, project)
    assert refused.returncode != 0
    assert "refused: stack dev has un-applied changes: llm-serving:release" in refused.stderr
    assert prod_file.read_text() == prod_after

    # Rollback: prod applied with the new release (update 2), then the keys of its
    # update 1 promoted back.
    engine(env, project, "up", "--yes", "--skip-preview", "-s", "prod")
    rolled_back = make_promote(env, project, "prod", "FROM_UPDATE=1")
    assert rolled_back.returncode == 0, rolled_back.stdout[-3000:] + rolled_back.stderr[-3000:]
    release = yaml.safe_load(prod_file.read_text())["config"]["llm-serving:release"]
    assert release == before["config"]["llm-serving:release"]
    assert f"-      vllm: {NEW_IMAGE}" in rolled_back.stdout
    assert "copied from update #1 of stack prod" in rolled_back.stdout
