"""`extraArgs` and `env`: the escape hatches, taken as checked inputs.

They reach a container as given, so they are checked here the way the program that
reads them would read them: a flag is normalized as its parser normalizes it (vLLM
turns `_` into `-` and takes `--flag.key` as a key of a JSON flag; argparse expands
unambiguous abbreviations) and refused when it repeats a flag a typed key renders,
carries a credential, or cannot mean what it seems to (a flag and its value in one
item, shell syntax that no shell will run, control characters). An env variable may
not override one the program sets, and a credential only enters env by reference to
a Secret. Pure: the parsers' specifics come from vllm_args.py and router_args.py.

Problems name the item's index and the flag as the parser sees it, never the item's
text: it may hold a credential.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from config.credentials import contains_credential, is_credential_name, looks_like_credential
from config.names import GENERATED_ENV

# Shell syntax that means nothing without a shell. `$(VAR)` and `${VAR}` are worse:
# Kubernetes itself expands `$(VAR)` in args and env from the container's env, so
# `$(HF_TOKEN)` would copy the token into the process list.
_EXPANSION = re.compile(r"\$\(|\$\{|`")
_SHELL_OPERATORS = frozenset({";", "|", "||", "&", "&&", ">", ">>", "<", "<<", "2>&1", "\\"})
_FLAG_TEXT = re.compile(r"-{1,2}[A-Za-z0-9][A-Za-z0-9_.-]*")
MAX_ARGUMENT_CHARS = 16384
MAX_ENV_VALUE_CHARS = 32768


@dataclass(frozen=True)
class FlagParser:
    """How one program's parser reads a flag.

    `normalize` maps a flag as written to the flag the parser matches (or None when
    the parser refuses that spelling, with `spelling_fix` telling how to write it);
    `owned` maps every flag the program renders to the typed key that owns it."""

    program: str
    owned: dict[str, str]
    normalize: Callable[[str], str | None]
    spelling_fix: str = ""


@dataclass(frozen=True)
class InputProblem:
    """A problem with one entry of extraArgs or env (`where` is '[3]' or '.NAME')."""

    where: str
    reason: str
    fix: str


def _has_control_characters(text: str) -> bool:
    return any(not c.isprintable() for c in text)


def _owner(flag: str, parser: FlagParser) -> tuple[str, str] | None:
    """(owned flag, owning key) when `flag` is an owned flag or an abbreviation of one."""
    if flag in parser.owned:
        return flag, parser.owned[flag]
    if flag.startswith("--") and len(flag) > 2:
        # argparse expands a unique prefix of a long flag (or stops on an ambiguous
        # one); either way the typed key's flag is what is at stake.
        for owned, key in parser.owned.items():
            if owned.startswith(flag):
                return owned, key
    for owned, key in parser.owned.items():
        # Short flags take their value attached: `-tp4`, `-tp=4`.
        if not owned.startswith("--") and flag.startswith(owned):
            return owned, key
    return None


def _value_problem(value: str) -> str | None:
    """Why a flag's value may not be passed, or None."""
    if looks_like_credential(value):
        return "looks like a credential"
    if value[:1] in ("{", "["):
        try:
            decoded = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return None
        if contains_credential(decoded):
            return "is JSON that carries a credential (a key named like one, or a token-like value)"
    return None


def check_arguments(arguments: list[str], parser: FlagParser) -> list[InputProblem]:
    """Every problem of a list of extra arguments to one program."""
    problems = []
    for index, item in enumerate(arguments):
        where = f"[{index}]"

        def problem(reason: str, fix: str, where: str = where) -> None:
            problems.append(InputProblem(where, reason, fix))

        if not item:
            problem("is empty", "remove the empty item")
            continue
        if len(item) > MAX_ARGUMENT_CHARS:
            problem(
                f"is longer than {MAX_ARGUMENT_CHARS} characters",
                "pass large settings as a file or a shorter value",
            )
            continue
        if _has_control_characters(item):
            problem(
                "contains a newline or another control character",
                "remove it; each list item is one argument, passed as is",
            )
            continue
        if _EXPANSION.search(item) or item.strip() in _SHELL_OPERATORS:
            problem(
                "contains shell syntax ($(...), ${...}, backticks or an operator such as ; | &&), but "
                f"{parser.program} is started without a shell and Kubernetes expands $(VAR) from the "
                "container's environment",
                "pass plain arguments only (write $$ for a literal $)",
            )
            continue
        if not item.startswith("-") or item.startswith("---"):
            reason = _value_problem(item)
            if reason:
                problem(reason, "never pass credentials in extraArgs: the program reads them from Secrets")
            continue
        flag_text, has_value, value = item.partition("=")
        if any(c.isspace() for c in flag_text):
            first = flag_text.split()[0]
            shown = first if _FLAG_TEXT.fullmatch(first) else "the flag"
            problem(
                f"holds {shown} and its value in one item; the parser would read it as one unknown flag",
                f"split it into two items, ['{shown}', '<value>'], or write {shown}=<value>",
            )
            continue
        if not _FLAG_TEXT.fullmatch(flag_text):
            problem(
                "is not a flag the parser can read",
                "write --flag-name or --flag-name=value (letters, digits, '-')",
            )
            continue
        flag = parser.normalize(flag_text)
        if flag is None:
            problem(f"is spelled in a way {parser.program}'s parser does not accept", parser.spelling_fix)
            continue
        owner = _owner(flag, parser)
        if owner is not None:
            owned, key = owner
            spelled = "" if owned == flag else f" (as {parser.program}'s parser reads {flag_text})"
            problem(
                f"sets {owned}{spelled}, which the program renders from a typed key",
                f"remove it from extraArgs; the program sets it {key}"
                if key.startswith("(")
                else f"remove it from extraArgs and use {key}",
            )
            continue
        if is_credential_name(flag):
            problem(
                f"passes a credential ({flag}) in plain text; it would be written into the Deployment",
                "remove it: the program passes credentials from Secrets "
                "(llm-serving:hfToken, llm-serving:auth)",
            )
            continue
        if has_value:
            reason = _value_problem(value)
            if reason:
                problem(f"{flag}'s value {reason}", "never pass credentials in extraArgs: use a Secret")
    return problems


def check_env(env: dict[str, object], also_generated: dict[str, str] | None = None) -> list[InputProblem]:
    """Every problem of a pool's `env` (values are schema.EnvValue: value or secretKeyRef).
    `also_generated`: variables the program sets for this pool only, with their keys."""
    generated = {**GENERATED_ENV, **(also_generated or {})}
    problems = []
    for name, entry in env.items():
        where = f".{name}"
        if name in generated:
            problems.append(
                InputProblem(
                    where,
                    "is set by the program; a second value would override it",
                    f"remove it and use {generated[name]}",
                )
            )
            continue
        value = getattr(entry, "value", None)
        if value is None:
            continue  # a secretKeyRef: the credential stays in its Secret
        if is_credential_name(name) or looks_like_credential(value):
            problems.append(
                InputProblem(
                    where,
                    "holds a credential in plain text (by its name or its value); it would be written "
                    "into the Deployment",
                    f"store it in a Secret and write {name}: "
                    "{secretKeyRef: {name: <secret>, key: <key>}}",
                )
            )
        elif len(value) > MAX_ENV_VALUE_CHARS:
            problems.append(
                InputProblem(
                    where, f"is longer than {MAX_ENV_VALUE_CHARS} characters", "use a ConfigMap-mounted file"
                )
            )
        elif _has_control_characters(value):
            problems.append(
                InputProblem(where, "contains a newline or another control character", "remove it")
            )
        elif "$(" in value:
            problems.append(
                InputProblem(
                    where,
                    "contains $(...); Kubernetes expands $(VAR) from the container's other "
                    "variables, which include credentials",
                    "write $$ for a literal $",
                )
            )
    return problems
