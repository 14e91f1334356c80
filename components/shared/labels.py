"""Kubernetes labels and selectors, computed in one place.

Pods carry the recommended `app.kubernetes.io/*` labels. Selectors use the stable
subset (name, instance, component) so that they never change on upgrade: a
Deployment's selector is immutable.
"""

from __future__ import annotations

PART_OF = "llm-serving"
# A multi-node group's pods: "leader" (serves the API) or "worker" (a Ray node).
GROUP_ROLE_LABEL = "llm-serving.io/group-role"
MANAGED_BY = "pulumi"


def selector_labels(instance: str, component: str, name: str = "vllm") -> dict[str, str]:
    """The labels a Service, PDB or ServiceMonitor selects a workload's pods by."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
    }


def workload_labels(instance: str, component: str, name: str = "vllm") -> dict[str, str]:
    """Every label a workload's objects and pods carry (a superset of the selector)."""
    return {
        **selector_labels(instance, component, name),
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
