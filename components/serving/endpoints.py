"""How to reach each OpenAI-compatible endpoint: the `endpoints` stack output.

The description names the Secret that holds the API key and the command that reads it,
never the key itself.
"""

from __future__ import annotations

import json

import pulumi

from config.security.sections import AuthConfig


def check_request(model: str) -> dict:
    """The smallest request that makes the model generate: one token."""
    return {"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}


def endpoint_description(
    namespace: str, auth: AuthConfig, service: str, port: int, model: str, url: pulumi.Output[str]
) -> dict:
    """One endpoint: its model, in-cluster URL, a port-forward and a curl command."""
    auth_header = (
        f'-H "Authorization: Bearer $(kubectl get secret -n {namespace} {auth.effective_secret_name} '
        f"-o jsonpath='{{.data.{auth.secret_key}}}' | base64 -d)\" "
        if auth.enabled
        else ""
    )
    return {
        "model": model,
        "url": url,
        "portForward": f"kubectl port-forward -n {namespace} svc/{service} {port}:{port}",
        # A completion, not /v1/models: a P/D router answers that itself while every
        # completion could fail, so only a generated token shows the path works.
        "curl": (
            f"curl -s {auth_header}-H 'Content-Type: application/json' "
            f"http://localhost:{port}/v1/chat/completions "
            f"-d '{json.dumps(check_request(model))}'"
        ),
    }
