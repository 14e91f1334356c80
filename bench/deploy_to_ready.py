"""Time `pulumi up` to all-Ready against `kubectl apply` of the same objects, per stack.

On the local fake-GPU cluster (make cluster-up), for each stack: the local target's
config (scripts/local_target.py) is deployed twice into fresh namespaces,
  1. `scripts/pulumi up` (the engine waits for every object to be ready), and
  2. `kubectl apply --server-side` of the same objects, as the program registers them
     (rendered under Pulumi's mocks), then `kubectl wait` for every Deployment
     Available and every Job Complete: the readiness Pulumi waits for,
and both are torn down after. kubectl is the one built from the same Kubernetes
module as the cluster. Prints the seconds of each and their ratio.

Usage: .venv/bin/python bench/deploy_to_ready.py [STACK ...]   (default: dev prod)
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "scripts"), str(ROOT)]

import local_target  # noqa: E402
from harness import run_program  # noqa: E402
from kube import apply, kubectl, remove_namespace_and_its_volumes  # noqa: E402

PULUMI = str(ROOT / "scripts" / "pulumi")
WAIT = "--timeout=300s"


def engine_seconds(stack: str, work: Path) -> tuple[float, int]:
    namespace = f"bench-pulumi-{stack}"
    env = local_target.engine_env(work / "state", secrets.token_hex(8))
    (work / "state").mkdir(parents=True)
    config = local_target.prepare(ROOT / f"Pulumi.{stack}.yaml", namespace, work / "Pulumi.bench.yaml")
    local_target.ensure_stack(stack, env)
    base = ["-s", stack, "--config-file", str(config)]
    try:
        started = time.monotonic()
        subprocess.run(
            [PULUMI, "up", "--yes", "--skip-preview", *base], env=env, check=True, capture_output=True
        )
        elapsed = time.monotonic() - started
        exported = subprocess.run(
            [PULUMI, "stack", "export", "-s", stack], env=env, check=True, capture_output=True, text=True
        ).stdout
        return elapsed, exported.count('"type": "kubernetes:')
    finally:
        subprocess.run([PULUMI, "destroy", "--yes", *base], env=env, capture_output=True)
        remove_namespace_and_its_volumes(namespace)


def kubectl_seconds(stack: str, work: Path) -> tuple[float, int]:
    namespace = f"bench-kubectl-{stack}"
    config_file = local_target.prepare(ROOT / f"Pulumi.{stack}.yaml", namespace, work / "Pulumi.kubectl.yaml")
    config = yaml.safe_load(config_file.read_text())["config"]
    objects = run_program(config, hf_token=None).manifests()
    try:
        started = time.monotonic()
        apply(sorted(objects, key=lambda o: 0 if o["kind"] in ("Namespace", "StorageClass") else 1))
        kubectl("wait", "--for=condition=Available", "deployment", "--all", "-n", namespace, WAIT)
        if any(o["kind"] == "Job" for o in objects):
            kubectl("wait", "--for=condition=Complete", "job", "--all", "-n", namespace, WAIT)
        return time.monotonic() - started, len(objects)
    finally:
        remove_namespace_and_its_volumes(namespace)


def main() -> None:
    subprocess.run([str(ROOT / "scripts" / "local-cluster"), "up"], check=True, stdout=subprocess.DEVNULL)
    stacks = sys.argv[1:] or ["dev", "prod"]
    print(f"{'stack':<8} {'objects':>8} {'pulumi up (s)':>14} {'kubectl (s)':>12} {'ratio':>6}")
    for stack in stacks:
        with tempfile.TemporaryDirectory(prefix=f"bench-{stack}-") as work:
            pulumi_s, pulumi_objects = engine_seconds(stack, Path(work) / "pulumi")
            kubectl_s, kubectl_objects = kubectl_seconds(stack, Path(work) / "kubectl")
        print(
            f"{stack:<8} {pulumi_objects:>4}/{kubectl_objects:<3} {pulumi_s:>14.1f} {kubectl_s:>12.1f} "
            f"{pulumi_s / kubectl_s:>6.2f}"
        )


if __name__ == "__main__":
    main()
