"""What answers requests: VllmPool (a Deployment or a multi-node group, its Service,
PDB and autoscaler), PDRouterStack (prefill and decode pools behind vllm-router), and
the endpoint descriptions the stack exports.
"""

from components.serving.endpoints import endpoint_description
from components.serving.pd_router_stack import ROUTER_MAX_SURGE, PDRouterStack, PDRouterStackSpec
from components.serving.vllm_pool import VllmPool, VllmPoolSpec

__all__ = [
    "endpoint_description",
    "PDRouterStack",
    "PDRouterStackSpec",
    "ROUTER_MAX_SURGE",
    "VllmPool",
    "VllmPoolSpec",
]
