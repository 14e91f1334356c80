"""Who may do what: pod and container hardening, the traffic each workload declares,
and the NetworkPolicies built from those declarations.
"""

from components.security.network_policies import NetworkPolicies
from components.security.pod_security import PodSecurity
from components.security.traffic import (
    ANYONE,
    API_SERVER,
    CLIENTS,
    MODEL_DOWNLOAD,
    PROMETHEUS,
    ServedPort,
    Workload,
)
from components.security.traffic_wiring import stack_traffic

__all__ = [
    "stack_traffic",
    "ANYONE",
    "API_SERVER",
    "CLIENTS",
    "MODEL_DOWNLOAD",
    "NetworkPolicies",
    "PROMETHEUS",
    "PodSecurity",
    "ServedPort",
    "Workload",
]
