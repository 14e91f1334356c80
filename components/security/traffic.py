"""Who may talk to whom: each workload says what it serves and to whom, and what it
reaches outside the namespace; NetworkPolicies turns that into policy objects.

Pure: a `Workload` is data built by the component that owns the pods (it knows their
labels and ports), so the policy can never select pods that do not exist or open a
port nobody serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Callers outside the namespace, selected by config (networkPolicy.clients/.prometheus).
CLIENTS = "clients"
PROMETHEUS = "prometheus"
# Any source at all: only for the edge itself (a Gateway's proxy pods).
ANYONE = "anyone"
# Destinations outside the cluster network (networkPolicy.modelHub/.objectStorage/.apiServer).
MODEL_HUB = "modelHub"
OBJECT_STORAGE = "objectStorage"
API_SERVER = "apiServer"


@dataclass(frozen=True)
class ServedPort:
    """A TCP port a workload's pods listen on (None: whichever ports they choose), and
    who may connect to it: ANYONE, CLIENTS, PROMETHEUS, or the names of other workloads
    in the namespace."""

    name: str
    port: int | None
    callers: frozenset[str]
    # The last port of a range starting at `port` (NetworkPolicy's endPort), or None.
    end_port: int | None = None


@dataclass(frozen=True)
class Workload:
    """One set of pods (a Deployment's or a Job's), by the labels that select them."""

    name: str
    selector: dict[str, str]
    ports: tuple[ServedPort, ...] = ()
    # MODEL_HUB, OBJECT_STORAGE, API_SERVER.
    egress: frozenset[str] = field(default_factory=frozenset)
    # Its pods talk to each other on any port (a multi-node group: Ray, NCCL, Gloo).
    among_themselves: bool = False
    # Namespaces its pods may reach on any port (a gateway proxy's control plane).
    egress_namespaces: tuple[str, ...] = ()


MODEL_DOWNLOAD = frozenset({MODEL_HUB, OBJECT_STORAGE})
