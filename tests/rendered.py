"""Every stack's Kubernetes objects, rendered to YAML files for scanners (checkov).

The real __main__.py runs under Pulumi's mocks (tests/harness.py), once per stack file
(`Pulumi.*.yaml`, `examples/*.yaml`); each object is written to
`<out>/<stack>/<kind>-<name>.yaml`. Helm releases are not Kubernetes objects and are
left out (their charts are not ours to scan). Scanners know no LeaderWorkerSet, so
each one's leader and worker pod templates are also written as Pods
(`<name>-leader`, `<name>-worker`), and checked as such.

    .venv/bin/python tests/rendered.py OUT_DIR
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml

TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS.parent), str(TESTS)]

from harness import ROOT, run_program, stack_file_config  # noqa: E402

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml")) + sorted((ROOT / "examples").glob("*.yaml"))


def stack_name(stack_file: Path) -> str:
    """`dev` for Pulumi.dev.yaml, the file's stem for an example."""
    return stack_file.stem.removeprefix("Pulumi.")


def scannable(manifest: dict) -> list[dict]:
    """The object, and for a LeaderWorkerSet its pod templates as Pods."""
    if manifest["kind"] != "LeaderWorkerSet":
        return [manifest]
    metadata = manifest["metadata"]
    templates = manifest["spec"]["leaderWorkerTemplate"]
    pods = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                **templates[f"{role}Template"]["metadata"],
                "name": f"{metadata['name']}-{role}",
                "namespace": metadata["namespace"],
            },
            "spec": templates[f"{role}Template"]["spec"],
        }
        for role in ("leader", "worker")
    ]
    return [manifest, *pods]


def render(out: Path) -> dict[str, int]:
    """Write every stack's objects under `out` (emptied first); objects per stack."""
    shutil.rmtree(out, ignore_errors=True)
    counts = {}
    for stack_file in STACK_FILES:
        manifests = run_program(stack_file_config(stack_file)).manifests()
        directory = out / stack_name(stack_file)
        directory.mkdir(parents=True)
        for manifest in [item for m in manifests for item in scannable(m)]:
            name = f"{manifest['kind']}-{manifest['metadata']['name']}.yaml".lower()
            (directory / name).write_text(yaml.safe_dump(manifest, sort_keys=False))
        counts[stack_name(stack_file)] = len(manifests)
    return counts


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: tests/rendered.py OUT_DIR")
    for stack, count in render(Path(sys.argv[1])).items():
        print(f"{stack}: {count} objects")
