"""How to reach each OpenAI-compatible endpoint: the `endpoints` stack output.

The description names the Secret that holds the API key and the command that reads it,
never the key itself.
"""

from __future__ import annotations

import pulumi

from config.security.sections import AuthConfig


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
        "curl": f"curl -s {auth_header}http://localhost:{port}/v1/models",
    }
