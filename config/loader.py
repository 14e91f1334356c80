"""Read the `llm-serving:` Pulumi config namespace into a validated StackConfig.

The one module of `config/` that imports Pulumi. Everything it reads is checked
before the program registers a single resource; a bad config ends the run with a
`pulumi.RunError`, which the engine prints as one message without a traceback.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from config.errors import NAMESPACE, ConfigError, Problem, from_validation_error
from config.schema import StackConfig, stack_namespace
from config.validation import CapacityReport, check_stack

HF_TOKEN_KEY = "hfToken"


@dataclass(frozen=True)
class LoadedConfig:
    stack: StackConfig
    report: CapacityReport
    # The token as a Pulumi secret, or None when it is not set.
    hf_token: pulumi.Output[str] | None


def _namespace_values() -> dict[str, Any]:
    """Every `llm-serving:<key>` value the engine passed in, objects JSON-decoded."""
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values: dict[str, Any] = {}
    prefix = f"{NAMESPACE}:"
    for full_key, raw in merged.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        if isinstance(raw, str) and raw[:1] in ("{", "["):
            # Malformed JSON stays a string; the schema then reports it against the key.
            with contextlib.suppress(json.JSONDecodeError):
                raw = json.loads(raw)
        values[key] = raw
    return values


def _check_token_is_secret(values: dict[str, Any]) -> None:
    if HF_TOKEN_KEY in values and not runtime_config.is_config_secret(f"{NAMESPACE}:{HF_TOKEN_KEY}"):
        # The value itself is never echoed: it is a credential.
        raise ConfigError(
            [
                Problem(
                    key=HF_TOKEN_KEY,
                    value=None,
                    reason="is stored in plain text in the stack config",
                    fix="run `pulumi config rm hfToken`, revoke that token, then "
                    "`pulumi config set --secret hfToken <new token>`",
                )
            ]
        )


def parse_stack_config(values: dict[str, Any], *, has_hf_token: bool) -> tuple[StackConfig, CapacityReport]:
    """Validate raw namespace values; raises ConfigError. Pure: tests call it directly."""
    try:
        stack = StackConfig.model_validate(values)
    except ValidationError as error:
        raise from_validation_error(error, StackConfig) from None
    return stack, check_stack(stack, has_hf_token=has_hf_token)


def load_stack_config() -> LoadedConfig:
    """Load and check this stack's config, or stop the run with one clear message."""
    values = _namespace_values()
    values.setdefault("namespace", stack_namespace(pulumi.get_stack()))
    try:
        _check_token_is_secret(values)
        has_token = values.pop(HF_TOKEN_KEY, None) is not None
        stack, report = parse_stack_config(values, has_hf_token=has_token)
    except ConfigError as error:
        raise pulumi.RunError(error.message) from None
    token = pulumi.Config(NAMESPACE).get_secret(HF_TOKEN_KEY) if has_token else None
    return LoadedConfig(stack=stack, report=report, hf_token=token)
