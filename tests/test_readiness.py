"""What `pulumi up` waits for on each object (components/shared/workload.py,
service_readiness): Services are not held back by the provider's 10 s Endpoints
settle timer, and a LoadBalancer still waits for its address."""

from __future__ import annotations

import copy

from harness import ROOT, run_program, stack_file_config


def test_cluster_ip_services_leave_readiness_to_their_deployments():
    for stack_file in ("Pulumi.dev.yaml", "Pulumi.prod.yaml", "examples/seed-000-replicas.yaml"):
        run = run_program(stack_file_config(ROOT / stack_file))
        services = run.of_kind("Service")
        assert services
        for service in services:
            annotations = service.manifest["metadata"]["annotations"]
            assert annotations["pulumi.com/skipAwait"] == "true"
            assert "pulumi.com/waitFor" not in annotations
        # What they select is awaited: every Deployment keeps the provider's awaiter.
        for deployment in run.of_kind("Deployment"):
            annotations = deployment.manifest["metadata"].get("annotations") or {}
            assert "pulumi.com/skipAwait" not in annotations and "pulumi.com/waitFor" not in annotations


def test_a_load_balancer_waits_for_its_address():
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    pool = config["llm-serving:pools"]["llama-3-1-8b"]
    pool["service"] = {"type": "LoadBalancer"}
    run = run_program(config)
    annotations = run.one("Service", "llama-3-1-8b").manifest["metadata"]["annotations"]
    assert annotations["pulumi.com/waitFor"] == "jsonpath={.status.loadBalancer.ingress[0]}"
    assert "pulumi.com/skipAwait" not in annotations


def test_a_multi_node_pools_service_keeps_the_awaiter_as_the_only_wait_on_its_pods():
    run = run_program(stack_file_config(ROOT / "examples" / "multinode-405b.yaml"))
    (group_set,) = run.of_kind("LeaderWorkerSet")
    (service,) = [s for s in run.of_kind("Service") if s.name.startswith("llama-405b")]
    annotations = service.manifest["metadata"].get("annotations") or {}
    assert "pulumi.com/skipAwait" not in annotations and "pulumi.com/waitFor" not in annotations
