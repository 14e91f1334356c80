"""The llm-serving policy pack: checks on the Kubernetes objects a Pulumi program
registers, run by the engine at preview and update (`pulumi preview --policy-pack policy`).

It reads resources only, never a stack's config, so it applies to any Pulumi program
that creates Kubernetes objects (README.md in this directory).
"""

from pulumi_policy import PolicyPack

from llm_serving_policy import ALL_POLICIES

PolicyPack(name="llm-serving-kubernetes", policies=ALL_POLICIES)
