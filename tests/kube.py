"""kubectl against the local cluster (scripts/local-cluster), for the cluster tests."""

from __future__ import annotations

import json
import subprocess

import yaml

import local_target
from local_cluster import KUBECONFIG, tool

GPU = "nvidia.com/gpu"


def kubectl(*args: str, input_text: str | None = None, check: bool = True) -> str:
    result = subprocess.run(
        [tool("kubectl"), f"--kubeconfig={KUBECONFIG}", *args],
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
    """local_target.prebound_volume for a claim manifest."""
    spec = claim["spec"]
    (access_mode,) = spec["accessModes"]
    return local_target.prebound_volume(
        namespace,
        claim["metadata"]["name"],
        spec["resources"]["requests"]["storage"],
        access_mode,
        spec.get("storageClassName", ""),
    )


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
