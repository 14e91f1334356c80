"""llm-serving: vLLM on Kubernetes from a short, typed stack config.

Compose, nothing else: config is loaded and checked first (a bad config stops here,
before any resource is registered), then the namespace, the secrets, GPU placement,
the model cache, the pools, the prefill/decode stacks, their monitoring, and the
namespace's guards and edge: network policy, quota, ingress.
"""

from __future__ import annotations

import dataclasses

import pulumi

from components.addons import LeaderWorkerSetController
from components.edge import EdgeIngress, InferenceGateway, RouteTarget
from components.monitoring import MonitoringStack
from components.namespace import NamespaceQuota, guard_stack_ownership, stack_namespace
from components.placement import GpuNodeSelector, GpuScheduling
from components.security import NetworkPolicies, PodSecurity, stack_traffic
from components.serving import PDRouterStack, PDRouterStackSpec, VllmPool, VllmPoolSpec, endpoint_description
from components.shared import stack_secrets
from components.storage import ModelCache
from config.loader import load_stack_config
from config.names import PD_ROLES, role_pool_name, router_name
from config.render import without_helm_releases
from config.serving.vllm_args import render_vllm_args

loaded = load_stack_config()
stack = loaded.stack
for warning in loaded.report.warnings:
    pulumi.log.warn(warning)
for line in loaded.report.summary_lines():
    pulumi.log.info(line)
# From here on, every object is annotated with this stack and refused if another owns it.
guard_stack_ownership()

# Render mode (`make render`): the kubernetes provider writes manifests to this
# directory instead of applying them; see config/render.py for what is left out.
render_directory = pulumi.Config("kubernetes").get("renderYamlToDirectory")
if render_directory:
    stack, render_messages = without_helm_releases(stack)
    for message in render_messages:
        pulumi.log.warn(message)

namespace = stack_namespace(stack.namespace, stack.create_namespace)
secrets = stack_secrets(stack, loaded.hf_token, namespace, render_mode=bool(render_directory))
hf_token = secrets.hf_token
release = stack.release
security = PodSecurity(stack.pod_security, stack.pod_security.runs_as_root(stack.model_cache.mode))
gpu_selector = GpuNodeSelector("gpu", stack.gpu, release.chart_versions.gpu_operator)
serving_pools = stack.serving_pools()
lws_controller = LeaderWorkerSetController(
    "leader-worker-set", stack.leader_worker_set, release.chart_versions.leader_worker_set
)
cache = ModelCache(
    "model-cache",
    stack.model_cache,
    namespace=namespace,
    pools=serving_pools,
    release=release,
    hf_token=hf_token,
    security=security,
)


def scheduling_for(pool_name: str) -> GpuScheduling:
    """GPU placement of one pod of the pool (a multi-node group's pods also wait for
    the LeaderWorkerSet controller when the stack installs it)."""
    pool = serving_pools[pool_name]
    layout = loaded.report.layout(pool_name)
    scheduling = gpu_selector.scheduling(
        stack.accepted_products(pool), layout.gpus_per_pod, pool.node_selector
    )
    if layout.multi_node:
        scheduling = dataclasses.replace(scheduling, ready=[*scheduling.ready, *lws_controller.ready])
    return scheduling


def endpoint(service: str, port: int, model: str, url: pulumi.Output[str]) -> dict:
    return endpoint_description(stack.namespace, stack.auth, service, port, model, url)


endpoints = {}
scrape_targets = []
route_targets: dict[str, RouteTarget] = {}
vllm_pools: dict[str, VllmPool] = {}
pd_router_stacks: dict[str, PDRouterStack] = {}
for pool_name, pool in stack.pools.items():
    vllm_pool = VllmPool(
        pool_name,
        VllmPoolSpec(
            name=pool_name,
            namespace=namespace,
            pool=pool,
            image=stack.image_for(pool_name),
            image_pull_policy=stack.vllm.image_pull_policy,
            vllm_args=render_vllm_args(
                pool,
                loaded.report.max_model_len(pool_name),
                cache.mount_for(pool_name).model_path,
                stack.hub_revision(pool),
                cache.mount_for(pool_name).adapter_paths,
            ),
            layout=loaded.report.layout(pool_name),
            weights_gib=loaded.report.weights_gib(pool_name),
        ),
        scheduling=scheduling_for(pool_name),
        cache=cache.mount_for(pool_name),
        secrets=secrets,
        security=security,
    )
    endpoints[pool_name] = endpoint(pool_name, pool.service.port, pool.served_name, vllm_pool.service_url)
    scrape_targets.append(vllm_pool.scrape_target(pool_name))
    route_targets[pool_name] = RouteTarget(
        pool_name,
        "pool",
        pool.served_name,
        pool.service.port,
        vllm_pool.serving_selector,
        vllm_pool.service_name,
        adapters=tuple(pool.lora.adapters) if pool.lora else (),
    )
    vllm_pools[pool_name] = vllm_pool

for stack_name, pd_config in stack.pd_stacks.items():
    role_pools = {role: role_pool_name(stack_name, role) for role in PD_ROLES}
    pd_stack = PDRouterStack(
        stack_name,
        PDRouterStackSpec(
            name=stack_name,
            namespace=namespace,
            config=pd_config,
            images={role: stack.image_for(name) for role, name in role_pools.items()},
            router_image=release.images.router,
            revisions={role: stack.hub_revision(serving_pools[name]) for role, name in role_pools.items()},
            image_pull_policy=stack.vllm.image_pull_policy,
            max_model_len={role: loaded.report.max_model_len(name) for role, name in role_pools.items()},
            weights_gib={role: loaded.report.weights_gib(name) for role, name in role_pools.items()},
        ),
        scheduling={role: scheduling_for(name) for role, name in role_pools.items()},
        caches={role: cache.mount_for(name) for role, name in role_pools.items()},
        secrets=secrets,
        security=security,
    )
    endpoints[stack_name] = endpoint(
        router_name(stack_name),
        pd_config.router.service.port,
        pd_config.prefill.served_name,
        pd_stack.router_url,
    )
    scrape_targets += pd_stack.scrape_targets()
    pd_router_stacks[stack_name] = pd_stack
    route_targets[stack_name] = RouteTarget(
        stack_name,
        "router",
        pd_config.prefill.served_name,
        pd_config.router.service.port,
        pd_stack.router_selector,
        pd_stack.router_name,
        adapters=tuple(pd_config.prefill.lora.adapters) if pd_config.prefill.lora else (),
    )

gateway = None
if stack.inference_gateway.routes:
    gateway = InferenceGateway(
        "inference-gateway",
        stack.inference_gateway,
        namespace,
        {name: route_targets[name] for name in stack.inference_gateway.routes},
        release,
        security=security,
    )
    scrape_targets += gateway.scrape_targets()
    pulumi.export(
        "inferenceGateway",
        {
            "gateway": gateway.gateway_name,
            "routes": gateway.routes(),
            "address": f"kubectl get gateway -n {stack.namespace} {gateway.gateway_name} "
            "-o jsonpath='{.status.addresses[0].value}'",
        },
    )

if stack.monitoring.enabled:
    monitoring = MonitoringStack(
        "monitoring",
        stack.monitoring,
        namespace,
        scrape_targets,
        release.chart_versions.kube_prometheus_stack,
    )
    pulumi.export("monitoring", {"alerts": monitoring.alert_names, "dashboards": monitoring.dashboards})

if stack.network_policy.enabled:
    traffic = stack_traffic(cache.traffic(), vllm_pools, pd_router_stacks, gateway)
    NetworkPolicies(
        "network-policies",
        stack.network_policy,
        namespace,
        traffic,
        prometheus=stack.network_policy.prometheus_peers(stack.monitoring),
    )
if stack.quota.enabled:
    quota = NamespaceQuota(
        "namespace-quota", stack, {name: loaded.report.layout(name) for name in serving_pools}, namespace
    )
    pulumi.export("quota", quota.hard)
if stack.ingress.enabled:
    edge = EdgeIngress("llm-serving", stack.ingress, namespace, route_targets)
    pulumi.export("ingress", edge.urls)

pulumi.export("namespace", namespace)
pulumi.export("endpoints", endpoints)
pulumi.export("capacity", loaded.report.as_output())
