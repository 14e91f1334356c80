"""How pods read credentials: the Hugging Face token as a file, the API key as env.

The token is mounted read-only and found through `HF_TOKEN_PATH`, which
huggingface_hub reads (`constants.HF_TOKEN_PATH`, present in 0.34.0, the oldest
release transformers 4.56 accepts; vLLM v0.19.1 requires `transformers >= 4.56.0,
< 5`, vllm-project/vllm `requirements/common.txt`). vLLM and the `hf` CLI both go
through huggingface_hub's `get_token()`, which falls back to that file when `HF_TOKEN`
is unset. So the token is in no environment: not in `/proc/<pid>/environ`, not in
crash dumps, not inherited by child processes.

vLLM reads its API key only from `--api-key` or `VLLM_API_KEY`
(`vllm/entrypoints/openai/api_server.py`), so that one stays an environment variable
from the Secret (checkov CKV_K8S_35, listed in docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_kubernetes as k8s

from components.shared.pod_fragment import PodFragment
from config.names import API_KEY_ENV, HF_TOKEN_PATH_ENV
from config.serving.sections import EnvValue

HF_TOKEN_VOLUME = "hf-token"
HF_TOKEN_DIR = "/var/run/secrets/huggingface"
HF_TOKEN_FILE = "token"


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


def hf_token_file(token: SecretRef | None) -> PodFragment:
    """The token's key mounted as one read-only file, and HF_TOKEN_PATH naming it."""
    if token is None:
        return PodFragment()
    return PodFragment(
        volumes=[
            k8s.core.v1.VolumeArgs(
                name=HF_TOKEN_VOLUME,
                secret=k8s.core.v1.SecretVolumeSourceArgs(
                    secret_name=token.name,
                    items=[k8s.core.v1.KeyToPathArgs(key=token.key, path=HF_TOKEN_FILE)],
                    # Owner and fsGroup may read it; nobody may write.
                    default_mode=0o440,
                ),
            )
        ],
        mounts=[k8s.core.v1.VolumeMountArgs(name=HF_TOKEN_VOLUME, mount_path=HF_TOKEN_DIR, read_only=True)],
        env=[k8s.core.v1.EnvVarArgs(name=HF_TOKEN_PATH_ENV, value=f"{HF_TOKEN_DIR}/{HF_TOKEN_FILE}")],
    )


@dataclass(frozen=True)
class PodSecrets:
    """Which credentials vLLM pods get: the HF token file and, with auth on, VLLM_API_KEY."""

    hf_token: SecretRef | None
    api_key: SecretRef | None

    def fragment(self) -> PodFragment:
        api_key_env = [self.api_key.env(API_KEY_ENV)] if self.api_key is not None else []
        return hf_token_file(self.hf_token) + PodFragment(env=api_key_env)


def env_var(name: str, entry: EnvValue) -> k8s.core.v1.EnvVarArgs:
    """A pool's `env` entry: its plain value, or a reference to a Secret's key."""
    if entry.secret_key_ref is not None:
        return SecretRef(entry.secret_key_ref.name, entry.secret_key_ref.key).env(name)
    return k8s.core.v1.EnvVarArgs(name=name, value=entry.value)
