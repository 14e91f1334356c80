"""Capacity on the local cluster: pods that cannot fit wait, and say why.

A module of its own so that it starts after every stack of test_cluster.py has been
torn down and all GPUs are free.
"""

from __future__ import annotations

import copy
import time

import yaml

from harness import ROOT, run_program, stack_file_config
from kube import apply, delete, get, prebound_volume
from local_cluster import NODES_FILE


def gpus_of(product: str) -> int:
    """GPUs of one product on the local cluster's nodes."""
    nodes = yaml.safe_load(NODES_FILE.read_text())["nodes"]
    return sum(n["gpu"]["count"] for n in nodes if n.get("gpu", {}).get("product") == product)


def test_pods_that_cannot_fit_stay_pending_with_the_schedulers_reason(cluster):
    """More GPUs than the cluster has: the scheduler says so, which is what a person
    sees (and what `pulumi up` reports when its wait times out)."""
    namespace = "e2e-unfit"
    config = copy.deepcopy(stack_file_config(ROOT / "examples" / "seed-000-replicas.yaml"))
    capacity = gpus_of("NVIDIA-H100-80GB-HBM3")
    replicas = capacity + 24
    config["llm-serving:pools"]["llama-3-1-8b"]["replicas"] = replicas
    config["llm-serving:namespace"] = namespace
    # ReadWriteMany: the pods span nodes (a ReadWriteOnce claim is refused for them).
    config["llm-serving:modelCache"] = {
        "mode": "pvc",
        "pvc": {"accessMode": "ReadWriteMany"},
        "prefetch": {"enabled": False},
    }
    config.pop("llm-serving:monitoring")
    run = run_program(config)
    objects = run.manifests()
    claim = next(o for o in objects if o["kind"] == "PersistentVolumeClaim")
    claim["spec"]["storageClassName"] = ""
    standin = prebound_volume(claim, namespace)
    try:
        apply(objects + [standin])
        # Every GPU of the H100 nodes is used; the other 24 pods wait, and each says
        # why in its PodScheduled condition (what `kubectl describe pod` shows).
        deadline = time.monotonic() + 120
        running: list[dict] = []
        reasons: set[str] = set()
        while time.monotonic() < deadline:
            pods = get("pods", namespace)
            running = [p for p in pods if p["status"]["phase"] == "Running"]
            pending = [p for p in pods if p["status"]["phase"] == "Pending"]
            reasons = {
                c.get("message", "")
                for p in pending
                for c in p["status"].get("conditions", [])
                if c["type"] == "PodScheduled" and c["status"] == "False"
            }
            if (
                len(running) == capacity
                and len(pending) == 24
                and all("Insufficient nvidia.com/gpu" in r for r in reasons)
            ):
                break
            time.sleep(2)
        assert len(running) == capacity and len(pods) == replicas
        assert reasons and all("Insufficient nvidia.com/gpu" in r for r in reasons), reasons
    finally:
        delete(objects + [standin], namespace)
