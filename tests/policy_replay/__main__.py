"""Registers Kubernetes objects read from a JSON file, each as the kind it is.

The objects are those the real program rendered for a stack (scripts/render.py),
with one changed by a test; the provider runs in render mode, so a preview needs no
cluster. Each object is registered under the type token of its kind
(`kubernetes:apps/v1:Deployment`, `kubernetes:core/v1:Service`) with its manifest as
inputs, which is what the typed resource classes of pulumi-kubernetes register: the
policy pack sees the same type and the same inputs.
"""

import json
import os
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

objects = json.loads(Path(os.environ["POLICY_REPLAY_OBJECTS"]).read_text())
provider = k8s.Provider("render", render_yaml_to_directory=os.environ["POLICY_REPLAY_RENDER_DIR"])
for obj in objects:
    # The core group is spelled `core/v1` in tokens, `v1` in manifests.
    group_version = obj["apiVersion"] if "/" in obj["apiVersion"] else f"core/{obj['apiVersion']}"
    metadata = obj["metadata"]
    pulumi.CustomResource(
        f"kubernetes:{group_version}:{obj['kind']}",
        f"{obj['kind']}-{metadata.get('namespace', '')}-{metadata['name']}",
        obj,
        opts=pulumi.ResourceOptions(provider=provider),
    )
