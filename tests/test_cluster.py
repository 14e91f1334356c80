"""Every stack's objects on a real Kubernetes API server (scripts/local-cluster).

What the program registers (the real __main__.py, under Pulumi's mocks) is applied
server-side to a real kube-apiserver with scheduler and controller-manager, and kwok
playing kubelets on fake GPU nodes. So admission, defaulting, CRD validation of our
custom resources, scheduling onto GPU nodes and controllers are the real ones.
Objects only a Helm release can create (Longhorn, kube-prometheus-stack, the GPU
Operator) cannot be installed offline; they are listed and skipped, and Longhorn's
provisioner is stood in for by a pre-made volume of its StorageClass.
"""

from __future__ import annotations

import copy
import json
import time

import pytest

from cluster_checks import (
    assert_every_deployment_fully_ready,
    assert_every_pod_running_and_ready,
    assert_every_service_has_a_ready_endpoint_per_replica,
    assert_gpu_pods_on_accepted_products_without_oversubscription,
)
from components.namespace.namespace_quota import quantity
from harness import ROOT, ProgramRun, run_program, stack_file_config
from kube import apply, delete, kubectl, prebound_volume

STACKS = [
    "Pulumi.dev.yaml",
    "Pulumi.prod.yaml",
    "examples/seed-000-replicas.yaml",
    "examples/pd-services.yaml",
]
READY_TIMEOUT = "180s"


def stack_objects(stack_file: str, namespace: str) -> tuple[ProgramRun, list[dict], list[str]]:
    """The program's Kubernetes objects for one stack, in its own namespace, and what
    had to be skipped (Helm releases)."""
    config = copy.deepcopy(stack_file_config(ROOT / stack_file))
    config["llm-serving:namespace"] = namespace
    run = run_program(config)
    objects = run.manifests()
    skipped = [f"{r.type} {r.inputs.get('name')}" for r in run.resources if r.type.endswith(":Release")]
    return run, objects, skipped


def longhorn_stand_in(objects: list[dict], namespace: str) -> list[dict]:
    """A ready volume for each claim of a Longhorn class (its provisioner is not
    installed offline), so the claim binds as it would with Longhorn running."""
    classes = {o["metadata"]["name"] for o in objects if o["kind"] == "StorageClass"}
    return [
        prebound_volume(claim, namespace)
        for claim in objects
        if claim["kind"] == "PersistentVolumeClaim" and claim["spec"].get("storageClassName") in classes
    ]


@pytest.fixture(scope="module", params=STACKS)
def deployed(request, cluster):
    stack_file = request.param
    namespace = "e2e-" + stack_file.rsplit("/", 1)[-1].removeprefix("Pulumi.").removesuffix(".yaml")
    run, objects, skipped = stack_objects(stack_file, namespace)
    objects += longhorn_stand_in(objects, namespace)
    if not any(o["kind"] == "Namespace" and o["metadata"]["name"] == namespace for o in objects):
        objects.insert(0, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    # Namespaces and cluster-scoped objects first, as Pulumi's dependency order has them.
    objects.sort(key=lambda o: 0 if o["kind"] == "Namespace" else 1)
    try:
        apply(objects)
        kubectl(
            "wait",
            "--for=condition=Available",
            "deployment",
            "--all",
            "-n",
            namespace,
            f"--timeout={READY_TIMEOUT}",
        )
        if any(o["kind"] == "Job" for o in objects):
            kubectl(
                "wait",
                "--for=condition=Complete",
                "job",
                "--all",
                "-n",
                namespace,
                f"--timeout={READY_TIMEOUT}",
            )
        yield namespace, run, objects, skipped
    finally:
        delete(objects, namespace)


def test_only_helm_releases_are_skipped(deployed):
    _, run, _, skipped = deployed
    assert all(entry.startswith("kubernetes:helm.sh/v3:Release") for entry in skipped)


def test_every_pod_is_running_and_ready(deployed):
    assert_every_pod_running_and_ready(deployed[0])


def test_every_deployment_has_all_replicas_ready(deployed):
    assert_every_deployment_fully_ready(deployed[0])


def test_gpu_pods_run_on_accepted_products_without_oversubscription(deployed):
    assert_gpu_pods_on_accepted_products_without_oversubscription(deployed[0])


def test_every_service_has_ready_endpoints_for_every_pod(deployed):
    assert_every_service_has_a_ready_endpoint_per_replica(deployed[0])


def test_guards_and_edge_were_accepted_as_sent(deployed):
    """NetworkPolicies, the Ingress, the quota and the LimitRange passed the API server's
    own validation and were stored as sent (quantities compared as numbers: the API
    server rewrites 563200Mi as 550Gi); the quota controller counted the running stack."""
    namespace, _, objects, _ = deployed

    def stored(obj: dict) -> dict:
        return json.loads(
            kubectl("get", f"{obj['kind']}/{obj['metadata']['name']}", "-n", namespace, "-o", "json")
        )

    by_kind: dict[str, list[dict]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    assert by_kind["NetworkPolicy"] and by_kind["ResourceQuota"] and by_kind["LimitRange"]
    for obj in by_kind["NetworkPolicy"] + by_kind.get("Ingress", []):
        assert stored(obj)["spec"] == obj["spec"], obj["metadata"]["name"]
    for obj in by_kind["LimitRange"]:
        for sent, kept in zip(obj["spec"]["limits"], stored(obj)["spec"]["limits"], strict=True):
            assert {k: quantity(v) for k, v in sent["max"].items()} == {
                k: quantity(v) for k, v in kept["max"].items()
            }
    (quota,) = by_kind["ResourceQuota"]
    hard = {key: quantity(value) for key, value in quota["spec"]["hard"].items()}
    deadline = time.monotonic() + 30
    while True:
        status = stored(quota).get("status", {})
        if status.get("used") or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert {key: quantity(value) for key, value in status["hard"].items()} == hard
    for key, used in status["used"].items():
        assert quantity(used) <= hard[key], key


def test_custom_resources_were_accepted_by_their_crds(deployed):
    namespace, _, objects, _ = deployed
    for obj in objects:
        if obj["apiVersion"].startswith(("monitoring.coreos.com", "keda.sh", "traefik.io")):
            stored = json.loads(
                kubectl("get", f"{obj['kind']}/{obj['metadata']['name']}", "-n", namespace, "-o", "json")
            )
            assert stored["spec"] == obj["spec"]
