"""Required node selectors, built one way for pods (GPU products) and volumes (a host)."""

from __future__ import annotations

import pulumi_kubernetes as k8s


def node_label_in(key: str, values: list[str]) -> k8s.core.v1.NodeSelectorArgs:
    """Nodes whose label `key` has one of `values`."""
    return node_labels_in({key: values})


def node_labels_in(requirements: dict[str, list[str]]) -> k8s.core.v1.NodeSelectorArgs:
    """Nodes whose every label `key` has one of its `values` (one term: all must hold)."""
    return k8s.core.v1.NodeSelectorArgs(
        node_selector_terms=[
            k8s.core.v1.NodeSelectorTermArgs(
                match_expressions=[
                    k8s.core.v1.NodeSelectorRequirementArgs(key=key, operator="In", values=values)
                    for key, values in requirements.items()
                ]
            )
        ]
    )
