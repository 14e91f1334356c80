"""Walk the schema's types: which keys exist where. Pure; used by error messages
(to suggest the key a typo meant) and by the test that keeps docs/config-reference.md complete."""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

MAP_KEY_PLACEHOLDER = "<name>"


def unwrap(annotation: Any) -> Any:
    """Optional[X] -> X and Annotated[X, ...] -> X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def step(annotation: Any, part: Any) -> Any:
    """The type found one key (or index) below `annotation`, or None."""
    annotation = unwrap(annotation)
    if is_model(annotation):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    origin = get_origin(annotation)
    if origin is dict:
        return get_args(annotation)[1]
    if origin is list:
        return get_args(annotation)[0]
    return None


def keys_at(root: type[BaseModel], loc: tuple) -> list[str]:
    """The keys the schema accepts at `loc`, e.g. ('pools', 'chat') -> pool keys."""
    annotation: Any = root
    for part in loc:
        annotation = step(annotation, part)
    model = unwrap(annotation)
    if is_model(model):
        return sorted(field.alias or name for name, field in model.model_fields.items())
    return []


def all_key_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every leaf key as a dotted camelCase path; map entries appear as `<name>`."""
    paths = []
    for name, field in model.model_fields.items():
        path = prefix + (field.alias or name)
        annotation = unwrap(field.annotation)
        if is_model(annotation):
            paths += all_key_paths(annotation, path + ".")
            continue
        if get_origin(annotation) is dict:
            value_type = unwrap(get_args(annotation)[1])
            if is_model(value_type):
                paths += all_key_paths(value_type, f"{path}.{MAP_KEY_PLACEHOLDER}.")
                continue
        paths.append(path)
    return paths
