"""The whole stack config (`llm-serving:*`): every section, and what needs more than one.

Defaults are declared once in the sections; a stack file holds only what differs. Keys are
camelCase in YAML and snake_case in Python. Unknown keys are errors at every level, so a
typo never passes silently. `loader.py` reads Pulumi config into `StackConfig`.

Pure: no Pulumi imports.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pydantic import Field, model_validator

from config.addons.sections import LeaderWorkerSetControllerConfig
from config.catalog import (
    BUILTIN_GPUS,
    BUILTIN_MODELS,
    GpuModel,
    ModelArchitecture,
)
from config.cli_scalars import from_cli
from config.edge.sections import InferenceGatewayConfig, IngressConfig
from config.kube_types import (
    DnsLabel,
    LabelValue,
    ModelId,
)
from config.monitoring.sections import MonitoringConfig
from config.names import PD_ROLES, role_pool_name
from config.placement.sections import GpuConfig
from config.release import ReleaseConfig
from config.section import Section
from config.security.sections import AuthConfig, NetworkPolicyConfig, PodSecurityConfig, QuotaConfig
from config.serving.sections import PDStackConfig, PDStackName, PoolConfig, PoolName, VllmDefaults
from config.storage.sections import HuggingFaceConfig, ModelCacheConfig

NAMESPACE_PREFIX = "llm-serving"


def stack_namespace(stack_name: str) -> str:
    """The default namespace of a stack: `llm-serving-<stack>`, so that two stacks on
    one cluster never share one. Characters a namespace cannot hold become '-'; a name
    too long keeps a hash of the whole so that two long names still differ."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", stack_name.lower()).strip("-") or "stack"
    name = f"{NAMESPACE_PREFIX}-{cleaned}"
    if len(name) > 63:
        digest = hashlib.sha256(stack_name.encode()).hexdigest()[:8]
        name = f"{name[:54].rstrip('-')}-{digest}"
    return name


class StackConfig(Section):
    """The whole `llm-serving:` config namespace of one stack."""

    # The loader fills in stack_namespace(<stack name>) when the stack sets none.
    namespace: DnsLabel = NAMESPACE_PREFIX
    create_namespace: bool = True
    hugging_face: HuggingFaceConfig = Field(default_factory=HuggingFaceConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    gpu: GpuConfig = Field(default_factory=GpuConfig)
    vllm: VllmDefaults = Field(default_factory=VllmDefaults)
    model_cache: ModelCacheConfig = Field(default_factory=ModelCacheConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    leader_worker_set: LeaderWorkerSetControllerConfig = Field(
        default_factory=LeaderWorkerSetControllerConfig
    )
    inference_gateway: InferenceGatewayConfig = Field(default_factory=InferenceGatewayConfig)
    pod_security: PodSecurityConfig = Field(default_factory=PodSecurityConfig)
    network_policy: NetworkPolicyConfig = Field(default_factory=NetworkPolicyConfig)
    quota: QuotaConfig = Field(default_factory=QuotaConfig)
    ingress: IngressConfig = Field(default_factory=IngressConfig)
    # Stack additions to the catalogs; an entry with a built-in key replaces it.
    models: dict[ModelId, ModelArchitecture] = Field(default_factory=dict)
    gpus: dict[LabelValue, GpuModel] = Field(default_factory=dict)
    pools: dict[PoolName, PoolConfig] = Field(default_factory=dict)
    pd_stacks: dict[PDStackName, PDStackConfig] = Field(default_factory=dict)
    release: ReleaseConfig = Field(default_factory=ReleaseConfig)

    @model_validator(mode="before")
    @classmethod
    def _read_cli_scalars(cls, data: Any) -> Any:
        """Strings where the schema expects a number or boolean, as `pulumi config set`
        leaves them (`"0.9"`, `"01"`, top-level values), read by config/cli_scalars.py."""
        return from_cli(cls, data)

    @property
    def model_catalog(self) -> dict[str, ModelArchitecture]:
        return {**BUILTIN_MODELS, **self.models}

    @property
    def gpu_catalog(self) -> dict[str, GpuModel]:
        return {**BUILTIN_GPUS, **self.gpus}

    def serving_pool_entries(self) -> list[tuple[str, PoolConfig, str]]:
        """Every vLLM pool to deploy: (object name, effective pool, config key), plain
        pools first, then each P/D stack's roles."""
        entries = [(name, pool, f"pools.{name}") for name, pool in self.pools.items()]
        for name, pd_stack in self.pd_stacks.items():
            for role in PD_ROLES:
                entries.append((role_pool_name(name, role), pd_stack.role(role), f"pdStacks.{name}.{role}"))
        return entries

    def serving_pools(self) -> dict[str, PoolConfig]:
        """Every vLLM pool to deploy, by object name: plain pools and P/D roles."""
        return {name: pool for name, pool, _ in self.serving_pool_entries()}

    def accepted_products(self, pool: PoolConfig) -> list[str]:
        return pool.gpu_products if pool.gpu_products is not None else self.gpu.products

    def image_for(self, pool_name: str) -> str:
        """The vLLM image of one serving pool (a P/D role pool by its object name)."""
        images = self.release.images
        return images.pools.get(pool_name, images.vllm)

    def revision_for(self, model: str) -> str | None:
        return self.release.model_revisions.get(model)

    def hub_revision(self, pool: PoolConfig) -> str | None:
        """The pinned commit vLLM is told for a pool: only hub sources have one (S3 and
        cache-path weights are pinned by where they are)."""
        return self.revision_for(pool.model) if pool.source.kind == "huggingFace" else None
