"""The SDK floor of bench/evaluation_floor.py: a Pulumi program that registers the
custom resources listed in $FLOOR_REGISTRATIONS (type, name, inputs), as they are.

It imports the pulumi_kubernetes module of each type first, as a program using the
typed classes would, so the floor pays the same SDK imports; then each resource is a
plain `pulumi.CustomResource` of that type with those inputs. No config, no
components, no checks: what is left is the SDK's own cost for this many resources.
"""

import importlib
import json
import os
from pathlib import Path

import pulumi

registrations = json.loads(Path(os.environ["FLOOR_REGISTRATIONS"]).read_text())
for module in sorted({r["type"].split(":")[1] for r in registrations}):
    # `apps/v1` -> pulumi_kubernetes.apps.v1; custom resources live in apiextensions.
    package = module.replace("/", ".").replace(".k8s.io", "").replace("-", "_")
    try:
        importlib.import_module(f"pulumi_kubernetes.{package}")
    except ImportError:
        importlib.import_module("pulumi_kubernetes.apiextensions")
for registration in registrations:
    pulumi.CustomResource(registration["type"], registration["name"], registration["inputs"])
