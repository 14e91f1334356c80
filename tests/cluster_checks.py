"""What "deployed" means on the local cluster, however the objects got there
(kubectl apply in test_cluster.py, the real engine in test_engine.py)."""

from __future__ import annotations

import time
from collections import defaultdict

from kube import GPU, get


def owned_by_job(pod: dict) -> bool:
    return any(owner["kind"] == "Job" for owner in pod["metadata"].get("ownerReferences", []))


def assert_every_pod_running_and_ready(namespace: str) -> None:
    pods = [p for p in get("pods", namespace) if not owned_by_job(p)]
    assert pods
    for pod in pods:
        ready = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
        assert pod["status"]["phase"] == "Running" and ready.get("Ready") == "True", pod["metadata"]["name"]


def assert_every_deployment_fully_ready(namespace: str) -> None:
    for deployment in get("deployments", namespace):
        assert deployment["status"].get("readyReplicas") == deployment["spec"]["replicas"], deployment[
            "metadata"
        ]["name"]


def assert_gpu_pods_on_accepted_products_without_oversubscription(namespace: str) -> None:
    nodes = {n["metadata"]["name"]: n for n in get("nodes")}
    used = defaultdict(int)
    gpu_pods = 0
    for pod in get("pods"):
        requested = sum(int(c["resources"].get("limits", {}).get(GPU, 0)) for c in pod["spec"]["containers"])
        if not requested or not pod["spec"].get("nodeName"):
            continue
        node = nodes[pod["spec"]["nodeName"]]
        used[node["metadata"]["name"]] += requested
        if pod["metadata"]["namespace"] != namespace:
            continue
        gpu_pods += 1
        terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        accepted = terms["nodeSelectorTerms"][0]["matchExpressions"][0]["values"]
        assert node["metadata"]["labels"]["nvidia.com/gpu.product"] in accepted, pod["metadata"]["name"]
    assert gpu_pods > 0
    for name, count in used.items():
        assert count <= int(nodes[name]["status"]["allocatable"][GPU]), name


def expected_endpoints(namespace: str) -> dict[str, int]:
    """Per Service name, the pods it should reach: a Deployment's replicas; for a
    LeaderWorkerSet, its groups' leaders (the pool's Service, named without the set's
    "-group") and every pod of every group (the headless Service LWS names after it)."""
    expected = {d["metadata"]["name"]: d["spec"]["replicas"] for d in get("deployments", namespace)}
    for group_set in get("leaderworkersets", namespace):
        name, spec = group_set["metadata"]["name"], group_set["spec"]
        expected[name.removesuffix("-group")] = spec["replicas"]
        expected[name] = spec["replicas"] * spec["leaderWorkerTemplate"]["size"]
    return expected


def ready_endpoint_counts(namespace: str) -> dict[str, tuple[int, int]]:
    """Per Service: (ready endpoints, pods it should reach)."""
    expected = expected_endpoints(namespace)
    slices = get("endpointslices", namespace)
    counts = {}
    for service in get("services", namespace):
        name = service["metadata"]["name"]
        ready = [
            e
            for s in slices
            if s["metadata"]["labels"].get("kubernetes.io/service-name") == name
            for e in s.get("endpoints") or []
            if e.get("conditions", {}).get("ready")
        ]
        counts[name] = (len(ready), expected[name])
    return counts


def assert_every_service_has_a_ready_endpoint_per_replica(namespace: str, within_seconds: float = 30) -> None:
    # The EndpointSlice controller follows pod readiness asynchronously: a Deployment
    # can be Available a moment before its Service's slices say so.
    deadline = time.monotonic() + within_seconds
    while True:
        counts = ready_endpoint_counts(namespace)
        behind = {name: count for name, count in counts.items() if count[0] != count[1]}
        if not behind or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert counts
    assert behind == {}, f"(ready endpoints, replicas) per Service: {behind}"
