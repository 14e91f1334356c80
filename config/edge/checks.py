"""Cross-key checks of the edge: `ingress.defaultModel` names something served, and in
`inferenceGateway` every route names something that serves,
and no two routes claim the same path or model. Pure: no Pulumi imports."""

from __future__ import annotations

from config.errors import Problem
from config.stack import StackConfig


def route_path_prefix(name: str, prefix: str | None) -> str:
    """A route's path prefix: its own, or "/<name>"."""
    return prefix or f"/{name}"


def inference_gateway_problems(stack: StackConfig) -> list[Problem]:
    gateway = stack.inference_gateway
    problems: list[Problem] = []
    targets = sorted([*stack.pools, *stack.pd_stacks])
    paths: dict[str, str] = {}
    models: dict[str, str] = {}
    for name, route in gateway.routes.items():
        key = f"inferenceGateway.routes.{name}"
        if name in stack.pools:
            pool = stack.pools[name]
        elif name in stack.pd_stacks:
            pool = stack.pd_stacks[name].prefill
        else:
            problems.append(
                Problem(
                    key,
                    None,
                    f"names no pool or P/D stack ({', '.join(targets) or 'the stack has none'})",
                    "use the name of a pool under llm-serving:pools or a stack under llm-serving:pdStacks",
                )
            )
            continue
        path = route_path_prefix(name, route.path_prefix)
        if path in paths:
            problems.append(
                Problem(
                    f"{key}.pathPrefix",
                    path,
                    f"is also the path of route {paths[path]}; the gateway could send either",
                    "give each route its own pathPrefix",
                )
            )
        paths.setdefault(path, name)
        if not route.match_model_header:
            continue
        # The header rule matches the served name and each LoRA adapter's name.
        adapters = sorted(pool.lora.adapters) if pool.lora else []
        for served in (pool.served_name, *adapters):
            if served in models and models[served] != name:
                what = "adapter" if served in adapters else "model"
                problems.append(
                    Problem(
                        f"{key}.matchModelHeader",
                        True,
                        f"route {models[served]} also serves model {served!r} (here a {what} of {name}); "
                        "a request for it would match both",
                        "set matchModelHeader: false on one of them, or serve distinct names "
                        "(rename the adapter)",
                    )
                )
            models.setdefault(served, name)
    return problems


def edge_problems(stack: StackConfig) -> list[Problem]:
    """The ingress's default model must be one the stack serves."""
    ingress = stack.ingress
    served = [*stack.pools, *stack.pd_stacks]
    if not ingress.enabled or ingress.default_model is None or ingress.default_model in served:
        return []
    return [
        Problem(
            "ingress.defaultModel",
            ingress.default_model,
            "names no pool or P/D stack of this stack",
            f"use one of {', '.join(served)}",
        )
    ]
