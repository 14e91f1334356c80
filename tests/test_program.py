"""The real __main__.py under Pulumi's official mocks, for every stack file and for
variants that switch on what the stacks leave off. Asserts what the cluster would
receive: schema validity, selectors, probes, GPU scheduling, secrets, storage."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pulumi
import pytest

from harness import (
    FAKE_HF_TOKEN,
    MOCK_RANDOM_PASSWORD,
    ROOT,
    STACK_NAMESPACE,
    ProgramRun,
    Registered,
    is_secret_wrapper,
    run_program,
    stack_file_config,
)
from schemas import validation_errors

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml")) + sorted((ROOT / "examples").glob("*.yaml"))
POOLS = "llm-serving:pools"


def stack_id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.fixture(scope="module", params=STACK_FILES, ids=stack_id)
def stack_run(request) -> ProgramRun:
    return run_program(stack_file_config(request.param))


def dev_config() -> dict:
    return copy.deepcopy(stack_file_config(ROOT / "Pulumi.dev.yaml"))


def prod_config() -> dict:
    return copy.deepcopy(stack_file_config(ROOT / "Pulumi.prod.yaml"))


def with_pool(config: dict, pool: str, **overrides) -> dict:
    config[POOLS][pool] = {**config[POOLS][pool], **overrides}
    return config


def gpu_deployments(run: ProgramRun) -> list[Registered]:
    """Deployments that run vLLM (not the router)."""
    return [
        d
        for d in run.of_kind("Deployment")
        if any(c["name"] == "vllm" for c in d.inputs["spec"]["template"]["spec"]["containers"])
    ]


def pod_spec(deployment: Registered) -> dict:
    return deployment.inputs["spec"]["template"]["spec"]


def vllm_container(deployment: Registered) -> dict:
    (container,) = [c for c in pod_spec(deployment)["containers"] if c["name"] == "vllm"]
    return container


def pod_templates(run: ProgramRun) -> list[tuple[Registered, str, dict]]:
    """(workload, role, pod template) of every workload: a Deployment's template
    (role "pod"), a LeaderWorkerSet's "leader" and "worker" templates."""
    templates = [(d, "pod", d.inputs["spec"]["template"]) for d in run.of_kind("Deployment")]
    for group_set in run.of_kind("LeaderWorkerSet"):
        groups = group_set.inputs["spec"]["leaderWorkerTemplate"]
        templates.append((group_set, "leader", groups["leaderTemplate"]))
        templates.append((group_set, "worker", groups["workerTemplate"]))
    return templates


def vllm_templates(run: ProgramRun) -> list[tuple[Registered, str, dict]]:
    """Pod templates that run vLLM or its multi-node workers (not routers)."""
    return [
        (w, role, t)
        for w, role, t in pod_templates(run)
        if any(c["name"] == "vllm" for c in t["spec"]["containers"])
    ]


def serving_templates(run: ProgramRun) -> list[tuple[Registered, str, dict]]:
    """Templates of the pods that serve vLLM's API: Deployments' and groups' leaders."""
    return [(w, role, t) for w, role, t in vllm_templates(run) if role != "worker"]


def template_container(template: dict) -> dict:
    (container,) = [c for c in template["spec"]["containers"] if c["name"] == "vllm"]
    return container


def replica_gpus(workload: Registered) -> int:
    """tensorParallelSize x pipelineParallelSize, as the serving container is told."""
    (template,) = [t for w, role, t in serving_templates_of(workload)]
    args = template_container(template)["args"]
    return int(args[args.index("--tensor-parallel-size") + 1]) * int(
        args[args.index("--pipeline-parallel-size") + 1]
    )


def serving_templates_of(workload: Registered) -> list[tuple[Registered, str, dict]]:
    if workload.kind == "LeaderWorkerSet":
        return [(workload, "leader", workload.inputs["spec"]["leaderWorkerTemplate"]["leaderTemplate"])]
    return [(workload, "pod", workload.inputs["spec"]["template"])]


def group_size(workload: Registered) -> int:
    if workload.kind == "LeaderWorkerSet":
        return workload.inputs["spec"]["leaderWorkerTemplate"]["size"]
    return 1


def env_of(container: dict) -> dict:
    return {e["name"]: e for e in container.get("env", [])}


def hf_token_file_reference(pod: dict, container: dict) -> dict:
    """{name, key} of the Secret the container reads HF_TOKEN_PATH from, following the
    variable to its mount and the mount to its volume; never an HF_TOKEN variable."""
    env = env_of(container)
    assert "HF_TOKEN" not in env
    path = env["HF_TOKEN_PATH"]["value"]
    (mount,) = [m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    file_name = path.removeprefix(mount["mountPath"] + "/")
    (item,) = [i for i in volume["secret"]["items"] if i["path"] == file_name]
    return {"name": volume["secret"]["secretName"], "key": item["key"]}


def matches(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# --- every stack file ------------------------------------------------------


def test_stack_files_exist():
    names = {p.name for p in STACK_FILES}
    assert {"Pulumi.dev.yaml", "Pulumi.prod.yaml"} <= names


def test_every_kubernetes_object_validates_against_its_schema(stack_run):
    manifests = stack_run.manifests()
    assert manifests
    errors = [e for manifest in manifests for e in validation_errors(manifest)]
    assert errors == []


def test_every_resource_has_a_parent_component_or_is_top_level(stack_run):
    top_level_types = {
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:Secret",
        "random:index/randomPassword:RandomPassword",
    }
    for resource in stack_run.resources:
        if resource.type.startswith("llm-serving:") or resource.type in top_level_types:
            continue
        parent = stack_run.by_urn(resource.parent)
        assert parent.type.startswith("llm-serving:"), resource.urn


def test_every_deployment_selector_matches_its_pods(stack_run):
    for deployment in stack_run.of_kind("Deployment"):
        selector = deployment.inputs["spec"]["selector"]["matchLabels"]
        assert matches(selector, deployment.inputs["spec"]["template"]["metadata"]["labels"])


def test_every_service_selects_exactly_one_workloads_pods(stack_run):
    templates = pod_templates(stack_run)
    for service in stack_run.of_kind("Service"):
        selector = service.inputs["spec"]["selector"]
        selected = [(w, role, t) for w, role, t in templates if matches(selector, t["metadata"]["labels"])]
        assert len({w.urn for w, _, _ in selected}) == 1, service.name
        # A multi-node group's Service reaches its leaders only: workers serve no API.
        assert all(role != "worker" for _, role, _ in selected), service.name
        container_ports = {
            p["name"] for _, _, t in selected for c in t["spec"]["containers"] for p in c["ports"]
        }
        for port in service.inputs["spec"]["ports"]:
            assert port["targetPort"] in container_ports


def test_every_pdb_selects_its_pools_pods(stack_run):
    templates = pod_templates(stack_run)
    workloads = {w.urn for w, _, _ in templates}
    pdbs = stack_run.of_kind("PodDisruptionBudget")
    assert len(pdbs) == len(workloads)
    for pdb in pdbs:
        selector = pdb.inputs["spec"]["selector"]["matchLabels"]
        selected = [(w, role) for w, role, t in templates if matches(selector, t["metadata"]["labels"])]
        assert len({w.urn for w, _ in selected}) == 1, pdb.name
        # Every pod of the workload: for a group, its leader and its workers.
        (workload, _), *_ = selected
        assert len(selected) == len([1 for w, _, _ in templates if w.urn == workload.urn]), pdb.name


def test_probes_wait_for_model_load_then_watch_health(stack_run):
    for workload, _, template in serving_templates(stack_run):
        container = template_container(template)
        startup = container["startupProbe"]
        assert startup["httpGet"]["path"] == "/health"
        budget = startup["periodSeconds"] * startup["failureThreshold"]
        # Loading across nodes gets a longer default budget.
        assert budget >= (60 if group_size(workload) > 1 else 30) * 60
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["path"] == "/health"
        if workload.kind == "Deployment":
            assert workload.inputs["spec"]["progressDeadlineSeconds"] > budget


def test_multi_node_workers_have_no_api_and_no_probes(stack_run):
    for _, role, template in vllm_templates(stack_run):
        if role == "worker":
            container = template_container(template)
            assert not {"startupProbe", "readinessProbe", "livenessProbe", "ports"} & set(container)


def test_gpu_pods_are_scheduled_only_on_accepted_gpus(stack_run):
    for workload, _, template in vllm_templates(stack_run):
        spec = template["spec"]
        gpus = replica_gpus(workload) // group_size(workload)
        resources = template_container(template)["resources"]
        assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == str(gpus)
        (term,) = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"
        ]
        (expression,) = term["matchExpressions"]
        assert expression["key"] == "nvidia.com/gpu.product" and expression["operator"] == "In"
        assert expression["values"]
        if group_size(workload) > 1:
            # A group's nodes are all of one product.
            assert len(expression["values"]) == 1
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
        assert spec["runtimeClassName"] == "nvidia"


def test_shared_memory_is_mounted_exactly_when_a_replica_has_several_gpus(stack_run):
    for workload, _, template in vllm_templates(stack_run):
        mounts = {m["mountPath"] for m in template_container(template)["volumeMounts"]}
        assert ("/dev/shm" in mounts) == (replica_gpus(workload) > 1)


def test_rollouts_never_need_a_spare_gpu(stack_run):
    for workload in {w.urn: w for w, _, _ in vllm_templates(stack_run)}.values():
        if workload.kind == "Deployment":
            assert workload.inputs["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0
        else:
            assert workload.inputs["spec"]["rolloutStrategy"]["rollingUpdateConfiguration"]["maxSurge"] == 0


def test_replaced_pods_keep_serving_while_endpoints_drop_them(stack_run):
    """A preStop sleep inside the grace period on every container serving the API
    (vLLM servers, multi-node leaders, P/D routers): requests routed to a pod being
    replaced are still answered meanwhile (the rolling update on the real node shows it)."""
    serving = [
        (workload, template, container)
        for workload, role, template in pod_templates(stack_run)
        if role != "worker"
        for container in template["spec"]["containers"]
        if container["name"] in ("vllm", "router")
    ]
    assert serving
    for workload, template, container in serving:
        sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        grace = template["spec"].get("terminationGracePeriodSeconds", 30)
        assert 0 < sleep < grace, workload.urn


def test_images_are_pinned(stack_run):
    templates = [t for _, _, t in pod_templates(stack_run)]
    templates += [j.inputs["spec"]["template"] for j in stack_run.of_kind("Job")]
    for template in templates:
        for container in template["spec"]["containers"]:
            assert ":" in container["image"].rsplit("/", 1)[-1] and not container["image"].endswith(":latest")


def test_pods_read_credentials_from_secrets_the_stack_creates(stack_run):
    secrets = {s.inputs["metadata"]["name"]: s for s in stack_run.of_kind("Secret")}
    for _, role, template in vllm_templates(stack_run):
        container = template_container(template)
        env = env_of(container)
        references = [hf_token_file_reference(template["spec"], container)]
        # Multi-node workers serve no API: they never get the API key.
        if role == "worker":
            assert "VLLM_API_KEY" not in env
        else:
            assert "value" not in env["VLLM_API_KEY"]
            references.append(env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"])
        for reference in references:
            secret = secrets[reference["name"]]
            assert reference["key"] in secret.inputs["stringData"]


def test_model_cache_is_mounted_at_hf_home(stack_run):
    claims = {c.inputs["metadata"]["name"] for c in stack_run.of_kind("PersistentVolumeClaim")}
    for _, _, template in vllm_templates(stack_run):
        container = template_container(template)
        hf_home = env_of(container)["HF_HOME"]["value"]
        (cache_volume,) = [v for v in template["spec"]["volumes"] if "persistentVolumeClaim" in v]
        assert cache_volume["persistentVolumeClaim"]["claimName"] in claims
        mount = next(m for m in container["volumeMounts"] if m["name"] == cache_volume["name"])
        assert mount["mountPath"] == hf_home


def test_the_token_is_never_registered_or_exported_in_plain_text(stack_run):
    for secret_value in (FAKE_HF_TOKEN, MOCK_RANDOM_PASSWORD):
        for resource in stack_run.resources:
            _assert_only_inside_secrets(resource.wire, secret_value, resource.urn)
        assert secret_value not in json.dumps(stack_run.outputs)
    hf_secret = stack_run.one("Secret", "hf-token")
    assert is_secret_wrapper(hf_secret.wire["stringData"])


def _assert_only_inside_secrets(value, secret_value: str, where: str) -> None:
    if is_secret_wrapper(value):
        return
    if isinstance(value, dict):
        for item in value.values():
            _assert_only_inside_secrets(item, secret_value, where)
    elif isinstance(value, list):
        for item in value:
            _assert_only_inside_secrets(item, secret_value, where)
    else:
        assert secret_value not in str(value), f"{where} holds a credential in plain text"


def test_outputs_give_urls_commands_and_capacity(stack_run):
    outputs = stack_run.outputs
    assert outputs["namespace"]
    assert outputs["endpoints"]
    services = {s.inputs["metadata"]["name"] for s in stack_run.of_kind("Service")}
    for endpoint in outputs["endpoints"].values():
        service = endpoint["portForward"].split("svc/")[1].split()[0]
        assert service in services
        assert endpoint["url"].startswith(f"http://{service}.")
        # The check generates a token: /v1/models would pass while completions fail.
        assert f'/v1/chat/completions -d \'{{"model": "{endpoint["model"]}"' in endpoint["curl"]
        assert '"max_tokens": 1' in endpoint["curl"]
    assert outputs["capacity"]["totalGpus"] > 0


# --- the two stacks, as the seeds describe them ----------------------------


SEED_002_MODELS = {
    "llama-3-1-8b": ("meta-llama/Llama-3.1-8B-Instruct", 32768),
    "mixtral-8x7b": ("TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ", 16384),
    "deepseek-coder-v2-lite": ("deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct", 65536),
    "llama-3-1-8b-multi": ("meta-llama/Llama-3.1-8B-Instruct", 32768),
}


def test_dev_is_seed_002_on_a_workstation():
    run = run_program(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    volume = run.of_kind("PersistentVolume")[0].inputs
    claim = run.one("PersistentVolumeClaim", "model-cache").inputs
    assert volume["spec"]["hostPath"]["path"] == "/var/lib/llm-models"
    assert claim["spec"]["volumeName"] == volume["metadata"]["name"]
    assert volume["spec"]["claimRef"]["name"] == "model-cache"
    assert claim["spec"]["storageClassName"] == ""
    # Three models at seed 002's context lengths and engine settings, one GPU each.
    for pool, (model, context) in SEED_002_MODELS.items():
        args = vllm_container(run.one("Deployment", pool))["args"]
        assert args[0] == model
        assert args[args.index("--max-model-len") + 1] == str(context)
        assert args[args.index("--gpu-memory-utilization") + 1] == "0.95"
        assert "--enable-prefix-caching" in args
        capacity = run.outputs["capacity"]["pools"][pool]
        assert capacity["gpuProduct"] in {"NVIDIA-L40", "NVIDIA-L40S"} and capacity["gpusPerPod"] == 1
        assert capacity["maxConcurrentFullLengthSequencesPerPod"] >= 1
    # The multi-replica pool: ClientIP affinity for an hour, an HPA up to 3 pods.
    service = run.one("Service", "llama-3-1-8b-multi").inputs["spec"]
    assert service["sessionAffinity"] == "ClientIP"
    assert service["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"] == 3600
    # Traefik sends to the endpoints, past kube-proxy's ClientIP affinity: its sticky
    # cookie keeps an ingress client on one pod for as long.
    sticky = run.one("Service", "llama-3-1-8b-multi").inputs["metadata"]["annotations"]
    prefix = "traefik.ingress.kubernetes.io/service.sticky.cookie"
    assert sticky[prefix] == "true" and sticky[f"{prefix}.maxage"] == "3600"
    assert sticky[f"{prefix}.name"] == "llm-serving-llama-3-1-8b-multi"
    plain = run.one("Service", "llama-3-1-8b").inputs["metadata"].get("annotations") or {}
    assert not any(key.startswith(prefix) for key in plain)
    (hpa,) = run.of_kind("HorizontalPodAutoscaler")
    assert hpa.inputs["spec"]["scaleTargetRef"]["name"] == "llama-3-1-8b-multi"
    assert hpa.inputs["spec"]["maxReplicas"] == 3
    assert run.outputs["capacity"]["totalGpus"] == 6
    # The edge, the guards and monitoring.
    (ingress,) = run.of_kind("Ingress")
    assert ingress.inputs["spec"]["ingressClassName"] == "traefik"
    assert ingress.inputs["spec"]["tls"][0]["hosts"] == ["llm.university.local"]
    assert {m.inputs["spec"].keys().__iter__().__next__() for m in run.of_kind("Middleware")} == {
        "rateLimit",
        "stripPrefixRegex",
    }
    assert run.of_kind("NetworkPolicy") and run.of_kind("ResourceQuota") and run.of_kind("LimitRange")
    assert len(run.of_kind("ServiceMonitor")) == 4
    assert len(run.of_kind("Deployment")) == 4


def test_seed_000_example_is_sixteen_pods_behind_one_service():
    run = run_program(stack_file_config(ROOT / "examples" / "seed-000-replicas.yaml"))
    (deployment,) = run.of_kind("Deployment")
    assert deployment.inputs["spec"]["replicas"] == 16
    assert vllm_container(deployment)["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert len(run.of_kind("Service")) == 1
    assert run.one("Service", "llama-3-1-8b").inputs["spec"].get("sessionAffinity", "None") == "None"
    (release,) = run.of_kind("Release")
    assert release.inputs["chart"] == "longhorn" and release.inputs["version"]
    (claim,) = run.of_kind("PersistentVolumeClaim")
    assert claim.inputs["spec"]["accessModes"] == ["ReadWriteMany"]
    assert (
        claim.inputs["spec"]["storageClassName"] == run.of_kind("StorageClass")[0].inputs["metadata"]["name"]
    )
    assert run.outputs["capacity"]["totalGpus"] == 16


# --- behaviour switched on by config ---------------------------------------


def test_prefetch_job_downloads_each_model_once_and_pools_wait_for_it():
    run = run_program(dev_config())
    jobs = run.of_kind("Job")
    # Four pools, three models: the two Llama pools share one download.
    assert len(jobs) == 3
    for job in jobs:
        container = job.inputs["spec"]["template"]["spec"]["containers"][0]
        assert container["command"][:2] == ["hf", "download"]
        # Meta's original/*.pth: a second copy of the weights vLLM never reads.
        assert container["command"][-2:] == ["--exclude", "original/*"]
        assert (
            hf_token_file_reference(job.inputs["spec"]["template"]["spec"], container)["name"] == "hf-token"
        )
    for deployment in run.of_kind("Deployment"):
        model = vllm_container(deployment)["args"][0]
        (job,) = [
            j for j in jobs if j.inputs["spec"]["template"]["spec"]["containers"][0]["command"][2] == model
        ]
        assert job.urn in deployment.dependencies


def test_two_pools_of_one_model_share_one_prefetch():
    config = dev_config()
    config[POOLS]["llama-copy"] = dict(config[POOLS]["llama-3-1-8b"])
    run = run_program(config)
    assert len(run.of_kind("Job")) == 3


def test_cache_volumes_are_kept_on_destroy_unless_told_otherwise():
    kept = run_program(dev_config())
    for kind in ("PersistentVolume", "PersistentVolumeClaim"):
        assert all(r.retain_on_delete for r in kept.of_kind(kind))
    config = dev_config()
    config["llm-serving:modelCache"]["retainOnDestroy"] = False
    dropped = run_program(config)
    for kind in ("PersistentVolume", "PersistentVolumeClaim"):
        assert not any(r.retain_on_delete for r in dropped.of_kind(kind))


def test_pvc_mode_gives_each_pool_its_own_claim():
    config = dev_config()
    config["llm-serving:modelCache"] = {"mode": "pvc", "pvc": {"storageClassName": "local-path"}}
    run = run_program(config)
    claims = {c.inputs["metadata"]["name"]: c for c in run.of_kind("PersistentVolumeClaim")}
    assert set(claims) == {f"{pool}-model-cache" for pool in SEED_002_MODELS}
    assert all(c.inputs["spec"]["storageClassName"] == "local-path" for c in claims.values())
    for deployment in run.of_kind("Deployment"):
        (volume,) = [v for v in pod_spec(deployment)["volumes"] if "persistentVolumeClaim" in v]
        assert (
            volume["persistentVolumeClaim"]["claimName"]
            == f"{deployment.inputs['metadata']['name']}-model-cache"
        )


def test_host_path_cache_can_be_pinned_to_a_node():
    config = dev_config()
    config["llm-serving:modelCache"]["hostPath"]["nodeName"] = "workstation"
    run = run_program(config)
    affinity = run.of_kind("PersistentVolume")[0].inputs["spec"]["nodeAffinity"]["required"]
    assert affinity["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["workstation"]


def test_a_pools_node_selector_joins_the_gpu_product_in_one_term():
    config = with_pool(dev_config(), "llama-3-1-8b", nodeSelector={"kubernetes.io/hostname": "gpu-7"})
    run = run_program(config)
    (term,) = pod_spec(run.one("Deployment", "llama-3-1-8b"))["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [
        {"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-L40", "NVIDIA-L40S"]},
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["gpu-7"]},
    ]
    # The other pools are left alone.
    (other,) = pod_spec(run.one("Deployment", "mixtral-8x7b"))["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert [e["key"] for e in other["matchExpressions"]] == ["nvidia.com/gpu.product"]


def test_multi_gpu_pods_get_shared_memory_of_the_configured_size():
    config = with_pool(dev_config(), "llama-3-1-8b", tensorParallelSize=2, shm={"size": "20Gi"})
    run = run_program(config)
    deployment = run.one("Deployment", "llama-3-1-8b")
    (shm,) = [v for v in pod_spec(deployment)["volumes"] if v["name"] == "dshm"]
    assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "20Gi"}
    assert vllm_container(deployment)["resources"]["limits"]["nvidia.com/gpu"] == "2"


def test_shared_memory_can_be_forced_on_for_one_gpu():
    run = run_program(with_pool(dev_config(), "llama-3-1-8b", shm={"enabled": True}))
    assert "/dev/shm" in {
        m["mountPath"] for m in vllm_container(run.one("Deployment", "llama-3-1-8b"))["volumeMounts"]
    }


def test_hpa_targets_the_deployment_on_queue_depth():
    config = with_pool(
        dev_config(), "llama-3-1-8b", autoscaling={"mode": "hpa", "minReplicas": 1, "maxReplicas": 3}
    )
    run = run_program(config)
    (hpa,) = [
        h for h in run.of_kind("HorizontalPodAutoscaler") if h.inputs["metadata"]["name"] == "llama-3-1-8b"
    ]
    deployment = run.one("Deployment", "llama-3-1-8b")
    target = hpa.inputs["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment.inputs["metadata"]["name"])
    (metric,) = hpa.inputs["spec"]["metrics"]
    assert metric["pods"]["metric"]["name"] == "vllm_num_requests_waiting"
    assert "spec.replicas" in deployment.ignore_changes
    assert validation_errors(hpa.manifest) == []


def test_keda_scales_the_deployment_on_waiting_requests():
    config = with_pool(
        dev_config(), "llama-3-1-8b", autoscaling={"mode": "keda", "minReplicas": 0, "maxReplicas": 4}
    )
    run = run_program(config)
    (scaled,) = run.of_kind("ScaledObject")
    spec = scaled.inputs["spec"]
    assert spec["scaleTargetRef"]["name"] == "llama-3-1-8b"
    (trigger,) = spec["triggers"]
    assert "vllm:num_requests_waiting" in trigger["metadata"]["query"]
    assert 'model_name="llama-3.1-8b"' in trigger["metadata"]["query"]
    assert spec["minReplicaCount"] == 0
    assert validation_errors(scaled.manifest) == []


def test_auth_off_means_no_api_key_anywhere():
    config = dev_config()
    config["llm-serving:auth"] = {"enabled": False}
    run = run_program(config)
    assert not run.of_kind("RandomPassword")
    for deployment in run.of_kind("Deployment"):
        assert "VLLM_API_KEY" not in env_of(vllm_container(deployment))
    assert all("Authorization" not in e["curl"] for e in run.outputs["endpoints"].values())


def test_existing_hf_secret_is_referenced_not_created():
    config = dev_config()
    config["llm-serving:huggingFace"] = {"existingSecret": "team-hf", "secretKey": "token"}
    run = run_program(config, hf_token=None)
    assert "hf-token" not in {s.inputs["metadata"]["name"] for s in run.of_kind("Secret")}
    deployment = run.one("Deployment", "llama-3-1-8b")
    reference = hf_token_file_reference(pod_spec(deployment), vllm_container(deployment))
    assert reference == {"name": "team-hf", "key": "token"}


def test_existing_api_key_secret_is_referenced_not_generated():
    config = prod_config()
    config["llm-serving:auth"] = {"existingSecret": "team-api-key", "secretKey": "key"}
    run = run_program(config)
    assert not run.of_kind("RandomPassword")
    assert "vllm-api-key" not in {s.inputs["metadata"]["name"] for s in run.of_kind("Secret")}
    for deployment in run.of_kind("Deployment"):
        (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
        reference = env_of(container)["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"]
        assert reference == {"name": "team-api-key", "key": "key"}
    for endpoint in run.outputs["endpoints"].values():
        assert f"secret -n {STACK_NAMESPACE} team-api-key -o jsonpath='{{.data.key}}'" in endpoint["curl"]


def test_gpu_operator_and_runtime_class_are_optional_children():
    config = dev_config()
    config["llm-serving:gpu"] = {
        "products": ["NVIDIA-L40"],
        "createRuntimeClass": True,
        "operator": {"install": True},
    }
    run = run_program(config)
    (runtime_class,) = run.of_kind("RuntimeClass")
    assert runtime_class.inputs["handler"] == "nvidia"
    (release,) = run.of_kind("Release")
    assert release.inputs["chart"] == "gpu-operator" and release.inputs["version"].startswith("v")
    selector = next(r for r in run.resources if r.type == "llm-serving:gpu:GpuNodeSelector")
    assert runtime_class.parent == selector.urn and release.parent == selector.urn
    for deployment in run.of_kind("Deployment"):
        assert runtime_class.urn in deployment.dependencies
        assert release.urn in deployment.dependencies


def test_existing_namespace_is_used_not_created():
    config = dev_config()
    config["llm-serving:createNamespace"] = False
    config["llm-serving:namespace"] = "ml-team"
    run = run_program(config)
    assert not run.of_kind("Namespace")
    assert {d.inputs["metadata"]["namespace"] for d in run.of_kind("Deployment")} == {"ml-team"}


# --- bad config stops the program before anything is registered ------------


def _fails(config: dict, **kwargs) -> tuple[str, ProgramRun]:
    run = ProgramRun()
    with pytest.raises(pulumi.RunError) as caught:
        run_program(config, run=run, **kwargs)
    return str(caught.value), run


def test_llama_70b_on_one_l40_fails_before_any_resource():
    message, run = _fails(with_pool(dev_config(), "llama-3-1-8b", model="meta-llama/Llama-3.1-70B-Instruct"))
    assert "llm-serving:pools.llama-3-1-8b.tensorParallelSize = 1" in message
    assert "tensorParallelSize: 4" in message and "quantization: fp8" in message
    assert run.resources == []


def test_tp_three_fails_before_any_resource():
    message, run = _fails(with_pool(dev_config(), "llama-3-1-8b", tensorParallelSize=3))
    assert "llm-serving:pools.llama-3-1-8b.tensorParallelSize = 3" in message
    assert run.resources == []


def test_misspelled_key_fails_before_any_resource():
    config = dev_config()
    config["llm-serving:modelCahce"] = config.pop("llm-serving:modelCache")
    message, run = _fails(config)
    assert "llm-serving:modelCahce" in message and "did you mean 'modelCache'" in message
    assert run.resources == []


def test_plain_text_token_is_refused_without_echoing_it():
    message, run = _fails(dev_config(), hf_token_secret=False)
    assert "llm-serving:hfToken" in message and "--secret" in message
    assert FAKE_HF_TOKEN not in message
    assert run.resources == []


def test_missing_token_for_a_gated_model_fails():
    message, run = _fails(dev_config(), hf_token=None)
    assert "llm-serving:hfToken" in message
    assert run.resources == []
