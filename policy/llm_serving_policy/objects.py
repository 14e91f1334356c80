"""Kubernetes objects as the policy engine hands them over, made plain.

The engine passes a resource's inputs (camelCase, as the provider sends them to the
API server) wrapped in pulumi-policy's unknown-checking proxy: reading a value that
preview cannot know yet raises `UnknownValueError`, which would skip the whole policy.
`plain` copies the inputs into dicts and lists with each unknown value replaced by
`UNKNOWN`, so a check can skip just the link it cannot see and still check the rest.

Everything here reads resources only, never a stack's config: the pack works on any
Pulumi program that registers Kubernetes objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy.proxy import UnknownValueError


class _Unknown:
    """A value the engine cannot know during preview (an output of another resource)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


def plain(value: Any) -> Any:
    """`value` as plain dicts and lists, every unknown leaf replaced by UNKNOWN and
    every whole-number float made an int."""
    if isinstance(value, Mapping):
        result = {}
        for key in value:
            try:
                result[key] = plain(value[key])
            except UnknownValueError:
                result[key] = UNKNOWN
        return result
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    # The engine sends numbers as protobuf doubles; Kubernetes' are integers (ports, UIDs).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def dig(value: Any, *path: str | int) -> Any:
    """value[path[0]][path[1]]...; None where a step is missing, UNKNOWN where unknown."""
    for part in path:
        if value is UNKNOWN:
            return UNKNOWN
        if isinstance(part, int):
            value = value[part] if isinstance(value, list) and part < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def as_list(value: Any) -> list:
    """A list property, or [] where it is unset or unknown."""
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict:
    """A map property, or {} where it is unset or unknown."""
    return value if isinstance(value, dict) else {}


def is_known(value: Any) -> bool:
    """Neither UNKNOWN nor containing an unknown value anywhere."""
    if value is UNKNOWN:
        return False
    if isinstance(value, dict):
        return all(is_known(v) for v in value.values())
    if isinstance(value, list):
        return all(is_known(v) for v in value)
    return True


@dataclass(frozen=True)
class KubeObject:
    """One registered Kubernetes object: its type token, URN and plain inputs."""

    resource_type: str
    urn: str
    props: dict

    @property
    def kind(self) -> str:
        """`kubernetes:apps/v1:Deployment` -> `Deployment`."""
        return self.resource_type.rsplit(":", 1)[-1]

    @property
    def group(self) -> str:
        """The API group (`apps`, `gateway.networking.k8s.io`; "" for the core group)."""
        api_version = self.resource_type.split(":")[1] if self.resource_type.count(":") == 2 else ""
        group = api_version.rpartition("/")[0]
        return "" if group == "core" else group  # tokens spell the core group `core/v1`

    @property
    def name(self) -> Any:
        return dig(self.props, "metadata", "name")

    @property
    def namespace(self) -> Any:
        """The object's namespace; "default" when unset (the provider's default)."""
        namespace = dig(self.props, "metadata", "namespace")
        return "default" if namespace is None else namespace

    @property
    def spec(self) -> dict:
        return as_dict(self.props.get("spec"))

    def describe(self) -> str:
        """How a message names the object: `Deployment dev/llama-router`."""
        name = self.name if isinstance(self.name, str) else "(a name not known at preview)"
        namespace = self.namespace if isinstance(self.namespace, str) else "?"
        return f"{self.kind} {namespace}/{name}"


def is_kubernetes(resource_type: str) -> bool:
    """An object the kubernetes provider applies (not a provider or a Helm release)."""
    return (
        resource_type.startswith("kubernetes:")
        and not resource_type.startswith("kubernetes:helm.sh/")
        and not resource_type.startswith("pulumi:providers:")
        and resource_type.count(":") == 2
    )


# --- pods ---------------------------------------------------------------------------

# Workloads and where their pod templates are, by kind (LeaderWorkerSet: a leader and
# a worker template in one object).
_POD_TEMPLATE_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Deployment": (("spec", "template"),),
    "StatefulSet": (("spec", "template"),),
    "DaemonSet": (("spec", "template"),),
    "ReplicaSet": (("spec", "template"),),
    "ReplicationController": (("spec", "template"),),
    "Job": (("spec", "template"),),
    "CronJob": (("spec", "jobTemplate", "spec", "template"),),
    "LeaderWorkerSet": (
        ("spec", "leaderWorkerTemplate", "leaderTemplate"),
        ("spec", "leaderWorkerTemplate", "workerTemplate"),
    ),
}


@dataclass(frozen=True)
class PodTemplate:
    """The pods one workload runs: labels and pod spec, and where they were found."""

    owner: KubeObject
    labels: dict
    spec: dict
    where: str  # e.g. "spec.template"

    def containers(self, *, with_init: bool = True) -> Iterator[tuple[str, dict]]:
        """(field, container) for every container: `containers[0]`, `initContainers[1]`."""
        fields = ("initContainers", "containers") if with_init else ("containers",)
        for field in fields:
            for index, container in enumerate(as_list(self.spec.get(field))):
                if isinstance(container, dict):
                    yield f"{field}[{index}]", container

    def container_ports(self) -> list[dict]:
        """Every declared container port (number and name) of the long-running containers."""
        ports = []
        for _, container in self.containers(with_init=False):
            ports += [p for p in as_list(container.get("ports")) if isinstance(p, dict)]
        # Native sidecars (init containers that keep running) serve ports too.
        for container in as_list(self.spec.get("initContainers")):
            if isinstance(container, dict) and container.get("restartPolicy") == "Always":
                ports += [p for p in as_list(container.get("ports")) if isinstance(p, dict)]
        return ports


def pod_templates(obj: KubeObject) -> list[PodTemplate]:
    """The pod templates of a workload (a Pod is its own template); [] for other kinds."""
    if obj.kind == "Pod" and obj.group == "":
        return [PodTemplate(obj, as_dict(dig(obj.props, "metadata", "labels")), obj.spec, "spec")]
    templates = []
    for path in _POD_TEMPLATE_PATHS.get(obj.kind, ()):
        template = dig(obj.props, *path)
        if isinstance(template, dict):
            templates.append(
                PodTemplate(
                    obj,
                    as_dict(dig(template, "metadata", "labels")),
                    as_dict(template.get("spec")),
                    ".".join(path),
                )
            )
    return templates


# --- label selectors ----------------------------------------------------------------


def selector_matches(selector: Any, labels: dict) -> bool | None:
    """Whether a label selector (a LabelSelector with matchLabels/matchExpressions, or a
    Service's plain map) selects `labels`; None when the selector is not known."""
    if not is_known(selector) or not is_known(labels):
        return None
    if not isinstance(selector, dict):
        return None
    match_labels = selector.get("matchLabels")
    expressions = selector.get("matchExpressions")
    if match_labels is None and expressions is None:
        match_labels = selector  # a Service's or ReplicationController's map
    for key, value in as_dict(match_labels).items():
        if labels.get(key) != value:
            return False
    for expression in as_list(expressions):
        key, operator = expression.get("key"), expression.get("operator")
        values = as_list(expression.get("values"))
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def port_matches(target: Any, ports: list[dict]) -> bool:
    """Whether a Service target port (a number or a port name) is one of `ports`."""
    if isinstance(target, str) and not target.isdigit():
        return any(port.get("name") == target for port in ports)
    return any(port.get("containerPort") == int(target) for port in ports)
