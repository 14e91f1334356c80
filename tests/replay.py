"""Kubernetes objects previewed again through the engine with the policy pack.

`tests/policy_replay/` registers a list of objects (manifests) as they are, each under
its kind's type token, with the kubernetes provider in render mode (no cluster); the
preview runs with `--policy-pack policy/analyzer`. Used by tests/test_policy_pack.py
(our stacks' objects, one changed per policy) and bench/policy_pack_peers.py (a peer's
chart, rendered by helm).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness import ROOT

PULUMI = str(ROOT / "scripts" / "pulumi")
PACK = ROOT / "policy" / "analyzer"
PACK_NAME = "llm-serving-kubernetes"
REPLAY = ROOT / "tests" / "policy_replay"
_VIOLATION = re.compile(r"- \[(mandatory|advisory)\]\s+([\w-]+)\s")


@dataclass(frozen=True)
class Preview:
    returncode: int
    output: str

    def violations(self) -> list[str]:
        """Lines of the preview's policy report that name a violation."""
        return [line for line in self.output.splitlines() if "[mandatory]" in line or "[advisory]" in line]

    def policies(self) -> list[tuple[str, str]]:
        """(level, policy) of every violation reported."""
        return [m.groups() for line in self.violations() if (m := _VIOLATION.search(line))]


def replay_preview(objects: list[dict], tmp_path: Path, python: str | None = None) -> Preview:
    project = tmp_path / "project"
    shutil.copytree(REPLAY, project)
    (tmp_path / "objects.json").write_text(json.dumps(objects))
    (tmp_path / "state").mkdir()
    env = {
        # No KUBECONFIG: render mode refuses one, and needs no cluster.
        **{k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "policy-replay",
        "POLICY_REPLAY_OBJECTS": str(tmp_path / "objects.json"),
        "POLICY_REPLAY_RENDER_DIR": str(tmp_path / "render"),
    }
    if python:
        env["POLICY_PYTHON"] = python  # policy/analyzer runs the pack with it
    cwd = ["--cwd", str(project)]
    subprocess.run([PULUMI, "stack", "init", "replay", *cwd], check=True, capture_output=True, env=env)
    result = subprocess.run(
        [PULUMI, "preview", "-s", "replay", *cwd, "--policy-pack", str(PACK), "--color", "never"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    return Preview(result.returncode, result.stdout + result.stderr)
