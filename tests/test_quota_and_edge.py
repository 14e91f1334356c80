"""The namespace's quota holds the stack at its largest and nothing more; the Ingress
routes seed 002's paths to Services that exist, through Traefik middlewares that exist."""

from __future__ import annotations

import copy

import pulumi
import pytest

from components.namespace.namespace_quota import quantity
from components.namespace.stack_ownership import OWNER_ANNOTATION
from harness import ROOT, STACK_NAMESPACE, ProgramRun, run_program, stack_file_config

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml")) + sorted((ROOT / "examples").glob("*.yaml"))
GPU = "nvidia.com/gpu"


@pytest.fixture(scope="module", params=STACK_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def stack_run(request) -> ProgramRun:
    return run_program(stack_file_config(request.param))


def most_replicas(run: ProgramRun, workload) -> int:
    """A workload's replicas at their most: the autoscaler's maximum (or replicas), plus
    what a rollout adds."""
    spec = workload.inputs["spec"]
    name = workload.inputs["metadata"]["name"]
    autoscaled = [
        h.inputs["spec"]["maxReplicas"]
        for h in run.of_kind("HorizontalPodAutoscaler")
        if h.inputs["spec"]["scaleTargetRef"]["name"] == name
    ] + [
        s.inputs["spec"]["maxReplicaCount"]
        for s in run.of_kind("ScaledObject")
        if s.inputs["spec"]["scaleTargetRef"]["name"] == name
    ]
    rollout = spec.get("strategy", {}).get("rollingUpdate") or spec.get("rolloutStrategy", {}).get(
        "rollingUpdateConfiguration", {}
    )
    return (autoscaled[0] if autoscaled else spec["replicas"]) + rollout.get("maxSurge", 0)


def pod_templates_at_most(run: ProgramRun) -> list[tuple[dict, int]]:
    """Every pod template with how many pods of it can exist at once."""
    templates = [(d.inputs["spec"]["template"], most_replicas(run, d)) for d in run.of_kind("Deployment")]
    templates += [(j.inputs["spec"]["template"], 1) for j in run.of_kind("Job")]
    for group_set in run.of_kind("LeaderWorkerSet"):
        groups = most_replicas(run, group_set)
        template = group_set.inputs["spec"]["leaderWorkerTemplate"]
        templates += [
            (template["leaderTemplate"], groups),
            (template["workerTemplate"], groups * (template["size"] - 1)),
        ]
    return templates


def test_quota_holds_every_pod_at_its_largest_and_gpus_exactly(stack_run):
    assert_quota_holds_every_pod(stack_run)


def test_quota_holds_the_download_job_of_an_s3_pool_with_prefetch_off():
    """S3 weights always get their Job, prefetch or not (ModelSource.downloaded_by_job)."""
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    config["llm-serving:modelCache"]["prefetch"] = {"enabled": False}
    pool = config["llm-serving:pools"]["llama-3-1-8b"]
    pool["source"] = {"s3": {"bucket": "models", "prefix": "llama-3.1-8b"}}
    run = run_program(config)
    assert [j.inputs["metadata"]["name"] for j in run.of_kind("Job")] == ["llama-3-1-8b-prefetch"]
    assert_quota_holds_every_pod(run)


def assert_quota_holds_every_pod(stack_run: ProgramRun) -> None:
    (quota,) = stack_run.of_kind("ResourceQuota")
    hard = quota.inputs["spec"]["hard"]
    totals = {
        "pods": 0,
        "gpus": 0,
        "requests.cpu": 0.0,
        "limits.cpu": 0.0,
        "requests.memory": 0.0,
        "limits.memory": 0.0,
    }
    for template, pods in pod_templates_at_most(stack_run):
        totals["pods"] += pods
        for container in template["spec"]["containers"]:
            resources = container["resources"]
            totals["gpus"] += pods * int(resources["limits"].get(GPU, 0))
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    totals[f"{kind}.{resource}"] += pods * quantity(resources[kind][resource])
    assert int(hard["pods"]) >= totals["pods"]
    assert int(hard[f"requests.{GPU}"]) == totals["gpus"] == stack_run.outputs["capacity"]["totalGpus"]
    for key in ("requests.cpu", "limits.cpu", "requests.memory", "limits.memory"):
        assert totals[key] <= quantity(hard[key]) <= totals[key] * 1.5, key
    claims = stack_run.of_kind("PersistentVolumeClaim")
    assert int(hard["persistentvolumeclaims"]) == len(claims)
    storage = sum(quantity(c.inputs["spec"]["resources"]["requests"]["storage"]) for c in claims)
    assert storage <= quantity(hard["requests.storage"])


def test_limit_range_admits_every_container_and_defaults_the_rest(stack_run):
    (limit_range,) = stack_run.of_kind("LimitRange")
    (container_limits,) = [i for i in limit_range.inputs["spec"]["limits"] if i["type"] == "Container"]
    maximum = container_limits["max"]
    # A maximum makes that resource's limit mandatory on every container: none for GPUs.
    assert set(maximum) == {"cpu", "memory"}
    for template, _ in pod_templates_at_most(stack_run):
        for container in template["spec"]["containers"]:
            for resource, limit in maximum.items():
                assert quantity(container["resources"]["limits"][resource]) <= quantity(limit)
    for resource, default in container_limits["default"].items():
        assert (
            quantity(container_limits["defaultRequest"][resource])
            <= quantity(default)
            <= quantity(maximum[resource])
        )


def test_prod_quota_is_sixteen_gpus():
    run = run_program(stack_file_config(ROOT / "Pulumi.prod.yaml"))
    (quota,) = run.of_kind("ResourceQuota")
    assert quota.inputs["spec"]["hard"][f"requests.{GPU}"] == "16"
    assert run.outputs["quota"][f"requests.{GPU}"] == "16"


def test_quota_can_be_turned_off():
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    config["llm-serving:quota"] = {"enabled": False}
    run = run_program(config)
    assert not run.of_kind("ResourceQuota") and not run.of_kind("LimitRange")


# --- the edge ------------------------------------------------------------------------


def paths_of(run: ProgramRun) -> dict[str, tuple[str, int]]:
    (ingress,) = run.of_kind("Ingress")
    (rule,) = ingress.inputs["spec"]["rules"]
    return {
        p["path"]: (p["backend"]["service"]["name"], p["backend"]["service"]["port"]["number"])
        for p in rule["http"]["paths"]
    }


def test_dev_ingress_routes_seed_002_paths_to_services_that_exist():
    run = run_program(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    services = {
        s.inputs["metadata"]["name"]: {p["port"] for p in s.inputs["spec"]["ports"]}
        for s in run.of_kind("Service")
    }
    paths = paths_of(run)
    assert paths["/v1"] == ("llama-3-1-8b-multi", 8000)
    for pool in ("llama-3-1-8b", "mixtral-8x7b", "deepseek-coder-v2-lite", "llama-3-1-8b-multi"):
        assert paths[f"/models/{pool}/v1"] == (pool, 8000)
    for service, port in paths.values():
        assert port in services[service]
    assert run.outputs["ingress"]["default"] == "https://llm.university.local/v1"


def test_ingress_uses_the_middlewares_it_creates():
    run = run_program(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    (ingress,) = run.of_kind("Ingress")
    annotations = ingress.inputs["metadata"]["annotations"]
    middlewares = {m.inputs["metadata"]["name"]: m.inputs["spec"] for m in run.of_kind("Middleware")}
    referenced = annotations["traefik.ingress.kubernetes.io/router.middlewares"].split(",")
    # Rate limit first, so a rejected request costs nothing more.
    assert referenced == [
        f"{STACK_NAMESPACE}-llm-serving-rate-limit@kubernetescrd",
        f"{STACK_NAMESPACE}-llm-serving-strip-model-prefix@kubernetescrd",
    ]
    assert {f"{STACK_NAMESPACE}-{name}@kubernetescrd" for name in middlewares} == set(referenced)
    rate_limits = [spec["rateLimit"] for spec in middlewares.values() if "rateLimit" in spec]
    assert rate_limits == [{"average": 20, "burst": 40, "period": "1s"}]
    (strip,) = [
        spec["stripPrefixRegex"]["regex"] for spec in middlewares.values() if "stripPrefixRegex" in spec
    ]
    assert strip == ["^/models/[a-z0-9-]+"]
    assert annotations["traefik.ingress.kubernetes.io/router.entrypoints"] == "websecure"
    for middleware in run.of_kind("Middleware"):
        assert middleware.urn in ingress.dependencies


def test_ingress_tls_from_cert_manager_and_p_d_stacks_through_their_router():
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.prod.yaml"))
    config["llm-serving:ingress"] = {
        "enabled": True,
        "host": "llm.example.org",
        "tls": {"secretName": "llm-tls", "issuer": "letsencrypt"},
        "rateLimit": None,
    }
    run = run_program(config)
    (ingress,) = run.of_kind("Ingress")
    assert ingress.inputs["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"
    assert ingress.inputs["spec"]["tls"] == [{"hosts": ["llm.example.org"], "secretName": "llm-tls"}]
    assert paths_of(run) == {
        "/v1": ("llama-3-1-8b-router", 8080),
        "/models/llama-3-1-8b/v1": ("llama-3-1-8b-router", 8080),
    }
    assert [m.inputs["spec"] for m in run.of_kind("Middleware")] == [
        {"stripPrefixRegex": {"regex": ["^/models/[a-z0-9-]+"]}}
    ]


def test_another_controller_gets_no_traefik_objects():
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    config["llm-serving:ingress"] = {
        "enabled": True,
        "className": "nginx",
        "traefik": False,
        "rateLimit": None,
    }
    run = run_program(config)
    assert not run.of_kind("Middleware")
    (ingress,) = run.of_kind("Ingress")
    annotations = dict(ingress.inputs["metadata"].get("annotations") or {})
    annotations.pop(OWNER_ANNOTATION)  # every object's (tests/test_stack_ownership.py)
    assert not annotations


@pytest.mark.parametrize(
    ("ingress", "expected"),
    [
        (
            {"enabled": True, "defaultModel": "gpt-5"},
            'llm-serving:ingress.defaultModel = "gpt-5": names no pool',
        ),
        ({"enabled": True, "traefik": False}, "llm-serving:ingress"),
        ({"enabled": True, "rateLimit": {"period": "1d"}}, "llm-serving:ingress.rateLimit.period"),
        ({"enabled": True, "host": "https://llm.example.org"}, "llm-serving:ingress.host"),
    ],
)
def test_bad_ingress_config_fails_before_any_resource(ingress, expected):
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    config["llm-serving:ingress"] = ingress
    run = ProgramRun()
    with pytest.raises(pulumi.RunError) as caught:
        run_program(config, run=run)
    assert expected in str(caught.value)
    assert run.resources == []


@pytest.mark.parametrize(
    ("text", "value"),
    [("500m", 0.5), ("8", 8), ("2.5", 2.5), ("32Gi", 32 * 2**30), ("1k", 1000), ("100M", 10**8)],
)
def test_quantities_are_read_as_kubernetes_reads_them(text, value):
    assert quantity(text) == value
