"""Resource policies on the pods a workload runs: GPU placement, hardening, sizing,
pinned images and credentials kept out of plain inputs.

Each check reads one object and reports every violation it finds with the object,
the container and the fix. Objects without pods (Services, ConfigMaps) pass through,
except that ConfigMaps are searched for credentials.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from llm_serving_policy.credentials import credential_flag, is_credential_name, looks_like_credential
from llm_serving_policy.objects import (
    UNKNOWN,
    KubeObject,
    PodTemplate,
    as_dict,
    as_list,
    is_kubernetes,
    plain,
    pod_templates,
)
from llm_serving_policy.quantities import quantity_value

# Extended resources that are GPUs, and the taint GPU nodes carry (the GPU Operator's
# and the cloud providers' default); both are policy config (README "Configuration").
GPU_DEFAULTS: dict[str, Any] = {
    "gpuResources": ["nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915", "gpu.intel.com/xe"],
    "gpuTaintKeys": ["nvidia.com/gpu", "amd.com/gpu"],
    # Node label keys that say what GPU a node has (GPU Feature Discovery, NFD, clouds).
    "gpuNodeLabelPrefixes": [
        "nvidia.com/",
        "amd.com/",
        "gpu.intel.com/",
        "feature.node.kubernetes.io/pci-10de",
        "feature.node.kubernetes.io/pci-1002",
        "cloud.google.com/gke-accelerator",
        "karpenter.k8s.aws/instance-gpu",
        "node.kubernetes.io/instance-type",
    ],
}
_SECCOMP_CONFINED = ("RuntimeDefault", "Localhost")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")

Finding = tuple[str, str]  # (what is wrong, the fix)


def _pods(args: ResourceValidationArgs) -> Iterator[PodTemplate]:
    if not is_kubernetes(args.resource_type):
        return
    yield from pod_templates(KubeObject(args.resource_type, args.urn, plain(args.props)))


def _report(report: ReportViolation, template: PodTemplate, where: str, finding: Finding) -> None:
    wrong, fix = finding
    report(f"{template.owner.describe()}: {template.where}{where} {wrong}. Fix: {fix}.")


def _resource_policy(
    name: str,
    description: str,
    level: EnforcementLevel,
    check: Callable[[PodTemplate, dict], Iterator[tuple[str, Finding]]],
    config_schema: PolicyConfigSchema | None = None,
    defaults: dict | None = None,
) -> ResourceValidationPolicy:
    """A policy that runs `check(template, config)` on every pod template of an object."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        config = {**(defaults or {}), **dict(args.get_config() or {})}
        for template in _pods(args):
            for where, finding in check(template, config):
                _report(report, template, where, finding)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        enforcement_level=level,
        validate=validate,
        config_schema=config_schema,
    )


# --- GPU placement ------------------------------------------------------------------


def _gpu_count(container: dict, resources: list[str]) -> list[str]:
    """The GPU resources a container asks for (in requests or limits)."""
    asked = {**as_dict(as_dict(container.get("resources")).get("limits"))}
    asked.update(as_dict(as_dict(container.get("resources")).get("requests")))
    return [r for r in resources if r in asked and quantity_value(asked[r]) not in (None, 0)]


def _node_label_keys(spec: dict) -> set[str]:
    """Node label keys a pod requires: nodeSelector and required node affinity."""
    keys = set(as_dict(spec.get("nodeSelector")))
    required = as_dict(
        as_dict(as_dict(spec.get("affinity")).get("nodeAffinity")).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
    )
    terms = as_list(required.get("nodeSelectorTerms"))
    # Every term must select GPU nodes (terms are ORed): take the keys common to all.
    term_keys = [
        {e.get("key") for e in as_list(t.get("matchExpressions")) if e.get("operator") in ("In", "Exists")}
        for t in terms
        if isinstance(t, dict)
    ]
    if term_keys:
        keys |= set.intersection(*term_keys)
    return {k for k in keys if isinstance(k, str)}


def _tolerates(spec: dict, taint_key: str) -> bool:
    for toleration in as_list(spec.get("tolerations")):
        key, operator = toleration.get("key"), toleration.get("operator", "Equal")
        if toleration.get("effect") not in (None, "", "NoSchedule", "NoExecute"):
            continue
        if key == taint_key or (key in (None, "") and operator == "Exists"):
            return True
    return False


def check_gpu_placement(template: PodTemplate, config: dict) -> Iterator[tuple[str, Finding]]:
    gpus = sorted({r for _, c in template.containers() for r in _gpu_count(c, config["gpuResources"])})
    if not gpus:
        return
    for taint_key in config["gpuTaintKeys"]:
        if taint_key in {g for g in gpus} and not _tolerates(template.spec, taint_key):
            yield (
                "",
                (
                    f"requests {taint_key} but does not tolerate the GPU nodes' taint {taint_key}",
                    f"add the toleration {{key: {taint_key}, operator: Exists, effect: NoSchedule}}",
                ),
            )
    prefixes = tuple(config["gpuNodeLabelPrefixes"])
    if not any(key.startswith(prefixes) for key in _node_label_keys(template.spec)):
        yield (
            "",
            (
                f"requests {', '.join(gpus)} but does not select GPU nodes (no nodeSelector or required "
                "node affinity on a GPU label)",
                "require a GPU node label, e.g. node affinity on nvidia.com/gpu.product In [<your GPU>]",
            ),
        )


# --- hardening ----------------------------------------------------------------------


def check_hardening(template: PodTemplate, _config: dict) -> Iterator[tuple[str, Finding]]:
    spec = template.spec
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host) is True:
            yield ("", (f"sets {host}: true", f"remove {host}; the pod must not share the node's namespaces"))
    pod_seccomp = as_dict(as_dict(spec.get("securityContext")).get("seccompProfile")).get("type")
    automount = spec.get("automountServiceAccountToken")
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if automount is not False and account in (None, "", "default"):
        yield (
            "",
            (
                "mounts the default service account's API token",
                "set automountServiceAccountToken: false (or give a pod that talks to the API a service "
                "account of its own)",
            ),
        )
    for where, container in template.containers():
        context = as_dict(container.get("securityContext"))
        at = f".{where} ({container.get('name', '?')})"
        if context.get("privileged") is True:
            yield (at, ("is privileged", "remove securityContext.privileged"))
        if context.get("allowPrivilegeEscalation") is not False:
            yield (at, ("allows privilege escalation", "set securityContext.allowPrivilegeEscalation: false"))
        capabilities = as_dict(context.get("capabilities"))
        if "ALL" not in as_list(capabilities.get("drop")):
            yield (at, ("keeps Linux capabilities", "set securityContext.capabilities.drop: [ALL]"))
        if as_list(capabilities.get("add")):
            yield (
                at,
                (f"adds capabilities {capabilities['add']}", "remove securityContext.capabilities.add"),
            )
        seccomp = as_dict(context.get("seccompProfile")).get("type", pod_seccomp)
        if seccomp not in _SECCOMP_CONFINED:
            yield (
                at,
                (
                    f"runs without a seccomp profile ({seccomp or 'unset'})",
                    "set securityContext.seccompProfile.type: RuntimeDefault on the pod",
                ),
            )


def check_non_root(template: PodTemplate, _config: dict) -> Iterator[tuple[str, Finding]]:
    pod = as_dict(template.spec.get("securityContext"))
    for where, container in template.containers():
        context = {**pod, **as_dict(container.get("securityContext"))}
        at = f".{where} ({container.get('name', '?')})"
        if context.get("runAsNonRoot") is not True or context.get("runAsUser") == 0:
            yield (
                at,
                (
                    "may run as root",
                    "set runAsNonRoot: true and a non-zero runAsUser (needs storage the UID can write)",
                ),
            )
        if as_dict(container.get("securityContext")).get("readOnlyRootFilesystem") is not True:
            yield (at, ("has a writable root filesystem", "set securityContext.readOnlyRootFilesystem: true"))


# --- sizing -------------------------------------------------------------------------


def check_requests_equal_limits(template: PodTemplate, config: dict) -> Iterator[tuple[str, Finding]]:
    for where, container in template.containers():
        resources = as_dict(container.get("resources"))
        requests, limits = as_dict(resources.get("requests")), as_dict(resources.get("limits"))
        at = f".{where} ({container.get('name', '?')})"
        for resource in ["memory", *_gpu_count(container, config["gpuResources"])]:
            request, limit = requests.get(resource), limits.get(resource)
            if request is UNKNOWN or limit is UNKNOWN:
                continue
            if request is None or limit is None:
                yield (
                    at,
                    (
                        f"sets no {resource} {'request' if request is None else 'limit'}",
                        f"set resources.requests.{resource} equal to resources.limits.{resource}",
                    ),
                )
            elif quantity_value(request) != quantity_value(limit):
                yield (
                    at,
                    (
                        f"requests {resource} {request} but limits it to {limit}",
                        f"make requests.{resource} equal to limits.{resource} (a pod sized below its "
                        "limit is evicted or OOM-killed first under pressure)",
                    ),
                )


# --- images -------------------------------------------------------------------------


def image_is_pinned(image: str) -> bool:
    """A digest, or a tag other than latest (a ':' after the last '/' is a tag)."""
    if _DIGEST.search(image):
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and last.rsplit(":", 1)[1] not in ("", "latest")


def check_pinned_images(template: PodTemplate, _config: dict) -> Iterator[tuple[str, Finding]]:
    for where, container in template.containers():
        image = container.get("image")
        if isinstance(image, str) and not image_is_pinned(image):
            yield (
                f".{where} ({container.get('name', '?')})",
                (
                    f"runs image {image!r}, which is not pinned",
                    "pin a version tag (not latest) or a sha256 digest",
                ),
            )


# --- credentials --------------------------------------------------------------------


def check_plain_credentials(template: PodTemplate, _config: dict) -> Iterator[tuple[str, Finding]]:
    fix = "put the value in a Secret and read it with env[].valueFrom.secretKeyRef"
    for where, container in template.containers():
        at = f".{where} ({container.get('name', '?')})"
        for variable in as_list(container.get("env")):
            value, name = variable.get("value"), str(variable.get("name", ""))
            if not isinstance(value, str) or not value:
                continue
            if is_credential_name(name) or looks_like_credential(value):
                yield (at, (f"sets env {name} to a literal that is or looks like a credential", fix))
        for field in ("command", "args"):
            found = credential_flag([a for a in as_list(container.get(field)) if isinstance(a, str)])
            if found:
                yield (
                    at,
                    (
                        f"passes a credential in plain text in {field} ({found})",
                        fix + ", then pass it as $(VARIABLE)",
                    ),
                )


def validate_config_map(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.resource_type.startswith("kubernetes:core/v1:ConfigMap"):
        return
    config_map = KubeObject(args.resource_type, args.urn, plain(args.props))
    for key, value in as_dict(config_map.props.get("data")).items():
        if isinstance(value, str) and value and (is_credential_name(key) or looks_like_credential(value)):
            report(
                f"{config_map.describe()}: data key {key!r} holds what is or looks like a credential, "
                "and ConfigMaps are stored and shown in plain text. Fix: move it into a Secret."
            )


def _string_list(description: str) -> dict:
    return {"type": "array", "items": {"type": "string"}, "description": description}


GPU_CONFIG = PolicyConfigSchema(
    properties={
        "gpuResources": _string_list("Extended resources that are GPUs."),
        "gpuTaintKeys": _string_list("Taint keys GPU nodes carry, one per GPU resource of that name."),
        "gpuNodeLabelPrefixes": _string_list("Node label key prefixes that select GPU nodes."),
    }
)

POD_POLICIES = [
    _resource_policy(
        "gpu-pods-placed-on-gpu-nodes",
        "A pod that requests a GPU tolerates the GPU nodes' taint and requires a GPU node label.",
        EnforcementLevel.MANDATORY,
        check_gpu_placement,
        GPU_CONFIG,
        GPU_DEFAULTS,
    ),
    _resource_policy(
        "pods-hardened",
        "Every container: no privilege escalation, capabilities dropped, seccomp confined, not "
        "privileged; no host namespaces; no default service-account token.",
        EnforcementLevel.MANDATORY,
        check_hardening,
    ),
    _resource_policy(
        "pods-non-root-read-only",
        "Every container runs as a non-root UID with a read-only root filesystem.",
        EnforcementLevel.ADVISORY,
        check_non_root,
    ),
    _resource_policy(
        "memory-and-gpu-requests-equal-limits",
        "Every container's memory (and GPU) request equals its limit.",
        EnforcementLevel.MANDATORY,
        check_requests_equal_limits,
        GPU_CONFIG,
        GPU_DEFAULTS,
    ),
    _resource_policy(
        "images-pinned",
        "Every container image is pinned to a version tag (not latest) or a digest.",
        EnforcementLevel.MANDATORY,
        check_pinned_images,
    ),
    _resource_policy(
        "no-plain-credentials",
        "No credential in an env literal or a command-line argument.",
        EnforcementLevel.MANDATORY,
        check_plain_credentials,
    ),
    ResourceValidationPolicy(
        name="no-credentials-in-config-maps",
        description="No ConfigMap data key holds a credential.",
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate_config_map,
    ),
]
