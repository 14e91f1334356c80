"""MonitoringStack: scraping, alert rules and Grafana dashboards for a stack.

Optionally installs kube-prometheus-stack (Prometheus operator, Prometheus, Grafana
with its dashboard sidecar, kube-state-metrics) as a pinned Helm release; otherwise
only creates the objects below, labelled for the cluster's existing Prometheus:
a ServiceMonitor per pool and per router, one PrometheusRule, and a dashboard
ConfigMap per pool and per router.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s

from components.addons import helm_addon, merge_values
from components.monitoring.alert_rules import alert_rule_group
from components.monitoring.dashboards import dashboard_for
from components.shared import PART_OF, ScrapeTarget
from config.monitoring.sections import MonitoringConfig


class MonitoringStack(pulumi.ComponentResource):
    """Watches the given targets; exposes the alert names and dashboard names."""

    alert_names: pulumi.Output[list[str]]
    dashboards: list[str]

    def __init__(
        self,
        name: str,
        spec: MonitoringConfig,
        namespace: pulumi.Input[str],
        targets: list[ScrapeTarget],
        chart_version: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-serving:monitoring:MonitoringStack", name, None, opts)
        self.spec = spec
        self._chart_version = chart_version
        self._namespace = pulumi.Output.from_input(namespace)
        child = pulumi.ResourceOptions(parent=self)
        labels = {**spec.prometheus_selector_labels, "app.kubernetes.io/part-of": PART_OF}

        installed: list[pulumi.Resource] = []
        if spec.kube_prometheus_stack.install:
            installed.append(self._install(name, child))
        # The CRDs come with the release; our custom resources must wait for them.
        after_install = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=installed))

        for target in targets:
            k8s.apiextensions.CustomResource(
                f"{target.name}-servicemonitor",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=target.name, namespace=namespace, labels=labels),
                spec={
                    "selector": {"matchLabels": target.service_selector},
                    "namespaceSelector": {"matchNames": [namespace]},
                    "endpoints": [
                        {"port": target.port_name, "path": "/metrics", "interval": spec.scrape_interval}
                    ],
                },
                opts=after_install,
            )

        rule_group = self._namespace.apply(lambda ns: alert_rule_group(ns, targets, spec.alerts))
        k8s.apiextensions.CustomResource(
            f"{name}-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="llm-serving-alerts", namespace=namespace, labels=labels
            ),
            spec={"groups": [rule_group]},
            opts=after_install,
        )
        self.alert_names = rule_group.apply(lambda group: [rule["alert"] for rule in group["rules"]])

        self.dashboards = []
        for target in targets:
            dashboard = self._namespace.apply(lambda ns, t=target: json.dumps(dashboard_for(ns, t), indent=1))
            k8s.core.v1.ConfigMap(
                f"{target.name}-dashboard",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"{target.name}-dashboard",
                    namespace=spec.dashboard_namespace or namespace,
                    labels={**spec.dashboard_labels, "app.kubernetes.io/part-of": PART_OF},
                ),
                data={f"{target.name}.json": dashboard},
                opts=after_install,
            )
            self.dashboards.append(f"vLLM {target.title}")
        self.register_outputs({"alerts": self.alert_names, "dashboards": self.dashboards})

    def _install(self, name: str, child: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
        chart = self.spec.kube_prometheus_stack
        (label, label_value), *_ = self.spec.dashboard_labels.items()
        # The sidecar loads our dashboard ConfigMaps from every namespace.
        sidecar = {"enabled": True, "label": label, "labelValue": label_value, "searchNamespace": "ALL"}
        return helm_addon(
            f"{name}-kube-prometheus-stack",
            "kube-prometheus-stack",
            chart.release_name,
            chart,
            self._chart_version,
            merge_values({"grafana": {"sidecar": {"dashboards": sidecar}}}, chart.values),
            child,
        )
