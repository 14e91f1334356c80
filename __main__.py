"""llm-serving: vLLM on Kubernetes from a short, typed stack config.

Compose, nothing else: config is loaded and checked first (a bad config stops here,
before any resource is registered), then the namespace, the secrets, GPU placement,
the model cache and the pools.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.gpu_node_selector import GpuNodeSelector
from components.model_cache import ModelCache
from components.pod_secrets import PodSecrets, SecretRef
from components.vllm_pool import VllmPool, VllmPoolSpec
from config.loader import load_stack_config
from config.vllm_args import render_vllm_args

loaded = load_stack_config()
stack = loaded.stack
for warning in loaded.report.warnings:
    pulumi.log.warn(warning)

if stack.create_namespace:
    namespace: pulumi.Input[str] = k8s.core.v1.Namespace(
        "namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=stack.namespace, labels={"app.kubernetes.io/part-of": "llm-serving"}
        ),
    ).metadata.name
else:
    namespace = stack.namespace


def _secret(resource_name: str, secret_name: str, key: str, value: pulumi.Input[str]) -> SecretRef:
    k8s.core.v1.Secret(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=namespace),
        type="Opaque",
        string_data={key: pulumi.Output.secret(value)},
    )
    return SecretRef(secret_name, key)


hugging_face = stack.hugging_face
if hugging_face.existing_secret:
    hf_token = SecretRef(hugging_face.existing_secret, hugging_face.secret_key)
elif loaded.hf_token is not None:
    hf_token = _secret("hf-token", "hf-token", hugging_face.secret_key, loaded.hf_token)
else:
    hf_token = None

api_key = None
if stack.auth.enabled:
    password = random.RandomPassword("vllm-api-key", length=48, special=False)
    api_key = _secret("vllm-api-key", stack.auth.secret_name, "VLLM_API_KEY", password.result)

secrets = PodSecrets(hf_token=hf_token, api_key=api_key)
gpu_selector = GpuNodeSelector("gpu", stack.gpu)
cache = ModelCache(
    "model-cache",
    stack.model_cache,
    namespace=namespace,
    pools=stack.pools,
    prefetch_image=stack.vllm.image,
    hf_token=hf_token,
)

endpoints = {}
for pool_name, pool in stack.pools.items():
    vllm_pool = VllmPool(
        pool_name,
        VllmPoolSpec(
            name=pool_name,
            namespace=namespace,
            pool=pool,
            image=stack.image_for(pool),
            image_pull_policy=stack.vllm.image_pull_policy,
            vllm_args=render_vllm_args(pool, loaded.report.max_model_len(pool_name)),
        ),
        scheduling=gpu_selector.scheduling(stack.accepted_products(pool), pool.gpus_per_pod),
        cache=cache.mount_for(pool_name),
        secrets=secrets,
    )
    auth_header = (
        f'-H "Authorization: Bearer $(kubectl get secret -n {stack.namespace} {stack.auth.secret_name} '
        "-o jsonpath='{.data.VLLM_API_KEY}' | base64 -d)\" "
        if stack.auth.enabled
        else ""
    )
    endpoints[pool_name] = {
        "model": pool.served_name,
        "url": vllm_pool.service_url,
        "portForward": f"kubectl port-forward -n {stack.namespace} svc/{pool_name} "
        f"{pool.service.port}:{pool.service.port}",
        "curl": f"curl -s {auth_header}http://localhost:{pool.service.port}/v1/models",
    }

pulumi.export("namespace", namespace)
pulumi.export("endpoints", endpoints)
pulumi.export("capacity", loaded.report.as_output())
