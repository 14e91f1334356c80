"""checkov's Kubernetes checks over every stack's rendered objects, per workload.

checkov runs from its own virtualenv (`make checkov-venv`: .venv-checkov, since its
pins clash with pulumi's), offline (`--skip-download`), over `tests/rendered.py`'s
output. A workload is a Deployment or Job with the pod checkov derives from it (graph
checks such as "a NetworkPolicy selects the pod" are reported on that pod).

    .venv/bin/python tests/scan.py [DIR]     # a table of failed checks per workload
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS.parent), str(TESTS)]

from rendered import render  # noqa: E402

CHECKOV = TESTS.parent / ".venv-checkov" / "bin" / "checkov"

# What remains, and why it cannot apply (docs/security.md "Security scan" says the same).
ACCEPTED = {
    "CKV_K8S_43": "images are pinned to release tags (vllm/vllm-openai:v0.19.1, vllm/vllm-router:v0.1.17), "
    "not digests: resolving a digest needs registry access at preview; the release keys "
    "(`release.images.*`) accept `name@sha256:...`",
    "CKV_K8S_15": "imagePullPolicy IfNotPresent (config `vllm.imagePullPolicy`): pinned tags do not move, "
    "and Always would make every pod start depend on the registry (air-gapped workstations)",
    "CKV_K8S_35": "vLLM and vllm-router read their API key only from `--api-key` or the VLLM_API_KEY "
    "environment variable, and the P/D router its workers' key only from OPENAI_API_KEY (both from "
    "the Secret, never a literal); the HF token is a file",
    "CKV_K8S_38": "routers with pod discovery and endpoint pickers watch the API: each its own "
    "ServiceAccount with read access to what it watches in the namespace only; every other "
    "pod mounts no token",
    "CKV_K8S_8": "a multi-node group's worker runs only a Ray node and serves no HTTP: when Ray "
    "stops its container exits and LeaderWorkerSet recreates the group; the leader has the probes",
    "CKV_K8S_9": "the same worker: the group is ready when its leader (vLLM) is",
}
# Checks accepted only on some workloads, by the end of the workload's name.
ACCEPTED_ONLY_ON = {
    "CKV_K8S_38": ("-router", "-epp"),
    "CKV_K8S_8": ("-group-worker",),
    "CKV_K8S_9": ("-group-worker",),
}
MAX_FAILED_PER_WORKLOAD = 4


def scan(directory: Path) -> dict[str, dict[str, set[str]]]:
    """Failed check IDs per stack, per workload name."""
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(directory),
            "--framework",
            "kubernetes",
            "-o",
            "json",
            "--quiet",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        cwd=directory,
    )
    if result.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({result.returncode}): {result.stderr[-2000:]}")
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    reports = report if isinstance(report, list) else [report]
    failed: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for item in reports:
        for check in item.get("results", {}).get("failed_checks", []):
            stack = Path(check["file_path"].lstrip("/")).parts[0]
            # Kind.namespace.name[.labels of a derived pod]; names are DNS labels.
            workload = check["resource"].split(".")[2]
            failed[stack][workload].add(check["check_id"])
    return failed


def scan_stacks() -> dict[str, dict[str, set[str]]]:
    with tempfile.TemporaryDirectory(prefix="llm-serving-scan-") as out:
        render(Path(out))
        return scan(Path(out))


def main() -> None:
    failed = scan(Path(sys.argv[1])) if len(sys.argv) > 1 else scan_stacks()
    for stack in sorted(failed):
        for workload, checks in sorted(failed[stack].items()):
            print(f"{stack:20} {workload:32} {len(checks):2}  {' '.join(sorted(checks))}")


if __name__ == "__main__":
    main()
