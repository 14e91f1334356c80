"""Third-party add-ons (GPU Operator, Longhorn, kube-prometheus-stack, the LeaderWorkerSet
controller), installed one way."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from config.addons.sections import HelmChartConfig


def helm_addon(
    resource_name: str,
    chart: str,
    release_name: str,
    config: HelmChartConfig,
    version: str,
    values: dict,
    opts: pulumi.ResourceOptions,
    create_namespace: bool = True,
) -> k8s.helm.v3.Release:
    """The add-on's namespace and its Helm release at `version` (a release key: one of
    release.chartVersions); a real release: hooks run, `helm ls` shows it.
    `create_namespace=False` for a second release of one add-on."""
    namespace: pulumi.Input[str] = config.namespace
    if create_namespace:
        namespace = k8s.core.v1.Namespace(
            f"{resource_name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=config.namespace),
            opts=opts,
        ).metadata.name
    # An OCI registry is no chart repository: Helm takes the chart's full reference.
    oci = config.repository.startswith("oci://")
    return k8s.helm.v3.Release(
        resource_name,
        name=release_name,
        chart=f"{config.repository.rstrip('/')}/{chart}" if oci else chart,
        version=version,
        namespace=namespace,
        repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=config.repository),
        values=values,
        opts=opts,
    )


def merge_values(base: dict, override: dict) -> dict:
    """Deep-merge Helm values: the user's override wins key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged
