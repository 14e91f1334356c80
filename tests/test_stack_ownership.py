"""Two stacks on one cluster: their own namespaces by default, and no stack takes over
an object another stack owns (components/namespace/stack_ownership.py).

Under Pulumi's mocks with a stand-in cluster here; tests/test_engine.py shows the same
refusal from the real engine on the local cluster.
"""

from __future__ import annotations

import copy
import gc
import logging

import pulumi
import pytest
from pulumi.runtime.settings import SETTINGS

from components.namespace import stack_ownership
from components.namespace.stack_ownership import OWNER_ANNOTATION, api_version_and_kind
from config.stack import stack_namespace
from harness import MOCK_STACK, NAMESPACE, ROOT, STACK_NAMESPACE, ProgramRun, run_program, stack_file_config

OWNER = f"{NAMESPACE}/{MOCK_STACK}"


class StandInCluster:
    """Objects that already exist, by (apiVersion, kind, namespace, name)."""

    def __init__(self, objects: dict[tuple[str, str, str | None, str], dict]):
        self.objects = objects
        self.reads: list[tuple[str, str, str | None, str]] = []

    def get(self, api_version, kind, namespace, name):
        self.reads.append((api_version, kind, namespace, name))
        return self.objects.get((api_version, kind, namespace, name))


def owned_by(owner: str | None) -> dict:
    return {"metadata": {"annotations": {OWNER_ANNOTATION: owner} if owner else {}}}


@pytest.fixture
def cluster(monkeypatch):
    stand_in = StandInCluster({})
    monkeypatch.setattr(stack_ownership, "cluster_reader", lambda: stand_in)
    yield stand_in
    # A refused run leaves futures holding the refusal; collect them now, quietly,
    # rather than have asyncio print each at interpreter exit.
    asyncio_log = logging.getLogger("asyncio")
    level = asyncio_log.level
    asyncio_log.setLevel(logging.CRITICAL)
    try:
        SETTINGS.rpc_manager.clear()
        SETTINGS.outputs.clear()
        gc.collect()
    finally:
        asyncio_log.setLevel(level)


def dev_config() -> dict:
    return copy.deepcopy(stack_file_config(ROOT / "Pulumi.dev.yaml"))


def test_the_default_namespace_is_the_stacks_own():
    assert stack_namespace("dev") == "llm-serving-dev"
    assert stack_namespace("Team_A.prod") == "llm-serving-team-a-prod"
    long_names = [stack_namespace("x" * 80 + suffix) for suffix in ("a", "b")]
    assert all(len(name) <= 63 and not name.endswith("-") for name in long_names)
    assert long_names[0] != long_names[1]
    run = run_program(dev_config())
    assert {r.manifest["metadata"].get("namespace") for r in run.resources if r.is_kubernetes_object} == {
        None,
        STACK_NAMESPACE,
    }
    assert run.outputs["namespace"] == STACK_NAMESPACE


def test_a_namespace_set_in_config_still_wins():
    config = dev_config()
    config["llm-serving:namespace"] = "inference"
    run = run_program(config)
    assert run.outputs["namespace"] == "inference"


def test_every_object_names_its_stack_and_is_read_before_it_is_registered(cluster):
    run = run_program(dev_config())
    objects = [r for r in run.resources if r.is_kubernetes_object]
    assert objects
    for resource in objects:
        assert resource.manifest["metadata"]["annotations"][OWNER_ANNOTATION] == OWNER, resource.name
    read = {(kind, name) for _, kind, _, name in cluster.reads}
    assert {(r.kind, r.manifest["metadata"]["name"]) for r in objects} <= read


def test_an_object_of_another_stack_stops_the_run_before_it_is_registered(cluster):
    claim = ("v1", "PersistentVolumeClaim", STACK_NAMESPACE, "model-cache")
    cluster.objects[claim] = owned_by("llm-serving/dev")
    run = ProgramRun()
    with pytest.raises(pulumi.RunError) as error:
        run_program(dev_config(), run=run)
    assert str(error.value).startswith(
        f"PersistentVolumeClaim {STACK_NAMESPACE}/model-cache belongs to stack llm-serving/dev "
        f"({OWNER_ANNOTATION}); stack {OWNER} will not take it over. Fix:"
    )
    assert "model-cache" not in {r.manifest["metadata"]["name"] for r in run.of_kind("PersistentVolumeClaim")}


def test_cluster_scoped_objects_are_checked_too(cluster):
    volume = ("v1", "PersistentVolume", None, f"{STACK_NAMESPACE}-model-cache")
    cluster.objects[volume] = owned_by("other-project/prod")
    with pytest.raises(pulumi.RunError, match=f"PersistentVolume {STACK_NAMESPACE}-model-cache belongs"):
        run_program(dev_config())


def test_its_own_objects_and_unmarked_ones_pass(cluster):
    cluster.objects[("apps/v1", "Deployment", STACK_NAMESPACE, "llama-3-1-8b")] = owned_by(OWNER)
    cluster.objects[("v1", "Service", STACK_NAMESPACE, "llama-3-1-8b")] = owned_by(None)
    run = run_program(dev_config())
    assert run.one("Deployment", "llama-3-1-8b")


def test_type_tokens_map_to_api_versions():
    assert api_version_and_kind("kubernetes:core/v1:Namespace") == ("v1", "Namespace")
    assert api_version_and_kind("kubernetes:apps/v1:Deployment") == ("apps/v1", "Deployment")
    assert api_version_and_kind("kubernetes:monitoring.coreos.com/v1:ServiceMonitor") == (
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
    )
