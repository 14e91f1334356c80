"""Model sources: what vLLM is told to serve, and how the weights reach the cache.

- Hugging Face hub (default): vLLM serves the hub id and downloads it into HF_HOME on
  the cache; the optional prefetch Job (`modelCache.prefetch`) runs `hf download` first.
- S3-compatible bucket (seed 004): the prefetch Job copies the prefix into
  `<mountPath>/s3/<bucket>/<prefix>` with rclone; vLLM serves that directory, offline.
- A directory already on the cache volume: vLLM serves `<mountPath>/<cachePath>`,
  offline; nothing is downloaded.

Why the prefetch Job and not an init container for S3: the Job runs once per cache
claim, not once per replica (16 pods of seed 000 would each pull the same 16 GB, and
race each other into one shared RWX directory); it holds no GPU while it downloads (an
init container runs inside the GPU pod, its GPU idle for the whole copy); Pulumi waits
for it before the Deployment, so a bad bucket or key fails `pulumi up` once, with the
Job's log, instead of as N pods in Init:CrashLoopBackOff. A later scale-up or restart
finds the weights already on the volume.

Pure: the commands here are exactly what the Job runs, and what the tests run against
a real S3 server (tests/test_model_source.py).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from config.serving.lora import ADAPTER_DIRECTORY, LoraAdapter
from config.serving.sections import PoolConfig
from config.storage.sections import S3Source

# The Job's environment variables holding the S3 key pair; rclone's env_auth reads
# them (and falls back to the pod's own identity when they are absent).
ACCESS_KEY_ID_ENV = "AWS_ACCESS_KEY_ID"
SECRET_ACCESS_KEY_ENV = "AWS_SECRET_ACCESS_KEY"
S3_DIRECTORY = "s3"


@dataclass(frozen=True)
class Download:
    """One download into the cache: the image, the command, and what identifies it
    (pools whose downloads are identical on one claim share one Job)."""

    image: str
    command: list[str]
    # Environment variable -> key of the credentials Secret it is read from.
    secret_env: dict[str, str]
    secret_name: str | None
    # From the Hugging Face hub: the Job reads HF_TOKEN.
    from_hub: bool = False

    @property
    def identity(self) -> tuple[str, ...]:
        return (self.image, *self.command)


def s3_destination(source: S3Source, mount_path: str) -> str:
    """Where an S3 source lands on the cache volume (and what vLLM serves)."""
    return posixpath.join(mount_path, S3_DIRECTORY, source.bucket, source.prefix).rstrip("/")


def model_path(pool: PoolConfig, mount_path: str) -> str:
    """The model argument of `vllm serve`: the hub id, or a directory on the cache."""
    source = pool.source
    if source.s3 is not None:
        return s3_destination(source.s3, mount_path)
    if source.cache_path is not None:
        return posixpath.join(mount_path, source.cache_path)
    return pool.model


def serves_offline(pool: PoolConfig) -> bool:
    """Pools served from a directory never need the hub (HF_HUB_OFFLINE=1)."""
    return pool.source.kind != "huggingFace"


def s3_copy_command(source: S3Source, destination: str) -> list[str]:
    """`rclone copy` of the bucket prefix into `destination`.

    Idempotent and resumable: files already there with the same size and modification
    time are skipped, and partial files are written aside and renamed when complete,
    so a retried Job continues where the last one stopped. Credentials come from the
    environment (`--s3-env-auth`), never from arguments.
    """
    remote = f":s3:{source.bucket}/{source.prefix}".rstrip("/")
    command = [
        "rclone",
        "copy",
        remote,
        destination,
        # "Other" is rclone's generic S3-compatible provider; "AWS" enables AWS's quirks.
        f"--s3-provider={'Other' if source.endpoint else 'AWS'}",
        "--s3-env-auth",
        f"--s3-region={source.region}",
        f"--s3-force-path-style={'true' if source.uses_path_style else 'false'}",
    ]
    if source.endpoint:
        command.append(f"--s3-endpoint={source.endpoint}")
    return command + [
        "--fast-list",
        "--transfers=8",
        # Progress in the Job's log every 30 s, one line each.
        "--stats=30s",
        "--stats-one-line",
        "--stats-log-level=NOTICE",
    ]


def _s3_secret_env(source: S3Source) -> dict[str, str]:
    """The Job's S3 key variables -> keys of the credentials Secret (none: the pod's
    own identity)."""
    credentials = source.credentials
    if credentials is None:
        return {}
    return {
        ACCESS_KEY_ID_ENV: credentials.access_key_id_key,
        SECRET_ACCESS_KEY_ENV: credentials.secret_access_key_key,
    }


# What vLLM never reads: Meta's original/ checkpoints (consolidated.*.pth, a second full
# copy of the weights beside the safetensors files).
HUB_DOWNLOAD_EXCLUDES = ("original/*",)


def hf_download_command(pool: PoolConfig, revision: str | None) -> list[str]:
    """`hf download` skips files already in HF_HOME, so a re-run resumes. `revision`
    is the model's pinned commit (release.modelRevisions)."""
    command = ["hf", "download", pool.model]
    if revision:
        command += ["--revision", revision]
    for pattern in HUB_DOWNLOAD_EXCLUDES:
        command += ["--exclude", pattern]
    return command


def download_for(
    pool: PoolConfig, mount_path: str, prefetch: bool, hub_image: str, revision: str | None = None
) -> Download | None:
    """The download a pool needs before vLLM starts, or None
    (`ModelSource.downloaded_by_job` says when)."""
    source = pool.source
    if not source.downloaded_by_job(prefetch):
        return None
    if source.s3 is not None:
        credentials = source.s3.credentials
        return Download(
            image=source.s3.image,
            command=s3_copy_command(source.s3, s3_destination(source.s3, mount_path)),
            secret_env=_s3_secret_env(source.s3),
            secret_name=credentials.secret_name if credentials else None,
        )
    return Download(
        image=hub_image,
        command=hf_download_command(pool, revision),
        secret_env={},
        secret_name=None,
        from_hub=True,
    )


def adapter_path(adapter: LoraAdapter, mount_path: str, revision: str | None) -> str:
    """The directory vLLM loads a LoRA adapter from: one per hub revision under
    `<mountPath>/lora/<repository>/`, or the S3 prefix's place (as a model's)."""
    if adapter.s3 is not None:
        return s3_destination(adapter.s3, mount_path)
    assert adapter.hub is not None
    return posixpath.join(mount_path, ADAPTER_DIRECTORY, adapter.hub, revision or "main")


def adapter_download(
    adapter: LoraAdapter, destination: str, hub_image: str, revision: str | None
) -> Download:
    """The download of one adapter into `destination` (see `adapter_path`): `hf
    download --local-dir`, which skips files already there, or `rclone copy`."""
    if adapter.s3 is not None:
        credentials = adapter.s3.credentials
        return Download(
            image=adapter.s3.image,
            command=s3_copy_command(adapter.s3, destination),
            secret_env=_s3_secret_env(adapter.s3),
            secret_name=credentials.secret_name if credentials else None,
        )
    assert adapter.hub is not None
    command = ["hf", "download", adapter.hub, "--local-dir", destination]
    if revision:
        command += ["--revision", revision]
    return Download(image=hub_image, command=command, secret_env={}, secret_name=None, from_hub=True)
