"""Release keys (`llm-serving:release`): images, model revisions, chart versions.

They live in one section so that promotion (`make promote FROM=dev TO=prod`,
scripts/promote.py) moves exactly what was verified in one stack to the next, and
nothing else. Since the section is copied whole, it may name pools or models the
target stack does not have: such entries are warnings, not errors. The section's
types are in config/schema.py.

Pure: no Pulumi imports.
"""

from __future__ import annotations

import difflib

from config.schema import StackConfig

SECTION = "release"


def release_warnings(stack: StackConfig) -> list[str]:
    """Served models without a pinned revision (vLLM and the prefetch Job then load the
    moving head of `main`), and entries that pin nothing here (maybe a typo)."""
    served = stack.serving_pools()
    models = sorted({pool.model for pool in served.values()})
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
