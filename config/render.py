"""Render mode: the stack's manifests written to a directory instead of applied.

The kubernetes provider does this itself when its `renderYamlToDirectory` option is
set (stack config `kubernetes:renderYamlToDirectory`, which `make render` sets). Two
things cannot be rendered faithfully, so the program leaves them out, saying so:

- Helm releases (`helm.v3.Release`): the provider installs them through Helm and
  never renders them (pulumi-kubernetes#1716). Rendered manifests are for GitOps
  review of what this program owns; add-ons are installed by their own charts.
- Secrets holding credentials (the Hugging Face token, the API key): the provider
  would write their values in plaintext. Pods still reference them by name; create
  them in the cluster (e.g. External Secrets, `kubectl create secret`).

Pure: no Pulumi imports (the program reads the provider option and calls these).
"""

from __future__ import annotations

from pydantic import BaseModel

from config.stack import StackConfig

# (path of the add-on's config, its key as users write it) for every Helm release.
HELM_RELEASES = (
    (("gpu", "operator"), "gpu.operator"),
    (("model_cache", "longhorn"), "modelCache.longhorn"),
    (("monitoring", "kube_prometheus_stack"), "monitoring.kubePrometheusStack"),
    (("leader_worker_set",), "leaderWorkerSet"),
    (("inference_gateway", "implementation"), "inferenceGateway.implementation"),
)


def _with(model: BaseModel, path: tuple[str, ...], value: object) -> BaseModel:
    """A copy of a frozen model with the field at `path` replaced."""
    head, *rest = path
    new = _with(getattr(model, head), tuple(rest), value) if rest else value
    return model.model_copy(update={head: new})


def without_helm_releases(stack: StackConfig) -> tuple[StackConfig, list[str]]:
    """The stack with every Helm add-on's `install` off, and one message per add-on
    it turned off."""
    messages = []
    for path, key in HELM_RELEASES:
        addon = stack
        for name in path:
            addon = getattr(addon, name)
        if addon.install:
            stack = _with(stack, (*path, "install"), False)
            messages.append(
                f"render mode: {key}.install is off: Helm releases cannot be rendered to YAML "
                f"(pulumi-kubernetes#1716); install the chart separately"
            )
    return stack, messages


def secret_not_rendered(secret_name: str) -> str:
    return (
        f"render mode: Secret {secret_name} is not rendered (its value would be written in "
        f"plaintext); create it in the cluster before applying the rendered manifests"
    )
