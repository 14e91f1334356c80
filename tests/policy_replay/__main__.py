"""Registers Kubernetes objects read from a JSON file, each as the kind it is.

The objects are those the real program rendered for a stack (scripts/render.py),
with one changed by a test; the provider runs in render mode, so a preview needs no
cluster. Each object is a `CustomResource` of its own apiVersion and kind: the engine
token (`kubernetes:apps/v1:Deployment`) and the inputs the policy pack reads are the
same as when the program registers the typed resource.
"""

import json
import os
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

objects = json.loads(Path(os.environ["POLICY_REPLAY_OBJECTS"]).read_text())
provider = k8s.Provider("render", render_yaml_to_directory=os.environ["POLICY_REPLAY_RENDER_DIR"])
for obj in objects:
    fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    metadata = obj["metadata"]
    k8s.apiextensions.CustomResource(
        f"{obj['kind']}-{metadata.get('namespace', '')}-{metadata['name']}",
        api_version=obj["apiVersion"],
        kind=obj["kind"],
        metadata=metadata,
        opts=pulumi.ResourceOptions(provider=provider),
        **fields,
    )
