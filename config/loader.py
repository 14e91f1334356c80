"""Read the `llm-serving:` Pulumi config namespace into a validated StackConfig.

The one module of `config/` that imports Pulumi. Everything it reads is checked
before the program registers a single resource; a bad config ends the run with a
`pulumi.RunError`, which the engine prints as one message without a traceback.
"""

from __future__ import annotations

import contextlib
import difflib
import json
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from config.cli_scalars import from_cli
from config.errors import (
    NAMESPACE,
    ConfigError,
    Problem,
    credential_key_fix,
    from_validation_error,
    key_path,
)
from config.schema_paths import step
from config.stack import StackConfig, stack_namespace
from config.validation import CapacityReport, check_stack

HF_TOKEN_KEY = "hfToken"
# Config namespaces a stack file may use: ours, and those of the providers and the
# engine this program runs with. Anything else is a typo (`llm-servng:monitoring`)
# that would otherwise be ignored without a word.
KNOWN_NAMESPACES = (NAMESPACE, "kubernetes", "random", "pulumi")


@dataclass(frozen=True)
class LoadedConfig:
    stack: StackConfig
    report: CapacityReport
    # The token as a Pulumi secret, or None when it is not set.
    hf_token: pulumi.Output[str] | None


def _engine_config() -> dict[str, Any]:
    """Every `<namespace>:<key>` value the engine passed in (the real engine through the
    environment, Pulumi's mocks through set_all_config)."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def _decode(key: str, raw: Any) -> Any:
    """Objects and lists arrive as JSON, top-level scalars as strings: decode them to
    what the stack file said, by the type the schema expects at `key` (the rules of
    config/cli_scalars.py, which StackConfig also applies to every nested value)."""
    if not isinstance(raw, str):
        return raw
    if raw[:1] in ("{", "["):
        # Malformed JSON stays a string; the schema then reports it against the key.
        with contextlib.suppress(json.JSONDecodeError, RecursionError):
            return json.loads(raw)
        return raw
    expected = step(StackConfig, key)
    return raw if expected is None else from_cli(expected, raw)


def namespace_values(config: dict[str, Any]) -> dict[str, Any]:
    """The `llm-serving:<key>` values of an engine config, decoded (see `_decode`)."""
    prefix = f"{NAMESPACE}:"
    return {
        full_key[len(prefix) :]: _decode(full_key[len(prefix) :], raw)
        for full_key, raw in config.items()
        if full_key.startswith(prefix)
    }


def check_namespaces(config_keys: list[str]) -> list[Problem]:
    """Keys in a config namespace this program does not read; their values are never shown,
    their names are shown as in every other message (errors.key_path)."""
    problems = []
    for full_key in sorted(config_keys):
        namespace, colon, key = full_key.partition(":")
        if colon and namespace in KNOWN_NAMESPACES:
            continue
        close = difflib.get_close_matches(namespace, KNOWN_NAMESPACES, n=1, cutoff=0.6)
        suggestion = f"did you mean '{close[0]}:{key_path((key,))}'?" if close else ""
        credential = credential_key_fix(key)
        if credential:
            fix = f"{suggestion or 'remove it.'} {credential}"
        elif suggestion:
            fix = f"{suggestion} Rename the key in the stack file"
        else:
            fix = f"remove it; this program reads {', '.join(n + ':' for n in KNOWN_NAMESPACES)} keys"
        problems.append(
            Problem(
                key=key_path((key,)),
                value=None,
                reason=f"{key_path((namespace,))!r} is not a config namespace this program reads, "
                "so the key would be ignored",
                fix=fix,
                show_value=False,
                namespace=key_path((namespace,)),
            )
        )
    return problems


def _check_token(values: dict[str, Any]) -> list[Problem]:
    if HF_TOKEN_KEY not in values:
        return []
    # The value itself is never echoed: it is a credential.
    if not runtime_config.is_config_secret(f"{NAMESPACE}:{HF_TOKEN_KEY}"):
        return [
            Problem(
                key=HF_TOKEN_KEY,
                value=None,
                reason="is stored in plain text in the stack config",
                fix="run `pulumi config rm hfToken`, revoke that token, then "
                "`pulumi config set --secret hfToken <new token>`",
            )
        ]
    token = values[HF_TOKEN_KEY]
    if not isinstance(token, str) or not token.strip() or not token.isprintable():
        return [
            Problem(
                key=HF_TOKEN_KEY,
                value=None,
                reason="is empty, not a string, or contains whitespace or control characters",
                fix="run `pulumi config set --secret hfToken <token>` with the token exactly as "
                "Hugging Face shows it",
            )
        ]
    return []


def parse_stack_config(values: dict[str, Any], *, has_hf_token: bool) -> tuple[StackConfig, CapacityReport]:
    """Validate raw namespace values; raises ConfigError. Pure: tests call it directly."""
    try:
        stack = StackConfig.model_validate(values)
    except ValidationError as error:
        raise from_validation_error(error, StackConfig) from None
    return stack, check_stack(stack, has_hf_token=has_hf_token)


def load_stack_config() -> LoadedConfig:
    """Load and check this stack's config, or stop the run with one clear message.

    Runs before the program registers any resource; every check is here or below."""
    config = _engine_config()
    values = namespace_values(config)
    values.setdefault("namespace", stack_namespace(pulumi.get_stack()))
    try:
        problems = check_namespaces(list(config)) + _check_token(values)
        has_token = values.pop(HF_TOKEN_KEY, None) is not None
        try:
            stack, report = parse_stack_config(values, has_hf_token=has_token)
        except ConfigError as error:
            problems += error.problems
        if problems:
            raise ConfigError(problems)
    except ConfigError as error:
        raise pulumi.RunError(error.message) from None
    token = pulumi.Config(NAMESPACE).get_secret(HF_TOKEN_KEY) if has_token else None
    return LoadedConfig(stack=stack, report=report, hf_token=token)
