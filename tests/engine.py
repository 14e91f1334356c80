"""The real Pulumi engine (scripts/pulumi) run by tests against the local cluster.

Each run has its own file backend and passphrase (scripts/local_target.engine_env), so
tests never meet `make up`'s stacks or each other's.
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import local_target
from harness import ROOT
from kube import get

PULUMI = str(ROOT / "scripts" / "pulumi")
# Kinds a stack creates in its namespace; after destroy none may remain.
NAMESPACED_KINDS = [
    "deployments",
    "services",
    "poddisruptionbudgets",
    "jobs",
    "configmaps",
    "secrets",
    "serviceaccounts",
    "roles",
    "rolebindings",
    "horizontalpodautoscalers",
    "servicemonitors",
    "prometheusrules",
    "networkpolicies",
    "resourcequotas",
    "limitranges",
    "ingresses",
    "middlewares.traefik.io",
]


def pulumi(
    env: dict[str, str], *args: str, check: bool = True, timeout: int = 900
) -> subprocess.CompletedProcess:
    result = subprocess.run([PULUMI, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, (
            f"pulumi {' '.join(args)}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def backend_env(state: Path) -> dict[str, str]:
    return local_target.engine_env(state, "e2e-" + secrets.token_hex(8))


def left_after_destroy(namespace: str) -> dict[str, list[str]]:
    """What the stack's kinds still hold in `namespace` (the namespace's own defaults
    and the local target's placeholder token aside): empty after a clean destroy."""
    left = {}
    for kind in NAMESPACED_KINDS:
        names = [
            o["metadata"]["name"]
            for o in get(kind, namespace)
            if o["metadata"]["name"] not in ("kube-root-ca.crt", "default")
            and not o["metadata"]["name"].startswith(local_target.HF_TOKEN_SECRET)
        ]
        if names:
            left[kind] = names
    return left
