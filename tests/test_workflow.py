"""The pull-request workflow (.github/workflows/): it cannot run here, so what can be
checked is: it is valid for the forge (the published GitHub workflow schema, as
vendored by check-jsonschema), every command it runs is a make target that CI here
runs too, third-party actions are pinned by commit, and the jobs keep the promised
shape (preview on pull requests with a comment, dev on merge, prod manual and
approved, secrets only from the secret store)."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from harness import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
CHECK_JSONSCHEMA = str(ROOT / ".venv" / "bin" / "check-jsonschema")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
MAKE_INVOCATION = re.compile(r"""["']make["'],\s*(?:["']-s["'],\s*)?["']([\w-]+)["']""")


def load(path):
    # PyYAML reads the key `on` as True (YAML 1.1); the forge reads it as "on".
    workflow = yaml.safe_load(path.read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


@pytest.fixture(scope="module")
def workflow() -> dict:
    return load(ROOT / ".github" / "workflows" / "pulumi.yml")


def check_against_the_published_schema(*paths) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHECK_JSONSCHEMA, "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True,
        text=True,
    )


def test_workflows_valid_against_the_github_workflow_schema():
    result = check_against_the_published_schema(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path, workflow):
    broken = dict(workflow)
    broken["jobs"] = {"test": {**workflow["jobs"]["test"], "runs-onn": "ubuntu-24.04"}}
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    assert check_against_the_published_schema(path).returncode != 0


def targets_ci_runs() -> set[str]:
    """`test` and its prerequisites (the Makefile), and every target a test runs."""
    makefile = (ROOT / "Makefile").read_text()
    prerequisites = re.search(r"^test:(.*)$", makefile, re.MULTILINE).group(1).split()
    invoked = set()
    for test_file in (ROOT / "tests").glob("test_*.py"):
        invoked |= set(MAKE_INVOCATION.findall(test_file.read_text()))
    return {"test", *prerequisites, *invoked}


def steps(workflow):
    for job_name, job in workflow["jobs"].items():
        for step in job["steps"]:
            yield job_name, step


def test_every_command_is_a_make_target_ci_runs_too(workflow):
    ran = targets_ci_runs()
    for job_name, step in steps(workflow):
        if "run" not in step:
            continue
        command = step["run"].strip()
        match = re.fullmatch(r"make ([\w-]+)", command)
        assert match, f"{job_name}: '{command}' is not a single make target"
        assert match.group(1) in ran, f"{job_name}: make {match.group(1)} is not run by `make test`"


def test_actions_pinned_by_commit_and_pulumi_actions_official(workflow):
    used = [step["uses"] for _, step in steps(workflow) if "uses" in step]
    assert all(PINNED.match(action) for action in used), used
    assert any(action.startswith("pulumi/actions@") for action in used)


def pulumi_steps(job):
    return [step["with"] for step in job["steps"] if step.get("uses", "").startswith("pulumi/actions@")]


def test_pull_requests_preview_every_stack_with_a_comment(workflow):
    assert "pull_request" in workflow["on"]
    job = workflow["jobs"]["preview"]
    stacks = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
    assert sorted(job["strategy"]["matrix"]["stack"]) == stacks
    assert job["permissions"]["pull-requests"] == "write"
    (action,) = pulumi_steps(job)
    assert action["command"] == "preview" and action["stack-name"] == "${{ matrix.stack }}"
    assert action["policyPacks"] == "policy"
    # One comment per stack, ours (scripts/pr_comment.py): the preview, the capacity
    # table and the pictures, which the action's own comment would not carry.
    assert action["comment-on-pr"] is False
    (comment,) = [step for step in job["steps"] if step.get("run") == "make pr-comment"]
    assert comment["env"]["PREVIEW"] == "${{ steps.preview.outputs.output }}"
    assert comment["env"]["PR"] == "${{ github.event.pull_request.number }}"
    assert comment["env"]["STACK"] == "${{ matrix.stack }}"


def test_merge_applies_dev_and_prod_is_manual_and_approved(workflow):
    assert workflow["on"]["push"]["branches"] == ["main"]
    dev, prod = workflow["jobs"]["apply-dev"], workflow["jobs"]["apply-prod"]
    assert "push" in dev["if"] and dev["environment"] == "dev"
    assert [a["stack-name"] for a in pulumi_steps(dev)] == ["dev"]
    # Only a manual run on main, held for the prod environment's required reviewers.
    assert "workflow_dispatch" in workflow["on"]
    assert prod["if"].startswith("github.event_name == 'workflow_dispatch'")
    assert "refs/heads/main" in prod["if"] and prod["environment"] == "prod"
    assert [(a["command"], a["stack-name"]) for a in pulumi_steps(prod)] == [("up", "prod")]
    assert dev["needs"] == prod["needs"] == "test"


def test_credentials_only_from_the_secret_store(workflow):
    text = (ROOT / ".github" / "workflows" / "pulumi.yml").read_text()
    for name in ("PULUMI_CONFIG_PASSPHRASE", "AWS_SECRET_ACCESS_KEY"):
        values = set(re.findall(rf"^\s+{name}: (.+)$", text, re.MULTILINE))
        assert values == {f"${{{{ secrets.{name} }}}}"}, values
    for job in ("preview", "apply-dev", "apply-prod"):
        for action in pulumi_steps(workflow["jobs"][job]):
            assert action["cloud-url"] == "${{ secrets.PULUMI_BACKEND_URL }}"
            assert "secrets.KUBECONFIG_" in action["config-map"] and "secret: true" in action["config-map"]
