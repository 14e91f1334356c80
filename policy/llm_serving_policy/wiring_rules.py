"""Stack policies on the links between objects, which fail silently at run time when
broken: a Service or PodDisruptionBudget that selects no pods, an autoscaler aimed at
a workload that does not exist, an InferencePool whose target port no container
serves or whose endpoint-picker Service is missing, a route to a missing backend.

Links whose values preview cannot know yet (outputs of other resources) are skipped,
never guessed. Namespaces with a Helm release are skipped for selector checks: the
release's pods are not registered objects, so the pack cannot see them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pulumi_policy import EnforcementLevel, ReportViolation, StackValidationArgs, StackValidationPolicy

from llm_serving_policy.objects import KubeObject, as_dict, as_list, dig, is_known, port_matches
from llm_serving_policy.stack_index import StackIndex, service_selector

POOL_GROUPS = ("inference.networking.k8s.io", "inference.networking.x-k8s.io")
GATEWAY_GROUP = "gateway.networking.k8s.io"
Violation = tuple[KubeObject, str]


def stack_policy(
    name: str, description: str, check: Callable[[StackIndex], Iterator[Violation]]
) -> StackValidationPolicy:
    """A mandatory stack policy that reports each (object, message) `check` yields."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        for obj, message in check(StackIndex.of(args.resources)):
            report(f"{obj.describe()}: {message}.", obj.urn)

    return StackValidationPolicy(
        name=name, description=description, enforcement_level=EnforcementLevel.MANDATORY, validate=validate
    )


def served_ports(declared: list[dict]) -> str:
    """'8000, 9000' for a message; 'no ports' when the pods declare none."""
    return ", ".join(sorted({str(p.get("containerPort")) for p in declared})) or "no ports"


def _selectable(obj: KubeObject, index: StackIndex) -> bool:
    return isinstance(obj.namespace, str) and not index.is_opaque(obj.namespace)


def check_service_selectors(index: StackIndex) -> Iterator[Violation]:
    for service in index.of_kind("Service"):
        selector = service_selector(service)
        if selector is None or not _selectable(service, index):
            continue
        pods = index.selected(service.namespace, selector)
        if pods is None:
            continue
        if not pods:
            yield (
                service,
                (
                    f"selects no pods: no workload in namespace {service.namespace} has the labels "
                    f"{selector}. "
                    "Fix: make spec.selector equal to the target workload's pod template labels"
                ),
            )
            continue
        for port in index.service_ports(service):
            target = port.get("targetPort", port.get("port"))
            if not is_known(target) or target is None:
                continue
            declared = [p for pod in pods for p in pod.container_ports()]
            named = isinstance(target, str) and not target.isdigit()
            if (named or declared) and not port_matches(target, declared):
                yield (
                    service,
                    (
                        f"port {port.get('port')} targets {target!r}, which no selected container serves "
                        f"(they declare {served_ports(declared)}). Fix: set targetPort to the container "
                        "port (or its name)"
                    ),
                )


def check_pdb_selectors(index: StackIndex) -> Iterator[Violation]:
    for pdb in index.of_kind("PodDisruptionBudget", "policy"):
        if not _selectable(pdb, index):
            continue
        pods = index.selected(pdb.namespace, pdb.spec.get("selector"))
        if pods == []:
            yield (
                pdb,
                (
                    f"selects no pods in namespace {pdb.namespace}, so it protects nothing. Fix: make "
                    "spec.selector.matchLabels equal to the workload's pod template labels"
                ),
            )


def _target_exists(index: StackIndex, namespace: str, reference: dict) -> bool | None:
    kind, name = reference.get("kind", "Deployment"), reference.get("name")
    api_version = reference.get("apiVersion", "apps/v1")
    if not is_known([kind, name, api_version]):
        return None
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return index.find(kind, namespace, name, group) is not None


def check_autoscaler_targets(index: StackIndex) -> Iterator[Violation]:
    autoscalers = [*index.of_kind("HorizontalPodAutoscaler", "autoscaling")]
    autoscalers += [*index.of_kind("ScaledObject", "keda.sh")]
    for autoscaler in autoscalers:
        reference = as_dict(autoscaler.spec.get("scaleTargetRef"))
        if not isinstance(autoscaler.namespace, str):
            continue
        exists = _target_exists(index, autoscaler.namespace, reference)
        if exists is False:
            yield (
                autoscaler,
                (
                    f"scales {reference.get('kind', 'Deployment')} {reference.get('name')!r}, which this "
                    "stack "
                    f"does not create in namespace {autoscaler.namespace}. Fix: point spec.scaleTargetRef at "
                    "the workload's kind, apiVersion and name"
                ),
            )


def pool_shape(pool: KubeObject) -> tuple[object, list, dict, object]:
    """(selector, target ports, endpoint-picker reference, its port) of an InferencePool,
    v1 (`selector.matchLabels`, `targetPorts`, `endpointPickerRef`) or v1alpha2
    (`selector`, `targetPortNumber`, `extensionRef`)."""
    spec = pool.spec
    if "targetPorts" in spec or "endpointPickerRef" in spec:
        ports = [p.get("number") for p in as_list(spec.get("targetPorts")) if isinstance(p, dict)]
        picker = as_dict(spec.get("endpointPickerRef"))
        return spec.get("selector"), ports, picker, dig(picker, "port", "number")
    picker = as_dict(spec.get("extensionRef"))
    return spec.get("selector"), [spec.get("targetPortNumber")], picker, picker.get("portNumber")


def check_inference_pools(index: StackIndex) -> Iterator[Violation]:
    for pool in index.of_kind("InferencePool", POOL_GROUPS):
        if not isinstance(pool.namespace, str):
            continue
        selector, ports, picker, picker_port = pool_shape(pool)
        pods = index.selected(pool.namespace, selector) if _selectable(pool, index) else None
        if pods == []:
            yield (
                pool,
                (
                    f"selects no pods in namespace {pool.namespace}. Fix: make spec.selector match the model "
                    "server's pod template labels"
                ),
            )
        for pod in pods or []:
            declared = pod.container_ports()
            for port in ports:
                if is_known(port) and port is not None and not port_matches(port, declared):
                    yield (
                        pool,
                        (
                            f"targets port {port}, but {pod.owner.describe()} serves "
                            f"{served_ports(declared)}; "
                            "the endpoint picker drops such pods without a word. Fix: set the target port to "
                            "the vLLM container's port"
                        ),
                    )
        name = picker.get("name")
        if picker.get("kind", "Service") != "Service" or not is_known(name) or name is None:
            continue
        service = index.find("Service", pool.namespace, name)
        if service is None:
            yield (
                pool,
                (
                    f"names endpoint-picker Service {name!r}, which this stack does not create; the "
                    "gateway cannot reach a picker and the picker crash-loops. Fix: create it or correct "
                    "the reference"
                ),
            )
        elif is_known(picker_port) and picker_port not in [
            None,
            *(p.get("port") for p in index.service_ports(service)),
        ]:
            yield (
                pool,
                (
                    f"reaches endpoint-picker Service {name!r} on port {picker_port}, which it does not "
                    "expose. Fix: use the picker Service's gRPC port"
                ),
            )


def _service_backend(
    index: StackIndex, owner: KubeObject, namespace: str, name: object, port: object, what: str
) -> Iterator[Violation]:
    if not is_known([namespace, name, port]) or name is None:
        return
    service = index.find("Service", namespace, name)
    if service is None:
        yield (
            owner,
            f"{what} Service {namespace}/{name}, which this stack does not create. Fix: correct the name",
        )
        return
    ports = index.service_ports(service)
    if port is None:
        yield owner, f"{what} Service {name!r} without a port. Fix: name one of its ports"
    elif not any(port in (p.get("port"), p.get("name")) for p in ports):
        exposed = ", ".join(str(p.get("port")) for p in ports)
        yield (
            owner,
            (
                f"{what} Service {name!r} on port {port}, which it does not expose ({exposed}). "
                "Fix: use one of the Service's ports"
            ),
        )


def check_route_backends(index: StackIndex) -> Iterator[Violation]:
    for route in index.of_kind("HTTPRoute", GATEWAY_GROUP):
        if not isinstance(route.namespace, str):
            continue
        for rule in as_list(route.spec.get("rules")):
            for backend in as_list(as_dict(rule).get("backendRefs")):
                group, kind = backend.get("group", ""), backend.get("kind", "Service")
                namespace = backend.get("namespace", route.namespace)
                if group == "" and kind == "Service":
                    yield from _service_backend(
                        index, route, namespace, backend.get("name"), backend.get("port"), "routes to"
                    )
                elif (
                    kind == "InferencePool"
                    and is_known(backend.get("name"))
                    and not index.find("InferencePool", namespace, backend.get("name"), POOL_GROUPS)
                ):
                    yield (
                        route,
                        (
                            f"routes to InferencePool {namespace}/{backend.get('name')}, which this stack "
                            "does not create. Fix: correct backendRefs[].name"
                        ),
                    )
    for ingress in index.of_kind("Ingress", "networking.k8s.io"):
        backends = [as_dict(ingress.spec.get("defaultBackend"))]
        for rule in as_list(ingress.spec.get("rules")):
            backends += [as_dict(p).get("backend") for p in as_list(dig(rule, "http", "paths"))]
        for backend in backends:
            service = as_dict(as_dict(backend).get("service"))
            if service:
                port = as_dict(service.get("port"))
                yield from _service_backend(
                    index, ingress, ingress.namespace, service.get("name"),
                    port.get("number", port.get("name")), "sends traffic to",
                )  # fmt: skip


WIRING_POLICIES = [
    stack_policy(
        "services-select-pods",
        "Every Service with a selector selects a workload's pods and targets a port they serve.",
        check_service_selectors,
    ),
    stack_policy(
        "disruption-budgets-select-pods",
        "Every PodDisruptionBudget selects a workload's pods.",
        check_pdb_selectors,
    ),
    stack_policy(
        "autoscalers-target-workloads",
        "Every HorizontalPodAutoscaler and KEDA ScaledObject targets a workload the stack creates.",
        check_autoscaler_targets,
    ),
    stack_policy(
        "inference-pools-wired",
        "Every InferencePool selects pods serving its target ports, and its endpoint-picker reference "
        "names an existing Service and port.",
        check_inference_pools,
    ),
    stack_policy(
        "routes-reach-backends",
        "Every HTTPRoute and Ingress backend exists, with the port it is reached on.",
        check_route_backends,
    ),
]
