"""Multi-node pools on the local cluster, with the real LeaderWorkerSet controller
(scripts/local-cluster runs it with its webhooks): groups become pods on whole fake
GPU nodes, and a group that cannot fit waits with the scheduler's reason.

A module of its own, after test_cluster_capacity.py (alphabetical), so that the H100
nodes are free."""

from __future__ import annotations

import copy
import time
from collections import defaultdict

import pytest

from harness import ROOT, ProgramRun, run_program, stack_file_config
from kube import GPU, apply, delete, get, kubectl, prebound_volume

EXAMPLE = ROOT / "examples" / "multinode-405b.yaml"
READY_TIMEOUT_SECONDS = 180
GROUP_LABEL = "leaderworkerset.sigs.k8s.io/group-index"


def objects_of(config: dict, namespace: str) -> tuple[ProgramRun, list[dict]]:
    config["llm-serving:namespace"] = namespace
    # ReadWriteMany: the pods span nodes (a ReadWriteOnce claim is refused for them).
    config["llm-serving:modelCache"] = {
        "mode": "pvc",
        "pvc": {"accessMode": "ReadWriteMany"},
        "prefetch": {"enabled": False},
    }
    run = run_program(config)
    objects = run.manifests()
    for claim in [o for o in objects if o["kind"] == "PersistentVolumeClaim"]:
        claim["spec"]["storageClassName"] = ""
        objects.append(prebound_volume(claim, namespace))
    objects.sort(key=lambda o: 0 if o["kind"] == "Namespace" else 1)
    return run, objects


def wait_for(check, timeout: int = READY_TIMEOUT_SECONDS):
    """Poll `check` until it returns something truthy; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(2)


@pytest.fixture(scope="module")
def groups(cluster):
    namespace = "e2e-multinode"
    _, objects = objects_of(copy.deepcopy(stack_file_config(EXAMPLE)), namespace)
    try:
        apply(objects)

        def all_ready() -> list[dict] | None:
            pods = get("pods", namespace)
            ready = [
                p
                for p in pods
                if p["status"].get("phase") == "Running"
                and any(
                    c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])
                )
            ]
            return pods if len(pods) == 4 and len(ready) == 4 else None

        pods = wait_for(all_ready)
        assert pods, kubectl("get", "pods,leaderworkersets,statefulsets", "-n", namespace, "-o", "wide")
        yield namespace, pods
    finally:
        delete(objects, namespace)


def test_two_groups_of_two_ready_pods(groups):
    namespace, pods = groups
    by_group = defaultdict(list)
    for pod in pods:
        by_group[pod["metadata"]["labels"][GROUP_LABEL]].append(pod)
    assert sorted(by_group) == ["0", "1"]
    for members in by_group.values():
        roles = sorted(p["metadata"]["labels"]["llm-serving.io/group-role"] for p in members)
        assert roles == ["leader", "worker"]
    (group_set,) = get("leaderworkersets", namespace)
    assert group_set["status"].get("readyReplicas") == 2, group_set["status"]


def test_each_group_holds_two_whole_nodes_of_one_product(groups):
    _, pods = groups
    nodes = {n["metadata"]["name"]: n for n in get("nodes")}
    by_group = defaultdict(list)
    for pod in pods:
        by_group[pod["metadata"]["labels"][GROUP_LABEL]].append(pod)
    used_nodes = set()
    for members in by_group.values():
        group_nodes = [nodes[p["spec"]["nodeName"]] for p in members]
        assert len({n["metadata"]["name"] for n in group_nodes}) == 2
        assert len({n["metadata"]["labels"]["nvidia.com/gpu.product"] for n in group_nodes}) == 1
        for pod, node in zip(members, group_nodes, strict=True):
            (container,) = pod["spec"]["containers"]
            assert container["resources"]["limits"][GPU] == node["status"]["capacity"][GPU] == "8"
        used_nodes |= {n["metadata"]["name"] for n in group_nodes}
    assert len(used_nodes) == 4  # no two pods share a node


def test_the_webhook_told_each_pod_where_its_leader_is(groups):
    namespace, pods = groups
    for pod in pods:
        (container,) = pod["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        group = pod["metadata"]["labels"][GROUP_LABEL]
        assert env["LWS_GROUP_SIZE"] == "2"
        assert env["LWS_LEADER_ADDRESS"].startswith(f"llama-405b-group-{group}.llama-405b-group.{namespace}")


def service_targets(namespace: str, service: str) -> set[str]:
    return {
        endpoint["targetRef"]["name"]
        for endpoint_slice in get("endpointslices", namespace)
        if endpoint_slice["metadata"]["labels"].get("kubernetes.io/service-name") == service
        for endpoint in endpoint_slice.get("endpoints") or []
    }


def test_the_service_reaches_the_leaders_only(groups):
    namespace, _ = groups
    leaders = {"llama-405b-group-0", "llama-405b-group-1"}
    # The EndpointSlice controller follows the pods asynchronously (as in
    # cluster_checks): give it up to 30 s to catch up before judging.
    deadline = time.monotonic() + 30
    while (targets := service_targets(namespace, "llama-405b")) != leaders and time.monotonic() < deadline:
        time.sleep(1)
    assert targets == leaders


def test_a_group_that_cannot_fit_waits_with_the_schedulers_reason(cluster):
    """The catalog does not know an L40S node's GPU count; a config saying 4 passes
    preview, and on nodes of 2 the group's pods stay Pending, saying why."""
    namespace = "e2e-multinode-unfit"
    config = {
        "llm-serving:gpu": {"products": ["NVIDIA-L40S"]},
        "llm-serving:pools": {
            "llama-70b": {
                "model": "meta-llama/Llama-3.1-70B-Instruct",
                "tensorParallelSize": 4,
                "pipelineParallelSize": 2,
                "maxModelLen": 8192,
                "multiNode": {"gpusPerNode": 4},
            }
        },
    }
    _, objects = objects_of(config, namespace)
    try:
        apply(objects)

        def pending_reasons() -> set[str]:
            return {
                c.get("message", "")
                for p in get("pods", namespace)
                if p["status"].get("phase") == "Pending"
                for c in p["status"].get("conditions", [])
                if c["type"] == "PodScheduled" and c["status"] == "False"
            }

        reasons = wait_for(lambda: {r for r in pending_reasons() if "Insufficient nvidia.com/gpu" in r}, 120)
        assert reasons, kubectl("get", "pods,leaderworkersets", "-n", namespace, "-o", "wide")
        assert not [p for p in get("pods", namespace) if p["status"].get("phase") == "Running"]
    finally:
        delete(objects, namespace)
