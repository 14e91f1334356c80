"""Stacks never take over each other's objects.

Every Kubernetes object the program registers carries the annotation
`llm-serving.io/stack: <project>/<stack>`. Before an object is registered (at
`pulumi preview` as at `pulumi up`), its live copy is read from the cluster; if that
copy names another stack, the run stops with one message saying whose it is.

Why a read and not server-side apply's field managers: the provider forces its
dry-run applies at preview (pulumi-kubernetes provider/pkg/await/await.go,
`patchForce`: "Always force on preview if no previous state"), so a conflict with
another stack's field manager only surfaces halfway through `pulumi up`, after other
objects changed. The read runs first, in preview and up alike.

The check holds each object's metadata until its read is done: the object is never
registered before it. Objects that exist without the annotation (made by hand, or by
this program before it annotated) are adopted with a warning; a cluster that cannot
be read (no kubeconfig, unreachable) skips the check with one warning.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Protocol

import pulumi
from pulumi.runtime import mocks, settings

OWNER_ANNOTATION = "llm-serving.io/stack"
# Objects of these types are not Kubernetes objects of their own (Helm releases,
# charts, providers) or have no metadata.
_NOT_OBJECTS = ("kubernetes:helm.sh/", "pulumi:providers:")


class ClusterReader(Protocol):
    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict | None:
        """The live object as a dict, or None when it does not exist."""


class NoCluster:
    """Nothing exists: unit tests under Pulumi's mocks, or no cluster to ask."""

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict | None:
        return None


class KubernetesApi:
    """Reads objects with the official client, from the cluster the provider targets
    (`kubernetes:kubeconfig` and `kubernetes:context` config, else $KUBECONFIG)."""

    def __init__(self, api_client: Any):
        from kubernetes import dynamic

        self._client = dynamic.DynamicClient(api_client)

    @classmethod
    def from_pulumi_config(cls) -> KubernetesApi:
        import yaml
        from kubernetes import client, config

        provider = pulumi.Config("kubernetes")
        kubeconfig, context = provider.get("kubeconfig"), provider.get("context")
        configuration = client.Configuration()
        if kubeconfig and "\n" in kubeconfig:
            config.load_kube_config_from_dict(
                yaml.safe_load(kubeconfig), context=context, client_configuration=configuration
            )
        else:
            config.load_kube_config(kubeconfig, context=context, client_configuration=configuration)
        return cls(client.ApiClient(configuration))

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict | None:
        from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

        try:
            resource = self._client.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            return None  # The kind is not served (a CRD not installed): no such object.
        try:
            live = resource.get(name=name, namespace=namespace if resource.namespaced else None)
        except NotFoundError:
            return None
        return live.to_dict()


def cluster_reader() -> ClusterReader:
    """The cluster this run deploys to; NoCluster under Pulumi's mocks or when none is
    configured or reachable (the provider then reports the cluster itself)."""
    if isinstance(settings.SETTINGS.monitor, mocks.MockMonitor):
        return NoCluster()
    try:
        return KubernetesApi.from_pulumi_config()
    except Exception as error:  # noqa: BLE001 - any kubeconfig problem means: no check
        pulumi.log.warn(f"stack ownership not checked: cannot load the kubeconfig ({error})")
        return NoCluster()


def api_version_and_kind(resource_type: str) -> tuple[str, str]:
    """'kubernetes:apps/v1:Deployment' -> ('apps/v1', 'Deployment'); core is 'v1'."""
    _, group_version, kind = resource_type.split(":")
    return group_version.removeprefix("core/"), kind


def _field(metadata: Any, name: str) -> Any:
    return metadata.get(name) if isinstance(metadata, dict) else getattr(metadata, name, None)


def _with_annotation(metadata: Any, owner: str) -> Any:
    annotations = {**(_field(metadata, "annotations") or {}), OWNER_ANNOTATION: owner}
    if isinstance(metadata, dict):
        return {**metadata, "annotations": annotations}
    annotated = copy.copy(metadata)
    annotated.annotations = annotations
    return annotated


class OwnershipGuard:
    """A stack transformation: annotates each Kubernetes object with its stack and
    refuses objects another stack owns."""

    def __init__(self, owner: str, reader: ClusterReader):
        self.owner = owner
        self.reader = reader
        self._reachable = True

    def check(self, api_version: str, kind: str, namespace: str | None, name: str) -> None:
        """Raise a RunError when the live object belongs to another stack."""
        if not self._reachable:
            return
        try:
            live = self.reader.get(api_version, kind, namespace, name)
        except Exception as error:  # noqa: BLE001 - an unreachable cluster is the provider's to report
            self._reachable = False
            pulumi.log.warn(f"stack ownership not checked: cannot read {kind} {name} ({error})")
            return
        if live is None:
            return
        where = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
        other = ((live.get("metadata") or {}).get("annotations") or {}).get(OWNER_ANNOTATION)
        if other is None:
            pulumi.log.warn(
                f"{where} already exists and no stack marks it as its own "
                f"({OWNER_ANNOTATION}); stack {self.owner} adopts it"
            )
        elif other != self.owner:
            raise pulumi.RunError(
                f"{where} belongs to stack {other} ({OWNER_ANNOTATION}); stack {self.owner} "
                f"will not take it over. Fix: give this stack its own namespace "
                f"(llm-serving:namespace) or object names, or destroy stack {other} first"
            )

    def transformation(
        self, args: pulumi.ResourceTransformationArgs
    ) -> pulumi.ResourceTransformationResult | None:
        if not args.type_.startswith("kubernetes:") or args.type_.startswith(_NOT_OBJECTS):
            return None
        metadata = args.props.get("metadata")
        if metadata is None:
            return None
        api_version, kind = api_version_and_kind(args.type_)

        def checked(resolved: Any) -> Any:
            self.check(api_version, kind, _field(resolved, "namespace"), _field(resolved, "name"))
            return _with_annotation(resolved, self.owner)

        # The object's metadata (and so its registration) waits for the check.
        props = {**args.props, "metadata": pulumi.Output.from_input(metadata).apply(checked)}
        return pulumi.ResourceTransformationResult(props=props, opts=args.opts)


def guard_stack_ownership(reader: Callable[[], ClusterReader] | None = None) -> OwnershipGuard:
    """Install the guard for every resource the program registers from here on."""
    owner = f"{pulumi.get_project()}/{pulumi.get_stack()}"
    guard = OwnershipGuard(owner, (reader or cluster_reader)())
    pulumi.runtime.register_stack_transformation(guard.transformation)
    return guard
