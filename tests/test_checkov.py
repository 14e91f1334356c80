"""checkov over every stack's rendered objects: at most 4 failed checks per workload,
each one of the accepted kinds docs/security.md explains; any other kind fails this test."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rendered import render
from scan import ACCEPTED, ACCEPTED_ONLY_ON, CHECKOV, MAX_FAILED_PER_WORKLOAD, scan

SECURITY_DOC = Path(__file__).resolve().parent.parent / "docs" / "security.md"


@pytest.fixture(scope="module")
def rendered_dir(tmp_path_factory) -> Path:
    assert CHECKOV.exists(), "checkov is not installed: run `make checkov-venv`"
    out = tmp_path_factory.mktemp("rendered")
    render(out)
    return out


@pytest.fixture(scope="module")
def failures(rendered_dir) -> dict[str, dict[str, set[str]]]:
    return scan(rendered_dir)


def test_every_stack_was_scanned(rendered_dir, failures):
    stacks = {path.name for path in rendered_dir.iterdir()}
    assert stacks >= {"dev", "prod"}
    # Every stack has workloads, and each shows up (each fails at least the digest check).
    assert set(failures) == stacks


def test_every_workload_fails_at_most_four_accepted_checks(failures):
    for stack, workloads in failures.items():
        for workload, checks in workloads.items():
            assert len(checks) <= MAX_FAILED_PER_WORKLOAD, (stack, workload, sorted(checks))
            unexplained = checks - set(ACCEPTED)
            assert not unexplained, f"{stack}/{workload}: new kinds of checkov failure {sorted(unexplained)}"
            for check in checks:
                assert workload.endswith(ACCEPTED_ONLY_ON.get(check, ("",))), (stack, workload, check)


def test_readme_explains_every_accepted_check():
    section = SECURITY_DOC.read_text().split("## Security scan", 1)[1]
    for check in ACCEPTED:
        assert f"`{check}`" in section, check


def test_the_scan_catches_a_pod_that_loses_its_hardening(rendered_dir, tmp_path):
    """The scanner is not vacuous: strip one Deployment's security contexts and checkov
    reports the kinds of failure this suite forbids."""
    (source,) = [p for p in (rendered_dir / "dev").glob("deployment-mixtral-8x7b.yaml")]
    deployment = yaml.safe_load(source.read_text())
    pod = deployment["spec"]["template"]["spec"]
    pod.pop("securityContext")
    for container in pod["containers"]:
        container.pop("securityContext")
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / source.name).write_text(yaml.safe_dump(deployment))
    checks = scan(tmp_path)["dev"]["mixtral-8x7b"]
    assert {"CKV_K8S_20", "CKV_K8S_23", "CKV_K8S_28"} <= checks - set(ACCEPTED)
