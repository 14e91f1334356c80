"""Config errors a person can act on: the key, the bad value, why, and the fix.

Pure: no Pulumi imports. The loader turns a `ConfigError` into a `pulumi.RunError`,
which the engine prints as one message without a traceback.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from config.release import moved_to_release
from config.schema_paths import keys_at

NAMESPACE = "llm-serving"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a stack config."""

    key: str  # path under the namespace, e.g. "pools.chat.tensorParallelSize"
    value: Any  # the offending value; never a secret
    reason: str
    fix: str

    def render(self) -> str:
        shown = _show(self.value)
        value_part = f" = {shown}" if shown is not None else ""
        return f"{NAMESPACE}:{self.key}{value_part}: {self.reason}. Fix: {self.fix}"


class ConfigError(Exception):
    """A stack config that cannot work; raised before any resource is registered."""

    def __init__(self, problems: list[Problem]):
        if not problems:
            raise ValueError("ConfigError needs at least one problem")
        self.problems = problems
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if len(self.problems) == 1:
            return "invalid stack config: " + self.problems[0].render()
        lines = [f"invalid stack config ({len(self.problems)} problems):"]
        lines += [f"  - {problem.render()}" for problem in self.problems]
        return "\n".join(lines)


_MISSING = object()


def _show(value: Any) -> str | None:
    if value is _MISSING or value is None:
        return None
    if isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True)
        return text if len(text) <= 120 else text[:117] + "..."
    return json.dumps(value) if isinstance(value, str) else str(value)


def key_path(loc: tuple) -> str:
    """('pools', 'chat', 'replicas') -> 'pools.chat.replicas'; list indexes as [i]."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path


def _fix_for(error: dict, root: type[BaseModel]) -> str:
    kind = error["type"]
    loc = tuple(error["loc"])
    if kind == "extra_forbidden":
        moved = moved_to_release(loc)
        if moved:
            return f"it is a release key now: set {moved} instead (README, 'Release keys')"
        known = keys_at(root, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if close:
            return f"did you mean '{close[0]}'? Rename the key"
        where = key_path(loc[:-1]) or "the top level"
        return f"remove it; keys accepted at {where}: {', '.join(known)}"
    if kind == "missing":
        return "add this key; it has no default"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"use one of {expected}"
    if kind.startswith(("int_", "float_", "greater_than", "less_than", "bool_", "string_")):
        return "use a value of the stated type and range"
    return "correct the value as described"


def from_validation_error(error: ValidationError, root: type[BaseModel]) -> ConfigError:
    """Translate pydantic's errors into key/value/reason/fix problems."""
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        reason = item["msg"]
        if item["type"] == "extra_forbidden":
            reason = "unknown key"
        elif reason.startswith("Value error, "):
            reason = reason[len("Value error, ") :]
        value = _MISSING if item["type"] == "missing" else item.get("input", _MISSING)
        problems.append(Problem(key=key_path(loc), value=value, reason=reason, fix=_fix_for(item, root)))
    return ConfigError(problems)
