"""Validate what the program registers against real schemas.

Built-in kinds: the Kubernetes OpenAPI schema via `kubernetes-validate`, strict (an
unknown field is an error, as it would be silently dropped by the API server).
Custom resources: the CRD schemas in ../shared/schemas/crds/ and the project's own
schemas/crds/ (schemas the shared set lacks, each with its upstream source), made
strict the same way: any object schema that lists properties and does not preserve unknown fields
rejects others.
"""

from __future__ import annotations

import copy
import json
from functools import cache

import jsonschema
import kubernetes_validate

from harness import ROOT

KUBERNETES_VERSION = "1.36.0"
# The project's own schemas first: they add kinds the shared set lacks.
CRD_DIRS = [ROOT / "schemas" / "crds", ROOT.parent / "shared" / "schemas" / "crds"]
BUILTIN_GROUPS = {
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "networking.k8s.io",
    "node.k8s.io",
    "storage.k8s.io",
    "rbac.authorization.k8s.io",
    "scheduling.k8s.io",
}


def is_builtin(manifest: dict) -> bool:
    api_version = manifest["apiVersion"]
    group = api_version.split("/")[0] if "/" in api_version else ""
    return group in BUILTIN_GROUPS


def _strict(schema: dict) -> dict:
    schema = copy.deepcopy(schema)

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


@cache
def crd_schema(api_version: str, kind: str) -> dict:
    group, version = api_version.split("/")
    paths = [directory / f"{group}_{kind}_{version}.json" for directory in CRD_DIRS]
    existing = [path for path in paths if path.exists()]
    if not existing:
        raise AssertionError(f"no CRD schema for {api_version} {kind} in {', '.join(map(str, CRD_DIRS))}")
    return _strict(json.loads(existing[0].read_text())["openAPIV3Schema"])


def validation_errors(manifest: dict) -> list[str]:
    """Every schema violation of one object, as readable strings (empty when valid)."""
    where = f"{manifest.get('kind')} {manifest.get('metadata', {}).get('name')}"
    if is_builtin(manifest):
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            return [f"{where}: {'.'.join(map(str, error.path))}: {error.message}"]
        return []
    validator = jsonschema.Draft7Validator(crd_schema(manifest["apiVersion"], manifest["kind"]))
    return [f"{where}: {'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(manifest)]
