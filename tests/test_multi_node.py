"""Multi-node pools (seed 003): a replica larger than a node becomes a LeaderWorkerSet
group of whole nodes. Config checks on the split and the node size, the capacity
report's per-node figures, and what the program registers, under Pulumi's mocks."""

from __future__ import annotations

import copy

import pytest

from components.namespace.stack_ownership import OWNER_ANNOTATION
from config.errors import ConfigError
from config.loader import parse_stack_config
from config.serving.startup_budget import derived_startup_seconds
from harness import ROOT, run_program, stack_file_config
from schemas import validation_errors

H100 = "NVIDIA-H100-80GB-HBM3"
LLAMA_405B_FP8 = "meta-llama/Llama-3.1-405B-Instruct-FP8"
LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"
EXAMPLE = ROOT / "examples" / "multinode-405b.yaml"


def pool_config(products=(H100,), **pool) -> dict:
    defaults = {
        "model": LLAMA_405B_FP8,
        "tensorParallelSize": 8,
        "pipelineParallelSize": 2,
        "maxModelLen": 32768,
    }
    return {"gpu": {"products": list(products)}, "pools": {"big": {**defaults, **pool}}}


def parse(values: dict):
    return parse_stack_config(values, has_hf_token=True)


def error_of(values: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(values)
    return caught.value.message


# --- config: the layout and its checks --------------------------------------


def test_tp8_pp2_on_eight_gpu_nodes_is_two_pods_of_eight_gpus():
    _, report = parse(pool_config(replicas=2))
    layout = report.layout("big")
    assert (layout.nodes_per_replica, layout.gpus_per_pod) == (2, 8)
    output = report.as_output()["pools"]["big"]
    assert output["nodesPerReplica"] == 2 and output["totalGpus"] == 32
    # 382 GiB of FP8 weights over 16 GPUs; each node holds half.
    assert output["perNode"]["gpus"] == 8
    assert output["perNode"]["weightsGiB"] == pytest.approx(191.0)
    assert output["perNode"]["kvCacheGiB"] == pytest.approx(8 * output["kvCacheGiBPerGpu"], rel=1e-3)


def test_single_node_pools_keep_one_pod_per_replica():
    _, report = parse(pool_config(model=LLAMA_70B, tensorParallelSize=8, pipelineParallelSize=1))
    layout = report.layout("big")
    assert (layout.nodes_per_replica, layout.gpus_per_pod) == (1, 8)
    assert "perNode" not in report.as_output()["pools"]["big"]


def test_layers_must_split_evenly_into_pipeline_stages():
    message = error_of(pool_config(tensorParallelSize=4, pipelineParallelSize=4))
    assert "llm-serving:pools.big.pipelineParallelSize = 4" in message
    assert "126 layers" in message and "use one of 1, 2, 3, 6, 7, 9, 14" in message


def test_a_replica_must_fill_whole_nodes():
    message = error_of(pool_config(tensorParallelSize=4, pipelineParallelSize=3, model=LLAMA_70B))
    # 80 layers / 3 fails too; both are reported at once.
    assert "not a whole number of nodes" in message and "GPU catalog" in message
    assert "pipelineParallelSize = 3" in message


def test_a_group_must_run_on_one_product():
    message = error_of(pool_config(products=(H100, "NVIDIA-H200")))
    assert "llm-serving:pools.big.gpuProducts" in message and "one GPU product" in message


def test_declared_node_size_beyond_the_catalog_is_refused():
    message = error_of(
        pool_config(tensorParallelSize=16, pipelineParallelSize=1, multiNode={"gpusPerNode": 16})
    )
    assert "llm-serving:pools.big.multiNode.gpusPerNode = 16" in message
    assert f"{H100} nodes have 8 GPUs" in message


def test_node_size_can_be_declared_where_the_catalog_does_not_know_it():
    values = pool_config(
        products=("NVIDIA-L40S",),
        model=LLAMA_70B,
        tensorParallelSize=4,
        pipelineParallelSize=2,
        maxModelLen=8192,
        multiNode={"gpusPerNode": 4},
    )
    _, report = parse(values)
    assert (report.layout("big").nodes_per_replica, report.layout("big").gpus_per_pod) == (2, 4)


def test_tensor_parallelism_across_nodes_is_allowed_with_a_warning():
    _, report = parse(pool_config(tensorParallelSize=16, pipelineParallelSize=1))
    assert report.layout("big").nodes_per_replica == 2
    assert any("spans nodes" in warning for warning in report.warnings)


def test_the_executor_backend_is_ours_in_a_multi_node_pool():
    message = error_of(pool_config(extraArgs=["--distributed-executor-backend=mp"]))
    assert "llm-serving:pools.big.extraArgs[0]: sets --distributed-executor-backend" in message


def test_a_group_cannot_share_a_read_write_once_claim():
    """A ReadWriteOnce claim mounts on one node; a replica spanning two never fits it."""
    values = pool_config(replicas=1)
    values["modelCache"] = {"mode": "pvc"}
    message = error_of(values)
    assert 'llm-serving:modelCache.pvc.accessMode = "ReadWriteOnce"' in message
    assert "spans 2 nodes (pools.big 2 pods x 8 GPUs)" in message and "ReadWriteMany" in message


def test_hostname_cannot_be_the_exclusive_topology():
    message = error_of(pool_config(multiNode={"topologyKey": "kubernetes.io/hostname"}))
    assert "llm-serving:pools.big.multiNode.topologyKey" in message and "spans several nodes" in message


def test_prefill_decode_roles_cannot_span_nodes():
    role = {"model": LLAMA_405B_FP8, "tensorParallelSize": 8, "pipelineParallelSize": 2, "maxModelLen": 8192}
    values = {"gpu": {"products": [H100]}, "pdStacks": {"big": {"prefill": role, "decode": dict(role)}}}
    message = error_of(values)
    assert "llm-serving:pdStacks.big.prefill.tensorParallelSize = 8" in message
    assert "multi-node roles are not supported" in message


# --- the program: what a multi-node pool registers ---------------------------


@pytest.fixture(scope="module")
def example_run():
    return run_program(stack_file_config(EXAMPLE))


def _templates(group_set) -> tuple[dict, dict]:
    groups = group_set.inputs["spec"]["leaderWorkerTemplate"]
    return groups["leaderTemplate"], groups["workerTemplate"]


def test_the_405b_example_is_two_groups_of_two_whole_h100_nodes(example_run):
    (group_set,) = example_run.of_kind("LeaderWorkerSet")
    assert not example_run.of_kind("Deployment")
    spec = group_set.inputs["spec"]
    assert spec["replicas"] == 2
    assert spec["leaderWorkerTemplate"]["size"] == 2
    assert spec["leaderWorkerTemplate"]["restartPolicy"] == "RecreateGroupOnPodRestart"
    # LWS names its headless Service after the set: it must not take the pool's Service name.
    assert group_set.inputs["metadata"]["name"] == "llama-405b-group"
    for template in _templates(group_set):
        (container,) = template["spec"]["containers"]
        assert container["resources"]["limits"]["nvidia.com/gpu"] == "8"
        (term,) = template["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]["nodeSelectorTerms"]
        assert term["matchExpressions"][0]["values"] == [H100]
    assert validation_errors(group_set.manifest) == []


def test_the_leader_starts_the_ray_head_then_vllm_with_tp_per_node_and_pp_per_node_count(example_run):
    (group_set,) = example_run.of_kind("LeaderWorkerSet")
    leader, _ = _templates(group_set)
    (container,) = leader["spec"]["containers"]
    script = container["command"][2]
    assert container["command"][:2] == ["bash", "-c"]
    assert "ray start --head --port=6379" in script and '"$LWS_GROUP_SIZE"' in script
    assert script.rstrip().endswith('exec vllm serve "$@"')
    args = container["args"]
    assert args[0] == LLAMA_405B_FP8
    assert args[args.index("--tensor-parallel-size") + 1] == "8"
    assert args[args.index("--pipeline-parallel-size") + 1] == "2"
    assert args[args.index("--distributed-executor-backend") + 1] == "ray"
    assert {"name": "ray", "containerPort": 6379} in container["ports"]


def test_workers_join_the_leaders_ray_head_and_serve_nothing(example_run):
    (group_set,) = example_run.of_kind("LeaderWorkerSet")
    _, worker = _templates(group_set)
    (container,) = worker["spec"]["containers"]
    script = container["command"][2]
    assert 'ray start --address="$LWS_LEADER_ADDRESS:6379" --block' in script
    assert "ray health-check" in script  # waits for the head instead of restarting the group
    assert "args" not in container and "ports" not in container
    assert not {"readinessProbe", "livenessProbe", "startupProbe"} & set(container)


def test_only_leaders_take_traffic_and_the_budget_covers_every_pod(example_run):
    service = example_run.one("Service", "llama-405b").inputs["spec"]
    assert service["selector"]["llm-serving.io/group-role"] == "leader"
    pdb = example_run.one("PodDisruptionBudget", "llama-405b").inputs["spec"]
    assert "llm-serving.io/group-role" not in pdb["selector"]["matchLabels"]


def test_multi_node_loading_gets_its_budget_shared_memory_and_the_network_interfaces(example_run):
    (group_set,) = example_run.of_kind("LeaderWorkerSet")
    leader, worker = _templates(group_set)
    startup = leader["spec"]["containers"][0]["startupProbe"]
    # 382 GiB that every pod downloads itself (no prefetch): far beyond the hour's floor.
    assert startup["periodSeconds"] * startup["failureThreshold"] == derived_startup_seconds(382, True, True)
    for template in (leader, worker):
        (container,) = template["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["NCCL_SOCKET_IFNAME"] == env["GLOO_SOCKET_IFNAME"] == "eth0"
        assert "/dev/shm" in {m["mountPath"] for m in container["volumeMounts"]}
        (shm,) = [v for v in template["spec"]["volumes"] if v["name"] == "dshm"]
        assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "64Gi"}


def test_the_capacity_output_shows_per_node_figures(example_run):
    capacity = example_run.outputs["capacity"]["pools"]["llama-405b"]
    assert capacity["nodesPerReplica"] == 2 and capacity["perNode"]["gpus"] == 8
    assert example_run.outputs["capacity"]["totalGpus"] == 32


def _example_config() -> dict:
    return copy.deepcopy(stack_file_config(EXAMPLE))


def test_an_explicit_startup_budget_is_kept():
    config = _example_config()
    config["llm-serving:pools"]["llama-405b"]["probes"] = {"startupTimeoutSeconds": 1200}
    (group_set,) = run_program(config).of_kind("LeaderWorkerSet")
    startup = _templates(group_set)[0]["spec"]["containers"][0]["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] == 1200


def test_topology_key_makes_each_group_own_a_domain():
    config = _example_config()
    config["llm-serving:pools"]["llama-405b"]["multiNode"] = {"topologyKey": "example.com/nvlink-domain"}
    (group_set,) = run_program(config).of_kind("LeaderWorkerSet")
    annotations = group_set.inputs["metadata"]["annotations"]
    annotations.pop(OWNER_ANNOTATION)  # every object's (tests/test_stack_ownership.py)
    assert annotations == {"leaderworkerset.sigs.k8s.io/exclusive-topology": "example.com/nvlink-domain"}
    assert validation_errors(group_set.manifest) == []


def test_the_autoscaler_scales_groups():
    config = _example_config()
    config["llm-serving:pools"]["llama-405b"]["autoscaling"] = {
        "mode": "hpa",
        "minReplicas": 1,
        "maxReplicas": 3,
    }
    run = run_program(config)
    (hpa,) = run.of_kind("HorizontalPodAutoscaler")
    target = hpa.inputs["spec"]["scaleTargetRef"]
    assert target == {
        "apiVersion": "leaderworkerset.x-k8s.io/v1",
        "kind": "LeaderWorkerSet",
        "name": "llama-405b-group",
    }
    (group_set,) = run.of_kind("LeaderWorkerSet")
    assert "spec.replicas" in group_set.ignore_changes


def test_the_lws_controller_is_an_optional_pinned_release_groups_wait_for():
    assert not run_program(_example_config()).of_kind("Release")
    config = _example_config()
    config["llm-serving:leaderWorkerSet"] = {"install": True}
    run = run_program(config)
    (release,) = run.of_kind("Release")
    assert release.inputs["chart"] == "oci://registry.k8s.io/lws/charts/lws"
    assert release.inputs["version"] == "0.9.0" and "repositoryOpts" not in release.inputs
    assert release.inputs["values"]["image"]["manager"]["tag"] == "v0.9.0"
    (group_set,) = run.of_kind("LeaderWorkerSet")
    assert release.urn in group_set.dependencies


def test_monitoring_watches_the_leaders_and_alerts_when_no_group_is_ready():
    config = _example_config()
    config["llm-serving:monitoring"] = {"enabled": True}
    run = run_program(config)
    (monitor,) = run.of_kind("ServiceMonitor")
    service = run.one("Service", "llama-405b")
    assert all(
        service.inputs["metadata"]["labels"].get(k) == v
        for k, v in monitor.inputs["spec"]["selector"]["matchLabels"].items()
    )
    (rules,) = run.of_kind("PrometheusRule")
    alerts = {r["alert"]: r for r in rules.inputs["spec"]["groups"][0]["rules"]}
    assert 'statefulset=~"llama-405b-group"' in alerts["VllmNoReadyGroups"]["expr"]
