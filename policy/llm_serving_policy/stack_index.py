"""Every Kubernetes object of a stack, indexed for policies that look across objects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pulumi_policy import PolicyResource

from llm_serving_policy.objects import (
    KubeObject,
    PodTemplate,
    as_dict,
    is_kubernetes,
    plain,
    pod_templates,
    selector_matches,
)

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


@dataclass
class StackIndex:
    objects: list[KubeObject] = field(default_factory=list)
    templates: list[PodTemplate] = field(default_factory=list)
    # Namespaces where a Helm release runs pods this pack cannot see.
    opaque_namespaces: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, resources: list[PolicyResource]) -> StackIndex:
        index = cls()
        for resource in resources:
            if resource.resource_type == HELM_RELEASE:
                namespace = plain(resource.props).get("namespace")
                index.opaque_namespaces.add(namespace if isinstance(namespace, str) else "default")
            if not is_kubernetes(resource.resource_type):
                continue
            obj = KubeObject(resource.resource_type, resource.urn, plain(resource.props))
            index.objects.append(obj)
            index.templates += pod_templates(obj)
        return index

    def of_kind(self, kind: str, group: str | tuple[str, ...] = "") -> Iterator[KubeObject]:
        groups = (group,) if isinstance(group, str) else group
        return (o for o in self.objects if o.kind == kind and o.group in groups)

    def find(
        self, kind: str, namespace: str, name: str, group: str | tuple[str, ...] = ""
    ) -> KubeObject | None:
        return next(
            (o for o in self.of_kind(kind, group) if o.namespace == namespace and o.name == name), None
        )

    def selected(self, namespace: str, selector: object) -> list[PodTemplate] | None:
        """The pod templates in `namespace` a selector matches; None if it is not known."""
        matches = []
        for template in self.templates:
            if template.owner.namespace != namespace:
                continue
            matched = selector_matches(selector, template.labels)
            if matched is None:
                return None
            if matched:
                matches.append(template)
        return matches

    def service_ports(self, service: KubeObject) -> list[dict]:
        return [p for p in service.spec.get("ports") or [] if isinstance(p, dict)]

    def is_opaque(self, namespace: str) -> bool:
        return namespace in self.opaque_namespaces


def service_selector(service: KubeObject) -> dict | None:
    """A Service's pod selector; None for Services without one (ExternalName, manual endpoints)."""
    if service.spec.get("type") == "ExternalName":
        return None
    selector = as_dict(service.spec.get("selector"))
    return selector or None
