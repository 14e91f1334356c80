"""kubectl against the local cluster (scripts/local-cluster), for the cluster tests."""

from __future__ import annotations

import json
import subprocess

import yaml

from harness import ROOT

KUBECONFIG = ROOT / ".local" / "cluster" / "kubeconfig"
GPU = "nvidia.com/gpu"


def kubectl_path() -> str:
    return subprocess.run(
        [str(ROOT / "scripts" / "tools.sh"), "path", "kubectl"], check=True, capture_output=True, text=True
    ).stdout.strip()


def kubectl(*args: str, input_text: str | None = None, check: bool = True) -> str:
    result = subprocess.run(
        [kubectl_path(), f"--kubeconfig={KUBECONFIG}", *args],
        capture_output=True,
        text=True,
        input=input_text,
    )
    if check:
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result.stdout


def get(kind: str, namespace: str | None = None) -> list[dict]:
    scope = ["-n", namespace] if namespace else ["--all-namespaces"]
    return json.loads(kubectl("get", kind, *scope, "-o", "json"))["items"]


def apply(objects: list[dict]) -> None:
    documents = "\n---\n".join(yaml.safe_dump(o) for o in objects)
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input_text=documents)


def delete(objects: list[dict], namespace: str) -> None:
    """Remove what a stack left: its namespaces (with everything in them), then the
    cluster-scoped objects (volumes the cache retains, storage classes)."""
    namespaces = {namespace} | {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    kubectl("delete", "namespace", *sorted(namespaces), "--wait=true", "--timeout=120s", "--ignore-not-found")
    for obj in objects:
        if "namespace" not in obj["metadata"] and obj["kind"] != "Namespace":
            kubectl("delete", obj["kind"], obj["metadata"]["name"], "--ignore-not-found", "--wait=false")


def prebound_volume(claim: dict, namespace: str) -> dict:
    """A hostPath volume bound to `claim` up front, standing in for a provisioner the
    offline cluster lacks (Longhorn's, a cloud's): the claim binds as it would there."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"{namespace}-{claim['metadata']['name']}-standin"},
        "spec": {
            "capacity": claim["spec"]["resources"]["requests"],
            "accessModes": claim["spec"]["accessModes"],
            "storageClassName": claim["spec"].get("storageClassName", ""),
            "hostPath": {"path": f"/tmp/{namespace}"},
            "claimRef": {"namespace": namespace, "name": claim["metadata"]["name"]},
        },
    }


def remove_namespace_and_its_volumes(namespace: str) -> None:
    """Remove a deployment's namespace, the volumes bound into it and Longhorn-class
    storage classes (both retained by the model cache on destroy)."""
    kubectl("delete", "namespace", namespace, "--wait=true", "--timeout=120s", "--ignore-not-found")
    for volume in get("persistentvolumes"):
        if (volume["spec"].get("claimRef") or {}).get("namespace") == namespace:
            kubectl(
                "delete", "persistentvolume", volume["metadata"]["name"], "--ignore-not-found", "--wait=false"
            )
    for storage_class in get("storageclasses"):
        if storage_class["provisioner"] == "driver.longhorn.io":
            kubectl("delete", "storageclass", storage_class["metadata"]["name"], "--ignore-not-found")
