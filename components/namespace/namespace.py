"""The stack's namespace: created by the stack, or one that already exists."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.shared import PART_OF


def stack_namespace(name: str, create: bool) -> pulumi.Input[str]:
    """The namespace every namespaced object goes into; when the stack creates it, the
    name is an output, so objects in it wait for it."""
    if not create:
        return name
    return k8s.core.v1.Namespace(
        "namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels={"app.kubernetes.io/part-of": PART_OF}),
    ).metadata.name
