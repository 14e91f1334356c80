"""Time `pulumi up` to all-Ready against `helm install --wait` and `kubectl apply` + wait,
per stack, on the local fake-GPU cluster (make cluster-up).

For each stack, the local target's config (scripts/local_target.py) is deployed three
times, each into a fresh namespace, and torn down after:
  1. `scripts/pulumi up` (the engine waits for every object to be ready);
  2. `helm install --wait` of production-stack's chart (bench/production-stack/chart,
     vendored at a pinned commit) with values that render the same pods: the same
     replicas, images, CPU/memory/GPU requests, GPU node affinity, the GPU taint's
     toleration and runtime class (router replicas too, for P/D stacks). helm is the
     one scripts/tools.sh builds from its Go module (bench-only: `scripts/tools.sh
     build helm`);
  3. `kubectl apply --server-side` of the objects the program registers (rendered
     under Pulumi's mocks), then `kubectl wait` for every Deployment Available and
     every Job Complete: the readiness Pulumi waits for.
kubectl is the one built from the same Kubernetes module as the cluster. Prints the
seconds of each, the objects each created, and pulumi's ratio to helm.

Usage: .venv/bin/python bench/deploy_to_ready.py [STACK|STACK_FILE ...]
       (default: dev prod examples/seed-000-replicas.yaml)
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
from local_cluster import KUBECONFIG, ClusterError, tool  # noqa: E402

PULUMI = str(ROOT / "scripts" / "pulumi")
CHART = ROOT / "bench" / "production-stack" / "chart"
WAIT = "--timeout=300s"
DEFAULT_STACKS = ["dev", "prod", "examples/seed-000-replicas.yaml"]


def stack_file_and_name(argument: str) -> tuple[Path, str]:
    """'dev' -> Pulumi.dev.yaml; 'examples/seed-000-replicas.yaml' -> that file, 'seed-000-replicas'."""
    if argument.endswith(".yaml"):
        path = ROOT / argument
        return path, path.stem
    return ROOT / f"Pulumi.{argument}.yaml", argument


def engine_seconds(stack_file: Path, stack: str, work: Path) -> tuple[float, int]:
    namespace = f"bench-pulumi-{stack}"
    env = local_target.engine_env(work / "state", secrets.token_hex(8))
    (work / "state").mkdir(parents=True)
    config = local_target.prepare(stack_file, namespace, work / "Pulumi.bench.yaml")
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


def program_objects(stack_file: Path, namespace: str, work: Path) -> list[dict]:
    """The objects the program registers for the local target's config of this stack."""
    config_file = local_target.prepare(stack_file, namespace, work / "Pulumi.rendered.yaml")
    config = yaml.safe_load(config_file.read_text())["config"]
    return run_program(config, hf_token=None).manifests()


def kubectl_seconds(stack_file: Path, stack: str, work: Path) -> tuple[float, int]:
    namespace = f"bench-kubectl-{stack}"
    objects = program_objects(stack_file, namespace, work)
    try:
        started = time.monotonic()
        apply(sorted(objects, key=lambda o: 0 if o["kind"] in ("Namespace", "StorageClass") else 1))
        kubectl("wait", "--for=condition=Available", "deployment", "--all", "-n", namespace, WAIT)
        if any(o["kind"] == "Job" for o in objects):
            kubectl("wait", "--for=condition=Complete", "job", "--all", "-n", namespace, WAIT)
        return time.monotonic() - started, len(objects)
    finally:
        remove_namespace_and_its_volumes(namespace)


def _image(image: str) -> tuple[str, str]:
    repository, tag = image.rsplit(":", 1)
    return repository, tag


def production_stack_values(objects: list[dict]) -> dict:
    """production-stack values rendering the same pods as our Deployments: one
    modelSpec per vLLM Deployment (replicas, image, requests, GPU affinity, the GPU
    toleration, runtime class), and its router with as many replicas as ours."""
    models, routers = [], 0
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        if container["name"] != "vllm":
            routers += deployment["spec"]["replicas"]
            continue
        repository, tag = _image(container["image"])
        requests = container["resources"]["requests"]
        models.append(
            {
                "name": deployment["metadata"]["name"],
                "repository": repository,
                "tag": tag,
                "modelURL": container["args"][0],
                "replicaCount": deployment["spec"]["replicas"],
                "requestCPU": requests["cpu"],
                "requestMemory": requests["memory"],
                "requestGPU": int(requests.get("nvidia.com/gpu", 0)),
                "limitMemory": container["resources"]["limits"]["memory"],
                "runtimeClassName": pod.get("runtimeClassName", ""),
                "tolerations": pod.get("tolerations", []),
                "nodeSelectorTerms": pod["affinity"]["nodeAffinity"][
                    "requiredDuringSchedulingIgnoredDuringExecution"
                ]["nodeSelectorTerms"],
            }
        )
    return {
        "servingEngineSpec": {"modelSpec": models, "runtimeClassName": "nvidia"},
        "routerSpec": {"enableRouter": routers > 0, "replicaCount": max(routers, 1)},
    }


def helm_seconds(stack_file: Path, stack: str, work: Path) -> tuple[float, int]:
    namespace = f"bench-helm-{stack}"
    values = work / "values.yaml"
    values.write_text(yaml.safe_dump(production_stack_values(program_objects(stack_file, namespace, work))))
    # The local target made the namespace (and its Secrets); helm installs into it.
    helm = [tool("helm"), f"--kubeconfig={KUBECONFIG}", "-n", namespace]
    try:
        started = time.monotonic()
        subprocess.run(
            [*helm, "install", f"bench-{stack}", str(CHART), "-f", str(values), "--wait", WAIT],
            check=True,
            capture_output=True,
        )
        elapsed = time.monotonic() - started
        manifest = subprocess.run(
            [*helm, "get", "manifest", f"bench-{stack}"], check=True, capture_output=True, text=True
        ).stdout
        return elapsed, sum(1 for d in yaml.safe_load_all(manifest) if d)
    finally:
        subprocess.run([*helm, "uninstall", f"bench-{stack}", "--wait"], capture_output=True)
        remove_namespace_and_its_volumes(namespace)


def main() -> None:
    try:
        tool("helm")
    except ClusterError:
        raise SystemExit("bench: helm is not built; run `scripts/tools.sh build helm` (bench-only)") from None
    subprocess.run([str(ROOT / "scripts" / "local-cluster"), "up"], check=True, stdout=subprocess.DEVNULL)
    stacks = sys.argv[1:] or DEFAULT_STACKS
    columns = (
        ("objects p/h/k", 14),
        ("pulumi up", 10),
        ("helm --wait", 12),
        ("kubectl", 8),
        ("pulumi/helm", 12),
    )
    print(f"{'stack':<18}" + "".join(f" {title:>{width}}" for title, width in columns))
    for argument in stacks:
        stack_file, stack = stack_file_and_name(argument)
        with tempfile.TemporaryDirectory(prefix=f"bench-{stack}-") as work:
            pulumi_s, pulumi_n = engine_seconds(stack_file, stack, Path(work) / "pulumi")
            helm_s, helm_n = helm_seconds(stack_file, stack, Path(work) / "helm")
            kubectl_s, kubectl_n = kubectl_seconds(stack_file, stack, Path(work) / "kubectl")
        print(
            f"{stack:<18} {f'{pulumi_n}/{helm_n}/{kubectl_n}':>14} {pulumi_s:>9.1f}s {helm_s:>11.1f}s "
            f"{kubectl_s:>7.1f}s {pulumi_s / helm_s:>12.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
