"""The policies of the llm-serving pack: per object (pods) and across objects (wiring, traffic)."""

from llm_serving_policy.pod_rules import POD_POLICIES
from llm_serving_policy.traffic_rules import TRAFFIC_POLICIES
from llm_serving_policy.wiring_rules import WIRING_POLICIES

ALL_POLICIES = [*POD_POLICIES, *WIRING_POLICIES, *TRAFFIC_POLICIES]

__all__ = ["ALL_POLICIES", "POD_POLICIES", "TRAFFIC_POLICIES", "WIRING_POLICIES"]
