"""Scalars that arrive as strings, read by the type the schema expects where they stand.

`pulumi config set --path 'pools.chat.replicas' 2` writes a YAML int, but the engine
only turns base-10 integers without a leading 0 and `true`/`false` into numbers and
booleans (Go's `coerce()` in sdk/go/common/resource/config/object.go): a float
(`0.9`), `01`, anything set with `--type string`, every top-level (non-`--path`)
value and hand-quoted numbers in a stack file stay strings. `StackConfig` runs
`from_cli` over the whole value tree before validation, so such a string becomes the
number or boolean the schema expects, but only where its meaning is unambiguous:

- an int field takes `[-+]?[0-9]{1,19}`, read as decimal (leading zeros allowed:
  `"01"` is 1, never octal);
- a float field takes a plain decimal or scientific number (`0.9`, `.5`, `1e-3`)
  whose value is finite: no `inf`, `nan`, hex, `_` or whitespace;
- a bool field takes exactly `true`, `false`, `True` or `False` (never `yes`, `on`,
  `1`).

Where the schema takes text (a `str` field, or a union with `str`, such as the
quantities, which take numbers and strings), and in untyped maps (Helm `values`), a
string stays as written. Anything else stays a string too, so the schema reports it
against its key as before. Pure: no Pulumi imports.
"""

from __future__ import annotations

import math
import re
import types
from typing import Any, Literal, Union, get_args, get_origin

from config.schema_paths import is_model, step, unwrap

# The accepted forms, whole-string matched (config/json_schema.py offers them to editors).
INT_PATTERN = r"[-+]?[0-9]{1,19}"
FLOAT_PATTERN = r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?"
BOOLEAN_WORDS = {"true": True, "True": True, "false": False, "False": False}
_INT = re.compile(INT_PATTERN)
_FLOAT = re.compile(FLOAT_PATTERN)
# Longer number strings are no typing convenience; they stay strings (and are refused).
_MAX_FLOAT_TEXT = 64
_UNCHANGED = object()


def _as_int(text: str) -> Any:
    return int(text) if _INT.fullmatch(text) else _UNCHANGED


def _as_float(text: str) -> Any:
    if len(text) > _MAX_FLOAT_TEXT or not _FLOAT.fullmatch(text):
        return _UNCHANGED
    number = float(text)
    return number if math.isfinite(number) else _UNCHANGED


def _as_bool(text: str) -> Any:
    return BOOLEAN_WORDS.get(text, _UNCHANGED)


_READERS = {bool: _as_bool, int: _as_int, float: _as_float}


def _members(annotation: Any) -> list[Any]:
    """The alternatives of a union (None left out), or the annotation itself."""
    annotation = unwrap(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return [unwrap(member) for member in get_args(annotation) if member is not type(None)]
    return [annotation]


def _scalar_targets(annotation: Any) -> list[type]:
    """The scalar types a string at `annotation` may be read as, in order; empty where
    the schema takes text there (or no scalar at all)."""
    targets: list[type] = []
    for member in _members(annotation):
        if get_origin(member) is Literal:
            kinds = {type(choice) for choice in get_args(member)}
            member = kinds.pop() if len(kinds) == 1 else str
        if member is str or member is Any:
            return []  # the schema takes text here: a string means what it says
        if member in _READERS:
            targets.append(member)
    return targets


def _container(annotation: Any, value: dict | list) -> Any:
    """The one alternative of `annotation` that holds `value` (a model or a typed map
    for a dict, a typed list for a list), or None."""
    if isinstance(value, dict):
        fits = [m for m in _members(annotation) if is_model(m) or get_origin(m) is dict]
    else:
        fits = [m for m in _members(annotation) if get_origin(m) is list]
    return fits[0] if len(fits) == 1 else None


def from_cli(annotation: Any, value: Any) -> Any:
    """`value` with every string scalar read as the int, float or bool the schema
    expects at its place (see the module docstring); a new tree, the input untouched."""
    if isinstance(value, str):
        for target in _scalar_targets(annotation):
            read = _READERS[target](value)
            if read is not _UNCHANGED:
                return read
        return value
    if isinstance(value, (dict, list)):
        container = _container(annotation, value)
        if container is None:
            return value
        if isinstance(value, list):
            return [_child(container, index, item) for index, item in enumerate(value)]
        return {key: _child(container, key, item) for key, item in value.items()}
    return value


def _child(container: Any, part: Any, value: Any) -> Any:
    """One entry of a container; an unknown key's value is left for the schema to refuse."""
    below = step(container, part)
    return value if below is None else from_cli(below, value)
