"""Config errors a person can act on: the key, what is wrong, and the fix.

Pure: no Pulumi imports. The loader turns a `ConfigError` into a `pulumi.RunError`,
which the engine prints as one message without a traceback.

Rendering can never leak a secret (see `Problem.render`): a value is shown only when
it is short, plain and certainly not a credential. Values of unknown keys, of
credential-named keys, of `extraArgs` and `env` entries and anything that looks like
a token are never printed; key names that are themselves token-shaped are masked too,
while names made of words (`hf_token`) are shown. Long values and long messages are
cut, so one message stays well under 2 kB.
"""

from __future__ import annotations

import difflib
import json
import re
import types
from dataclasses import dataclass
from typing import Any, Union, get_origin

from pydantic import BaseModel, ValidationError

from config.credentials import (
    contains_credential,
    is_credential_name,
    is_word_name,
    looks_like_credential,
    name_words,
    redact,
)
from config.release import moved_to_release
from config.schema_paths import keys_at, step, unwrap

NAMESPACE = "llm-serving"

MAX_SHOWN_VALUE = 80
MAX_KEY_PART = 64
MAX_KEY_CHARS = 200
MAX_REASON_CHARS = 500
MAX_FIX_CHARS = 500
MAX_MESSAGE_BYTES = 1900
# Keys whose values are free-form inputs to other programs: never echoed.
UNSHOWN_SECTIONS = frozenset({"extraArgs", "env", "values"})
# Keys that name a Secret (or a key in one), not hold a credential: their values are shown.
SECRET_REFERENCE_KEYS = frozenset({"existingSecret", "secretName", "secretKey"})
_PLAIN_KEY_PART = re.compile(r"[A-Za-z0-9_.:/-]+")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a stack config.

    `value` is the offending value or None; `render` decides whether it may be shown.
    Pass `show_value=False` for values that must never be printed whatever they look
    like (unknown keys, escape-hatch entries)."""

    key: str  # path under the namespace, e.g. "pools.chat.tensorParallelSize"
    value: Any
    reason: str
    fix: str
    show_value: bool = True
    namespace: str = NAMESPACE

    def render(self) -> str:
        shown = _show(self.value) if self.show_value and not _is_unshown_key(self.key) else None
        value_part = f" = {shown}" if shown is not None else ""
        # Reasons and fixes may quote user input (an unknown GPU product, say).
        reason = _cut(redact(_one_line(self.reason)), MAX_REASON_CHARS)
        fix = _cut(redact(_one_line(self.fix)), MAX_FIX_CHARS)
        return f"{self.namespace}:{_cut(self.key, MAX_KEY_CHARS)}{value_part}: {reason}. Fix: {fix}"


class ConfigError(Exception):
    """A stack config that cannot work; raised before any resource is registered."""

    def __init__(self, problems: list[Problem]):
        if not problems:
            raise ValueError("ConfigError needs at least one problem")
        self.problems = _unique(problems)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if len(self.problems) == 1:
            return _cut_bytes("invalid stack config: " + self.problems[0].render(), MAX_MESSAGE_BYTES)
        header = f"invalid stack config ({len(self.problems)} problems):"
        lines = [header]
        size = len(header)
        for shown, problem in enumerate(self.problems):
            line = f"  - {problem.render()}"
            if size + len(line.encode()) + 1 > MAX_MESSAGE_BYTES - 120:
                rest = len(self.problems) - shown
                lines.append(f"  - and {rest} more; fix the problems above and run preview again")
                break
            lines.append(line)
            size += len(line.encode()) + 1
        return _cut_bytes("\n".join(lines), MAX_MESSAGE_BYTES)


def _cut_bytes(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8 (the engine prints bytes; 2 kB is the promise)."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[: limit - 3].decode(errors="ignore") + "..."


def _unique(problems: list[Problem]) -> list[Problem]:
    """One message per problem: identical key and reason are reported once."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for problem in problems:
        if (problem.key, problem.reason) not in seen:
            seen.add((problem.key, problem.reason))
            unique.append(problem)
    return unique


_MISSING = object()


def _one_line(text: str) -> str:
    """Control characters (a newline in a user's key) never break the message's lines."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_unshown_key(key: str) -> bool:
    parts = re.split(r"[.\[\]]", key)
    return any(
        part in UNSHOWN_SECTIONS or (is_credential_name(part) and part not in SECRET_REFERENCE_KEYS)
        for part in parts
    )


def _show(value: Any) -> str | None:
    """The value as the message shows it, or None when it must not be shown."""
    if value is _MISSING or value is None:
        return None
    if contains_credential(value):
        return None
    if isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True, default=str)
        if len(text) > MAX_SHOWN_VALUE:
            return f"(a {'list' if isinstance(value, list) else 'map'} of {len(value)} entries)"
        return text
    if isinstance(value, str):
        text = json.dumps(value)  # quoted, with newlines and control characters escaped
        return (
            text
            if len(text) <= MAX_SHOWN_VALUE
            else text[: MAX_SHOWN_VALUE - 4] + '..."' + (f" ({len(value)} characters)")
        )
    text = str(value)
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 3] + "..."


def _key_part(part: Any) -> str:
    """One segment of a key path as it may be printed: a key that is itself token-shaped
    (a pasted token, an AKIA id, a random string) is masked, while one made of words
    (`hf_token`, `apiKey`, `HF_TOKEN`) is shown even when it names a credential; odd
    characters are escaped, long ones cut."""
    text = str(part)
    if looks_like_credential(text) and not is_word_name(text):
        return "<a key that looks like a credential>"
    if not _PLAIN_KEY_PART.fullmatch(text):
        text = json.dumps(text)
    return _cut(text, MAX_KEY_PART)


def key_path(loc: tuple) -> str:
    """('pools', 'chat', 'replicas') -> 'pools.chat.replicas'; list indexes as [i]."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + _key_part(part)
    return path


_HUGGING_FACE_WORDS = frozenset({"hf", "hugging", "huggingface", "hub"})
_HUGGING_FACE_HOME = (
    "The Hugging Face token goes only in `pulumi config set --secret hfToken <token>` (top level) "
    "or an existing Secret named by huggingFace.existingSecret"
)
_API_KEY_HOME = "The API key is generated, or read from an existing Secret named by auth.existingSecret"
_OTHER_CREDENTIAL_HOME = "Other credentials reach pods from a Secret (env: NAME: {secretKeyRef: {name, key}})"
_REVOKE = "If its value was a real credential in plain text, revoke it"


def credential_key_fix(name: str) -> str | None:
    """For a key named like a credential (`hf_token`, `apiKey`): where that credential
    belongs in this schema, and to revoke one written in plain text; for a key whose name
    is itself token-shaped, to revoke it; else None."""
    if looks_like_credential(name) and not is_word_name(name):
        return "Its name looks like a token (not shown): if it is one, revoke it"
    if not is_credential_name(name):
        return None
    words = set(name_words(name))
    if words & _HUGGING_FACE_WORDS:
        homes = [_HUGGING_FACE_HOME]
    elif words & {"api", "apikey", "auth"}:
        homes = [_API_KEY_HOME]
    else:
        homes = [_HUGGING_FACE_HOME, _API_KEY_HOME, _OTHER_CREDENTIAL_HOME]
    return ". ".join([*homes, _REVOKE])


def schema_loc(root: type[BaseModel], loc: tuple) -> tuple:
    """`loc` without pydantic's markers: union-member tags (so that a field reported by
    several branches of a union is one problem at one key) and '[key]' (a map key's own
    error is reported at the key)."""
    annotation: Any = root
    cleaned = []
    for part in loc:
        if part == "[key]":
            continue
        if annotation is not None and _is_union(annotation) and step(annotation, part) is None:
            continue
        cleaned.append(part)
        annotation = step(annotation, part) if annotation is not None else None
    return tuple(cleaned)


def _is_union(annotation: Any) -> bool:
    return get_origin(unwrap(annotation)) in (Union, types.UnionType)


def _fix_for(error: dict, root: type[BaseModel], loc: tuple) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        moved = moved_to_release(loc)
        if moved:
            return f"it is a release key now: set {moved} instead (docs/config-reference.md, 'Release keys')"
        known = keys_at(root, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        credential = credential_key_fix(str(loc[-1]))
        if credential:
            return (f"did you mean '{close[0]}'? " if close else "remove this key. ") + credential
        if close:
            return f"did you mean '{close[0]}'? Rename the key"
        where = key_path(loc[:-1]) or "the top level"
        return f"remove it; keys accepted at {where}: {', '.join(known)}"
    if kind == "missing":
        return "add this key; it has no default"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"use one of {expected}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return (
            'write a whole number such as 2 (a string of digits such as "2" or "02", as '
            "`pulumi config set` may write it, is read too; 2.0, 1e3, 0x10, spaces and true/false are not)"
        )
    if kind in ("float_type", "float_parsing", "finite_number"):
        return (
            "write a finite number such as 0.9 or 1e-3 (a string in that form, as `pulumi config set` "
            "writes it, is read too; inf, nan, hex, 1_000, spaces and true/false are not)"
        )
    if kind in ("bool_type", "bool_parsing"):
        return (
            'write true or false (the strings "true", "false", "True" and "False" are read too; '
            "yes/no, on/off and 1/0 are not)"
        )
    if kind in ("string_type",):
        return "write a string (quote it in YAML)"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "write a mapping of keys to values here"
    if kind in ("list_type",):
        return "write a list here"
    if kind.startswith(("greater_than", "less_than", "too_long", "too_short", "string_")):
        return "use a value in the stated range"
    return "correct the value as described"


def _split_requirement(message: str) -> tuple[str, str]:
    """A validator's message as (what is wrong, the fix): "must be a DNS-1123 label: ..."
    becomes ("is not valid", "use a DNS-1123 label: ..."); "<reason>. Fix: <fix>" splits."""
    if message.startswith("must be "):
        return "is not valid", "use " + message[len("must be ") :]
    if message.startswith("must "):
        return "is not valid", "the value " + message
    reason, separator, fix = message.partition(". Fix: ")
    return (reason, fix) if separator else (message, "correct the value as described")


def from_validation_error(error: ValidationError, root: type[BaseModel]) -> ConfigError:
    """Translate pydantic's errors into key/reason/fix problems."""
    problems = []
    for item in error.errors(include_url=False):
        loc = schema_loc(root, tuple(item["loc"]))
        reason = item["msg"]
        fix = _fix_for(item, root, loc)
        if item["type"] == "extra_forbidden":
            reason = "unknown key (its value is not shown: it may be a secret)"
        elif reason.startswith("Value error, "):
            reason, fix = _split_requirement(reason[len("Value error, ") :])
        value = _MISSING if item["type"] == "missing" else item.get("input", _MISSING)
        problems.append(
            Problem(
                key=key_path(loc),
                value=value,
                reason=reason,
                fix=fix,
                show_value=item["type"] != "extra_forbidden",
            )
        )
    return ConfigError(problems)
