"""References to the Secrets pods read credentials from, as environment variables."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_kubernetes as k8s


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
            variables.append(self.hf_token.env("HF_TOKEN"))
        if self.api_key is not None:
            variables.append(self.api_key.env("VLLM_API_KEY"))
        return variables
