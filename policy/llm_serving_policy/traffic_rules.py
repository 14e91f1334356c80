"""A stack policy: every caller the objects declare is let through by the NetworkPolicies.

Callers are read from the objects themselves, never from a stack's config:
- a container whose command, args or env names a Service by URL or `host:port`
  (`http://llama-decode:8000`, `llama-decode.prod.svc:8000`) calls that Service's pods;
- a router that discovers its workers by label (vllm-router's `--prefill-selector
  k=v ...` with `--service-discovery-port`, production-stack's `--k8s-label-selector`
  with `--k8s-port`) calls the pods those labels select, on that port;
- an HTTPRoute or Ingress backend, an InferencePool and a ServiceMonitor or PodMonitor
  are called from outside the namespace (the gateway's proxy, the ingress controller,
  Prometheus), and an InferencePool's pods are also called by its endpoint picker.
A call is let through when no NetworkPolicy selects the callee for ingress (or the
caller for egress), or when one of the policies that do has a rule whose peers and
ports cover it. Peers given by namespaceSelector or ipBlock cover outside callers;
podSelector peers cover pods of the same namespace. Unknown values skip the call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from llm_serving_policy.objects import KubeObject, PodTemplate, as_dict, as_list, is_known, selector_matches
from llm_serving_policy.stack_index import StackIndex, service_selector
from llm_serving_policy.wiring_rules import GATEWAY_GROUP, POOL_GROUPS, Violation, pool_shape, stack_policy

_SERVICE_ADDRESS = re.compile(
    r"(?:https?://|grpc://|^|[\s,=])([a-z0-9]([-a-z0-9]*[a-z0-9])?)(?:\.([a-z0-9-]+))?(?:\.svc(?:\.[a-z.]+)?)?:([0-9]{2,5})"
)


@dataclass(frozen=True)
class Call:
    """Someone reaching a pod on a port: `caller` is a pod template, or None for a caller
    outside the namespace; `why` says which object declares it."""

    caller: PodTemplate | None
    callee: PodTemplate
    port: int | str
    why: str


def _policies_selecting(index: StackIndex, pod: PodTemplate, direction: str) -> list[KubeObject] | None:
    """The NetworkPolicies of the pod's namespace that isolate it in `direction`; None if unknown."""
    found = []
    for policy in index.of_kind("NetworkPolicy", "networking.k8s.io"):
        if policy.namespace != pod.owner.namespace:
            continue
        types = policy.spec.get("policyTypes")
        if types is None:
            types = ["Ingress", "Egress"] if "egress" in policy.spec else ["Ingress"]
        if direction not in as_list(types):
            continue
        matched = selector_matches(policy.spec.get("podSelector") or {"matchLabels": {}}, pod.labels)
        if matched is None:
            return None
        if matched:
            found.append(policy)
    return found


def _port_numbers(pod: PodTemplate, port: int | str) -> set[int | str]:
    """The port as a number and, where the pod names it, as a name (rules may use either)."""
    names: set[int | str] = {port}
    for declared in pod.container_ports():
        if port in (declared.get("containerPort"), declared.get("name")):
            names |= {declared.get("containerPort"), declared.get("name")} - {None}
    return names


def _ports_cover(rule: dict, ports: set[int | str]) -> bool:
    rule_ports = as_list(rule.get("ports"))
    if not rule_ports:
        return True
    for entry in rule_ports:
        port, end = entry.get("port"), entry.get("endPort")
        if port is None or port in ports:
            return True
        ranged = isinstance(port, int) and isinstance(end, int)
        if ranged and any(isinstance(p, int) and port <= p <= end for p in ports):
            return True
    return False


def _peers_cover(peers: list, caller: PodTemplate | None) -> bool:
    if not peers:
        return True
    for peer in peers:
        if caller is None and ("namespaceSelector" in peer or "ipBlock" in peer):
            return True
        same_namespace = caller is not None and "podSelector" in peer and "namespaceSelector" not in peer
        if same_namespace and selector_matches(peer["podSelector"], caller.labels):
            return True
        if caller is not None and "namespaceSelector" in peer:
            # Namespace labels are not registered objects; only the well-known name label is.
            names = _namespace_names(peer["namespaceSelector"])
            pods = peer.get("podSelector")
            if caller.owner.namespace in names and (pods is None or selector_matches(pods, caller.labels)):
                return True
    return False


def _namespace_names(selector: dict) -> set[str]:
    names = set()
    label = "kubernetes.io/metadata.name"
    if label in as_dict(selector.get("matchLabels")):
        names.add(selector["matchLabels"][label])
    for expression in as_list(selector.get("matchExpressions")):
        if expression.get("key") == label and expression.get("operator") == "In":
            names |= set(as_list(expression.get("values")))
    return names


def _admitted(index: StackIndex, call: Call) -> str | None:
    """None when the call is let through (or cannot be judged), else which side blocks it."""
    ports = _port_numbers(call.callee, call.port)
    ingress = _policies_selecting(index, call.callee, "Ingress")
    if ingress:
        rules = [as_dict(r) for p in ingress for r in as_list(p.spec.get("ingress"))]
        if not any(
            _ports_cover(r, ports) and _peers_cover(as_list(r.get("from")), call.caller) for r in rules
        ):
            return "ingress"
    if call.caller is None:
        return None
    egress = _policies_selecting(index, call.caller, "Egress")
    if egress:
        rules = [as_dict(r) for p in egress for r in as_list(p.spec.get("egress"))]
        if not any(_ports_cover(r, ports) and _peers_cover(as_list(r.get("to")), call.callee) for r in rules):
            return "egress"
    return None


def _target_port(service: KubeObject, port: object) -> object:
    """The pods' port behind a Service port (a number or a port name)."""
    for entry in as_list(service.spec.get("ports")):
        if port in (entry.get("port"), entry.get("name")):
            return entry.get("targetPort", entry.get("port"))
    return None


def _service_calls(index: StackIndex, service: KubeObject, port: object, caller, why: str) -> Iterator[Call]:
    target = _target_port(service, port)
    selector = service_selector(service)
    if not is_known(target) or target is None or selector is None:
        return
    for pod in index.selected(service.namespace, selector) or []:
        yield Call(caller, pod, target, why)


def _addresses(pod: PodTemplate) -> Iterator[tuple[str, str | None, int]]:
    """(service, namespace or None, port) named in a pod's command, args and env values."""
    for _, container in pod.containers():
        texts = [*as_list(container.get("command")), *as_list(container.get("args"))]
        texts += [v.get("value") for v in as_list(container.get("env")) if isinstance(v, dict)]
        for text in texts:
            if isinstance(text, str):
                for match in _SERVICE_ADDRESS.finditer(text):
                    yield match.group(1), match.group(3), int(match.group(4))


# Flags that give a discovered worker's port, and flags whose values select workers.
_DISCOVERY_PORT_FLAGS = ("--service-discovery-port", "--k8s-port")
_LABEL = re.compile(r"([A-Za-z0-9./-]+)=([A-Za-z0-9._-]*)")


def _discovered(pod: PodTemplate) -> Iterator[tuple[dict, int]]:
    """(labels, port) of each worker set a router container discovers by label."""
    for _, container in pod.containers(with_init=False):
        args = [
            a
            for a in [*as_list(container.get("command")), *as_list(container.get("args"))]
            if isinstance(a, str)
        ]
        ports = [args[i + 1] for i, a in enumerate(args[:-1]) if a in _DISCOVERY_PORT_FLAGS]
        if not ports or not ports[-1].isdigit():
            continue
        for index, arg in enumerate(args):
            if not (arg.startswith("--") and arg.endswith("selector")):
                continue
            labels = {}
            for value in args[index + 1 :]:
                if value.startswith("--"):
                    break
                labels |= dict(
                    _LABEL.fullmatch(item).groups() for item in value.split(",") if _LABEL.fullmatch(item)
                )
            if labels:
                yield labels, int(ports[-1])


def calls(index: StackIndex) -> Iterator[Call]:
    """Every call the stack's objects declare."""
    for pod in index.templates:
        for labels, port in _discovered(pod):
            why = f"{pod.owner.describe()} discovers them by the labels {labels}"
            for callee in index.selected(pod.owner.namespace, {"matchLabels": labels}) or []:
                yield Call(pod, callee, port, why)
        for name, namespace, port in _addresses(pod):
            service = index.find("Service", namespace or pod.owner.namespace, name)
            if service is not None:
                why = f"{pod.owner.describe()} calls {name}:{port}"
                yield from _service_calls(index, service, port, pod, why)
    for route in index.of_kind("HTTPRoute", GATEWAY_GROUP):
        for rule in as_list(route.spec.get("rules")):
            for backend in as_list(as_dict(rule).get("backendRefs")):
                namespace = backend.get("namespace", route.namespace)
                if backend.get("kind", "Service") == "Service" and backend.get("group", "") == "":
                    service = index.find("Service", namespace, backend.get("name"))
                    if service is not None:
                        why = f"{route.describe()} routes the gateway to it"
                        yield from _service_calls(index, service, backend.get("port"), None, why)
    for ingress in index.of_kind("Ingress", "networking.k8s.io"):
        for rule in as_list(ingress.spec.get("rules")):
            for path in as_list(as_dict(rule.get("http")).get("paths")):
                backend = as_dict(as_dict(as_dict(path).get("backend")).get("service"))
                service = index.find("Service", ingress.namespace, backend.get("name"))
                port = as_dict(backend.get("port"))
                if service is not None:
                    why = f"{ingress.describe()} sends the ingress controller to it"
                    yield from _service_calls(index, service, port.get("number", port.get("name")), None, why)
    yield from _pool_calls(index)
    yield from _monitor_calls(index)


def _pool_calls(index: StackIndex) -> Iterator[Call]:
    for pool in index.of_kind("InferencePool", POOL_GROUPS):
        selector, ports, picker, _ = pool_shape(pool)
        picker_service = index.find("Service", pool.namespace, picker.get("name"))
        pickers = []
        if picker_service is not None and service_selector(picker_service) is not None:
            pickers = index.selected(pool.namespace, service_selector(picker_service)) or []
        for pod in index.selected(pool.namespace, selector) or []:
            for port in ports:
                if not is_known(port) or port is None:
                    continue
                yield Call(None, pod, port, f"{pool.describe()} sends the gateway to it")
                for picker_pod in pickers:
                    yield Call(picker_pod, pod, port, f"{pool.describe()}'s endpoint picker scrapes it")


def _monitor_calls(index: StackIndex) -> Iterator[Call]:
    for monitor in index.of_kind("ServiceMonitor", "monitoring.coreos.com"):
        why = f"{monitor.describe()} has Prometheus scrape it"
        for service in index.of_kind("Service"):
            if service.namespace != monitor.namespace:
                continue
            if not selector_matches(
                monitor.spec.get("selector"), as_dict(service.props.get("metadata")).get("labels") or {}
            ):
                continue
            for endpoint in as_list(monitor.spec.get("endpoints")):
                yield from _service_calls(index, service, as_dict(endpoint).get("port"), None, why)
    for monitor in index.of_kind("PodMonitor", "monitoring.coreos.com"):
        why = f"{monitor.describe()} has Prometheus scrape it"
        for pod in index.selected(monitor.namespace, monitor.spec.get("selector")) or []:
            for endpoint in as_list(monitor.spec.get("podMetricsEndpoints")):
                port = as_dict(endpoint).get("port")
                if is_known(port) and port is not None:
                    yield Call(None, pod, port, why)


def check_callers_admitted(index: StackIndex) -> Iterator[Violation]:
    seen = set()
    for call in calls(index):
        blocked = _admitted(index, call)
        key = (call.callee.owner.urn, call.caller.owner.urn if call.caller else None, call.port, blocked)
        if blocked is None or key in seen:
            continue
        seen.add(key)
        caller = call.caller.owner.describe() if call.caller else "callers outside the namespace"
        if blocked == "ingress":
            yield (
                call.callee.owner,
                (
                    f"port {call.port} is closed to {caller} by its NetworkPolicies, but {call.why}. "
                    f"Fix: add an ingress rule admitting {caller} on port {call.port}"
                ),
            )
        else:
            yield (
                call.caller.owner,
                (  # type: ignore[union-attr]
                    f"may not reach {call.callee.owner.describe()} on port {call.port} under its "
                    f"NetworkPolicies, but {call.why}. Fix: add an egress rule to those pods on port "
                    f"{call.port}"
                ),
            )


TRAFFIC_POLICIES = [
    stack_policy(
        "network-policies-admit-callers",
        "Every caller the objects declare (service addresses in commands, routes, ingresses, inference "
        "pools, monitors) is let through by the NetworkPolicies at both ends.",
        check_callers_admitted,
    )
]
