"""Config sections of model storage: `modelCache`, `huggingFace`, and a pool's model
source (hub, S3, a path in the cache).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from config.addons.sections import HelmChartConfig
from config.kube_types import (
    AbsolutePath,
    ByteSize,
    ChartRepository,
    DnsLabel,
    DnsSubdomain,
    Int32,
    Int64,
    PinnedImage,
    SecretDataKey,
)
from config.release import RCLONE_IMAGE
from config.section import Section


class HuggingFaceConfig(Section):
    """Where pods read the Hugging Face token from.

    The token itself is never part of this schema: it is the secret config value
    `llm-serving:hfToken` (see loader.py), or a Secret that already exists.
    """

    existing_secret: DnsSubdomain | None = None
    secret_key: SecretDataKey = "HF_TOKEN"


# Node directories a hostPath cache may not be, or be inside: handing a pod write
# access to them compromises the node.
SYSTEM_DIRECTORIES = (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/root", "/run",
    "/sbin", "/sys", "/usr", "/var/lib/containerd", "/var/lib/docker", "/var/lib/kubelet",
    "/var/lib/rancher", "/var/log", "/var/run",
)  # fmt: skip


# Directories that are only safe as a parent, never as the cache itself.
SYSTEM_PARENTS = ("/home", "/opt", "/srv", "/tmp", "/var", "/var/lib", "/mnt", "/media")


def is_within(path: str, directory: str) -> bool:
    """`path` is `directory` or inside it (both absolute and normalized)."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _host_path(value: str) -> str:
    if any(is_within(value, directory) for directory in SYSTEM_DIRECTORIES) or value in SYSTEM_PARENTS:
        raise ValueError(
            "is a system directory of the node; a pod writing there could take the node over. "
            "Fix: use a directory of its own, such as /var/lib/llm-models"
        )
    return value


class HostPathCache(Section):
    path: Annotated[AbsolutePath, AfterValidator(_host_path)] = "/var/lib/llm-models"
    # Pin the volume to one node; pods using it are then scheduled there.
    node_name: DnsSubdomain | None = None


class LonghornCache(HelmChartConfig):
    install: bool = True
    repository: ChartRepository = "https://charts.longhorn.io"
    namespace: DnsLabel = "longhorn-system"
    storage_class_name: DnsSubdomain = "longhorn-rwx"
    replica_count: Int32 = Field(default=3, ge=1, le=20)


class PvcCache(Section):
    storage_class_name: DnsSubdomain | None = None
    access_mode: Literal["ReadWriteOnce", "ReadWriteMany"] = "ReadWriteOnce"


class PrefetchConfig(Section):
    enabled: bool = False
    backoff_limit: Int32 = Field(default=4, ge=0)
    active_deadline_seconds: Int64 = Field(default=7200, gt=0)


class ModelCacheConfig(Section):
    """Where model weights live between pod restarts (seed 002's three options)."""

    mode: Literal["hostPath", "longhorn", "pvc"] = "hostPath"
    size: ByteSize = "500Gi"
    # Not under /root: the vLLM image's /root is mode 0700, which a non-root UID
    # cannot traverse to reach a volume mounted below it.
    mount_path: AbsolutePath = "/var/cache/huggingface"
    retain_on_destroy: bool = True
    host_path: HostPathCache = Field(default_factory=HostPathCache)
    longhorn: LonghornCache = Field(default_factory=LonghornCache)
    pvc: PvcCache = Field(default_factory=PvcCache)
    prefetch: PrefetchConfig = Field(default_factory=PrefetchConfig)


_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


_HTTP_URL = re.compile(r"^https?://[^/\s?#]+/?$")


class S3Credentials(Section):
    """An existing Secret holding the access key pair (never passed through Pulumi)."""

    secret_name: DnsLabel
    access_key_id_key: str = "AWS_ACCESS_KEY_ID"
    secret_access_key_key: str = "AWS_SECRET_ACCESS_KEY"


class S3Source(Section):
    """Weights under `prefix` in an S3-compatible bucket, copied into the cache by the
    prefetch Job before vLLM starts (seed 004)."""

    # Unset: AWS S3 in `region`. Set: any S3-compatible server (MinIO, Ceph, R2, ...).
    endpoint: str | None = None
    bucket: str
    prefix: str = ""
    region: str = "us-east-1"
    # Unset: path-style for a custom endpoint, virtual-hosted style for AWS.
    path_style: bool | None = None
    # Unset: the pod's own identity (IRSA, instance role, workload identity).
    credentials: S3Credentials | None = None
    image: PinnedImage = RCLONE_IMAGE

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_a_url(cls, value: str | None) -> str | None:
        if value is not None and not _HTTP_URL.match(value):
            raise ValueError("must be an http(s) URL of the server, such as 'https://minio.storage:9000'")
        return value.rstrip("/") if value else value

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if not _S3_BUCKET.match(value):
            raise ValueError("must be an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-'")
        return value

    @field_validator("prefix")
    @classmethod
    def _relative_prefix(cls, value: str) -> str:
        value = value.strip("/")
        if ".." in value.split("/"):
            raise ValueError("must not contain '..'")
        return value

    @property
    def uses_path_style(self) -> bool:
        return self.path_style if self.path_style is not None else self.endpoint is not None


class ModelSource(Section):
    """Where a pool's weights come from: the Hugging Face hub (`model`, the default),
    an S3-compatible bucket (`s3`), or a directory already on the cache volume
    (`cachePath`, relative to `modelCache.mountPath`; nothing is downloaded)."""

    s3: S3Source | None = None
    cache_path: str | None = None

    @field_validator("cache_path")
    @classmethod
    def _inside_the_cache(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if value.startswith("/") or ".." in value.split("/") or not value.strip("/"):
            raise ValueError("must be a non-empty path relative to modelCache.mountPath, without '..'")
        return value.strip("/")

    @model_validator(mode="after")
    def _one_source(self) -> ModelSource:
        if self.s3 is not None and self.cache_path is not None:
            raise ValueError("set either s3 or cachePath, not both")
        return self

    @property
    def kind(self) -> Literal["huggingFace", "s3", "cachePath"]:
        if self.s3 is not None:
            return "s3"
        if self.cache_path is not None:
            return "cachePath"
        return "huggingFace"

    def downloaded_by_job(self, prefetch: bool) -> bool:
        """Whether a Job fills the cache with these weights before vLLM starts: S3
        always (nothing else would fetch them), the hub only with prefetch on (vLLM
        downloads them itself otherwise), a cache path never."""
        return self.kind == "s3" or (self.kind == "huggingFace" and prefetch)
