"""References to the Secrets pods read credentials from, as environment variables."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_kubernetes as k8s

from config.names import API_KEY_ENV, HF_TOKEN_ENV
from config.schema import EnvValue


@dataclass(frozen=True)
class SecretRef:
    """One key of one Secret in the pods' namespace."""

    name: str
    key: str

    def env(self, variable: str, optional: bool = False) -> k8s.core.v1.EnvVarArgs:
        return k8s.core.v1.EnvVarArgs(
            name=variable,
            value_from=k8s.core.v1.EnvVarSourceArgs(
                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(
                    name=self.name, key=self.key, optional=optional or None
                )
            ),
        )


@dataclass(frozen=True)
class PodSecrets:
    """Which credentials vLLM pods get: HF_TOKEN and, with auth on, VLLM_API_KEY."""

    hf_token: SecretRef | None
    api_key: SecretRef | None

    def env(self) -> list[k8s.core.v1.EnvVarArgs]:
        variables = []
        if self.hf_token is not None:
            variables.append(self.hf_token.env(HF_TOKEN_ENV))
        if self.api_key is not None:
            variables.append(self.api_key.env(API_KEY_ENV))
        return variables


def env_var(name: str, entry: EnvValue) -> k8s.core.v1.EnvVarArgs:
    """A pool's `env` entry: its plain value, or a reference to a Secret's key."""
    if entry.secret_key_ref is not None:
        return SecretRef(entry.secret_key_ref.name, entry.secret_key_ref.key).env(name)
    return k8s.core.v1.EnvVarArgs(name=name, value=entry.value)
