"""LeaderWorkerSetController: the optional LeaderWorkerSet controller release that
multi-node pools need (sigs.k8s.io/lws, chart oci://registry.k8s.io/lws/charts/lws)."""

from __future__ import annotations

import pulumi

from components.addons.helm_addon import helm_addon, merge_values
from config.addons.sections import LeaderWorkerSetControllerConfig


class LeaderWorkerSetController(pulumi.ComponentResource):
    """Installs the controller when asked; `ready` lists what LeaderWorkerSets wait for."""

    ready: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        spec: LeaderWorkerSetControllerConfig,
        chart_version: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-serving:multinode:LeaderWorkerSetController", name, None, opts)
        self.ready = []
        if spec.install:
            release = helm_addon(
                f"{name}-lws",
                "lws",
                "lws",
                spec,
                chart_version,
                # The chart's own values.yaml says tag "main", pull Always; its release
                # packaging rewrites them. State the pinned release so it never drifts.
                merge_values(
                    {"image": {"manager": {"tag": f"v{chart_version}", "pullPolicy": "IfNotPresent"}}},
                    spec.values,
                ),
                pulumi.ResourceOptions(parent=self),
            )
            self.ready.append(release)
        self.register_outputs({"installed": spec.install})
