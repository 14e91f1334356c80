"""ModelCache: where model weights persist, shared by a pool's pods (seed 002).

Three modes:
- `hostPath`: a PersistentVolume at a directory on the node plus a claim bound to
  it; every pod on that node shares it (optionally pinned to one node).
- `longhorn`: Longhorn installed as a pinned Helm release, an RWX StorageClass and
  one ReadWriteMany claim shared by every pod on every node.
- `pvc`: one claim per pool from a StorageClass you name.

A prefetch Job downloads each model into each claim once, so replicas do not each
download it; pools wait for it. It is optional for Hugging Face models and always
there for S3 sources (model_source.py says why a Job). A pool's LoRA adapters always
come through an adapters Job of their own, one container per adapter, so vLLM loads
them from the cache at start-up. `pulumi destroy` keeps the
volumes (and the weights on them) unless `modelCache.retainOnDestroy` is false.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.addons import helm_addon, merge_values
from components.placement import node_label_in
from components.security import MODEL_DOWNLOAD, PodSecurity, Workload
from components.shared import SecretRef, hf_token_file, selector_labels, workload_labels
from components.storage.model_source import (
    Download,
    adapter_download,
    adapter_path,
    download_for,
    model_path,
    serves_offline,
)
from config.names import (
    HF_HOME_ENV,
    HF_HUB_OFFLINE_ENV,
    SHARED_CLAIM_NAME,
    adapters_job_name,
    pool_claim_name,
    prefetch_job_name,
)
from config.release import ReleaseConfig
from config.serving.lora import LoraAdapter
from config.serving.sections import PoolConfig
from config.storage.sections import ModelCacheConfig

# `hf download` is network-bound: a core or two and a few GiB for hashing and buffers.
PREFETCH_REQUESTS = {"cpu": "1", "memory": "4Gi"}
PREFETCH_LIMITS = {"cpu": "2", "memory": "4Gi"}


VOLUME_NAME = "model-cache"


@dataclass(frozen=True)
class CacheMount:
    """How a pod mounts the cache: the claim, the mount path, and HF_HOME on it."""

    claim_name: str
    mount_path: str
    # Resources a pod using this cache must wait for (claims, prefetch Jobs).
    ready: list[pulumi.Resource] = field(default_factory=list)
    # What `vllm serve` is given: a hub id, or a directory on this cache.
    model_path: str = ""
    # Served from a directory or a prefetched hub cache: the hub is never contacted.
    offline: bool = False
    # LoRA adapter name -> its directory on this cache (an adapters Job fills it).
    adapter_paths: dict[str, str] = field(default_factory=dict)

    def volume(self) -> k8s.core.v1.VolumeArgs:
        return k8s.core.v1.VolumeArgs(
            name=VOLUME_NAME,
            persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(
                claim_name=self.claim_name
            ),
        )

    def volume_mount(self) -> k8s.core.v1.VolumeMountArgs:
        return k8s.core.v1.VolumeMountArgs(name=VOLUME_NAME, mount_path=self.mount_path)

    def env(self) -> list[k8s.core.v1.EnvVarArgs]:
        env = [k8s.core.v1.EnvVarArgs(name=HF_HOME_ENV, value=self.mount_path)]
        if self.offline:
            env.append(k8s.core.v1.EnvVarArgs(name=HF_HUB_OFFLINE_ENV, value="1"))
        return env


class ModelCache(pulumi.ComponentResource):
    """Owns the cache volumes, claims and prefetch Jobs; hands pools a CacheMount."""

    def __init__(
        self,
        name: str,
        spec: ModelCacheConfig,
        namespace: pulumi.Input[str],
        pools: dict[str, PoolConfig],
        release: ReleaseConfig,
        hf_token: SecretRef | None,
        security: PodSecurity,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-serving:storage:ModelCache", name, None, opts)
        self.spec = spec
        self.security = security
        self._prefetch_workloads: list[Workload] = []
        self._name = name
        self._namespace = namespace
        self._release = release
        self._volume_opts = pulumi.ResourceOptions(parent=self, retain_on_delete=spec.retain_on_destroy)
        self._mounts: dict[str, CacheMount] = {}

        if spec.mode == "hostPath":
            claim = self._host_path_claim()
            claims = {pool: (SHARED_CLAIM_NAME, claim) for pool in pools}
        elif spec.mode == "longhorn":
            claim = self._longhorn_claim()
            claims = {pool: (SHARED_CLAIM_NAME, claim) for pool in pools}
        else:
            claims = {pool: self._pool_claim(pool) for pool in pools}

        prefetched: dict[tuple[str, ...], k8s.batch.v1.Job] = {}
        hub_image = release.images.prefetch or release.images.vllm
        for pool_name, pool in pools.items():
            claim_name, claim = claims[pool_name]
            ready: list[pulumi.Resource] = [claim]
            download = download_for(
                pool,
                spec.mount_path,
                spec.prefetch.enabled,
                hub_image,
                release.model_revisions.get(pool.model),
            )
            if download is not None:
                key = (claim_name, *download.identity)
                if key not in prefetched:
                    prefetched[key] = self._download_job(
                        pool_name, "prefetch", [("download", download)], claim_name, claim, hf_token
                    )
                ready.append(prefetched[key])
            adapter_paths = self._adapter_paths(pool)
            if pool.lora is not None:
                # Containers by position: adapter names are served names, not DNS labels.
                downloads = [
                    (
                        f"adapter-{number}",
                        adapter_download(
                            adapter, adapter_paths[name], hub_image, self._adapter_revision(adapter)
                        ),
                    )
                    for number, (name, adapter) in enumerate(pool.lora.adapters.items(), start=1)
                ]
                ready.append(
                    self._download_job(pool_name, "adapters", downloads, claim_name, claim, hf_token)
                )
            self._mounts[pool_name] = CacheMount(
                claim_name,
                spec.mount_path,
                ready,
                model_path=model_path(pool, spec.mount_path),
                # Served from a directory, or from the hub cache the prefetch Job filled
                # before the pool may start: vLLM would still list the repository on
                # the hub at start and fail after ~105 s in a hub outage or air gap.
                offline=serves_offline(pool) or (download is not None and download.from_hub),
                adapter_paths=adapter_paths,
            )

        self.claim_names = sorted({mount.claim_name for mount in self._mounts.values()})
        self.register_outputs({"mode": spec.mode, "claims": self.claim_names})

    def _adapter_revision(self, adapter: LoraAdapter) -> str | None:
        return self._release.model_revisions.get(adapter.hub) if adapter.hub else None

    def _adapter_paths(self, pool: PoolConfig) -> dict[str, str]:
        """Where each LoRA adapter of a pool lands on the cache, by name."""
        if pool.lora is None:
            return {}
        return {
            name: adapter_path(adapter, self.spec.mount_path, self._adapter_revision(adapter))
            for name, adapter in pool.lora.adapters.items()
        }

    def mount_for(self, pool_name: str) -> CacheMount:
        return self._mounts[pool_name]

    def traffic(self) -> list[Workload]:
        """Prefetch Jobs serve nothing; they only download."""
        return list(self._prefetch_workloads)

    def _claim(
        self,
        resource_name: str,
        claim_name: str,
        access_mode: str,
        storage_class_name: str | None,
        volume_name: pulumi.Input[str] | None = None,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> k8s.core.v1.PersistentVolumeClaim:
        return k8s.core.v1.PersistentVolumeClaim(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=claim_name,
                namespace=self._namespace,
                labels=workload_labels(self._name, "model-cache", name="model-cache"),
                # Pulumi would otherwise wait for binding, which a
                # WaitForFirstConsumer class only does once a pod exists.
                annotations={"pulumi.com/skipAwait": "true"},
            ),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=[access_mode],
                storage_class_name=storage_class_name,
                volume_name=volume_name,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": self.spec.size}),
            ),
            opts=pulumi.ResourceOptions.merge(
                self._volume_opts, pulumi.ResourceOptions(depends_on=depends_on or [])
            ),
        )

    def _host_path_claim(self) -> k8s.core.v1.PersistentVolumeClaim:
        host = self.spec.host_path
        node_affinity = None
        if host.node_name:
            node_affinity = k8s.core.v1.VolumeNodeAffinityArgs(
                required=node_label_in("kubernetes.io/hostname", [host.node_name])
            )
        # PersistentVolumes are cluster-scoped: the namespace keeps names unique.
        volume_name = pulumi.Output.concat(self._namespace, "-", SHARED_CLAIM_NAME)
        volume = k8s.core.v1.PersistentVolume(
            f"{self._name}-host-path",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=volume_name,
                labels=workload_labels(self._name, "model-cache", name="model-cache"),
            ),
            spec=k8s.core.v1.PersistentVolumeSpecArgs(
                capacity={"storage": self.spec.size},
                access_modes=["ReadWriteOnce"],
                persistent_volume_reclaim_policy="Retain",
                storage_class_name="",
                # kubelet would create a missing directory owned by root, where a
                # non-root pod cannot write: non-root pods need it prepared (docs/security.md).
                host_path=k8s.core.v1.HostPathVolumeSourceArgs(
                    path=host.path, type="DirectoryOrCreate" if self.security.as_root else "Directory"
                ),
                claim_ref=k8s.core.v1.ObjectReferenceArgs(namespace=self._namespace, name=SHARED_CLAIM_NAME),
                node_affinity=node_affinity,
            ),
            opts=self._volume_opts,
        )
        # storageClassName "" binds statically and keeps a default class out of it.
        return self._claim(
            f"{self._name}-claim",
            SHARED_CLAIM_NAME,
            "ReadWriteOnce",
            "",
            volume_name=volume.metadata.name,
            depends_on=[volume],
        )

    def _longhorn_claim(self) -> k8s.core.v1.PersistentVolumeClaim:
        longhorn = self.spec.longhorn
        after_install: list[pulumi.Resource] = []
        if longhorn.install:
            # Our StorageClass below is the one pools use; Longhorn's own default
            # class must not take over the cluster's default. Retained on destroy
            # with the volumes: uninstalling Longhorn deletes every volume it manages.
            release = helm_addon(
                f"{self._name}-longhorn",
                "longhorn",
                "longhorn",
                longhorn,
                self._release.chart_versions.longhorn,
                merge_values({"persistence": {"defaultClass": False}}, longhorn.values),
                self._volume_opts,
            )
            after_install.append(release)
        storage_class = k8s.storage.v1.StorageClass(
            f"{self._name}-storage-class",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=longhorn.storage_class_name),
            provisioner="driver.longhorn.io",
            allow_volume_expansion=True,
            reclaim_policy="Retain" if self.spec.retain_on_destroy else "Delete",
            volume_binding_mode="Immediate",
            parameters={
                "numberOfReplicas": str(longhorn.replica_count),
                "staleReplicaTimeout": "30",
                "fsType": "ext4",
            },
            opts=pulumi.ResourceOptions.merge(
                self._volume_opts, pulumi.ResourceOptions(depends_on=after_install)
            ),
        )
        return self._claim(
            f"{self._name}-claim",
            SHARED_CLAIM_NAME,
            "ReadWriteMany",
            storage_class.metadata.name,
            depends_on=[storage_class],
        )

    def _pool_claim(self, pool_name: str) -> tuple[str, k8s.core.v1.PersistentVolumeClaim]:
        claim_name = pool_claim_name(pool_name)
        pvc = self.spec.pvc
        claim = self._claim(
            f"{self._name}-{pool_name}-claim", claim_name, pvc.access_mode, pvc.storage_class_name
        )
        return claim_name, claim

    def _download_job(
        self,
        pool_name: str,
        purpose: str,
        downloads: list[tuple[str, Download]],
        claim_name: str,
        claim: pulumi.Resource,
        hf_token: SecretRef | None,
    ) -> k8s.batch.v1.Job:
        """One Job of `downloads` (container name, download) into the claim: all but
        the last run as init containers, one after another, the last as the Job's
        container. `purpose` is the Job's component label: prefetch or adapters."""
        prefetch = self.spec.prefetch
        from_hub = any(download.from_hub for _, download in downloads)
        # The hub's token (as a file) only for hub downloads; S3 keys from their Secret.
        files = hf_token_file(hf_token if from_hub else None) + self.security.model_server_scratch()
        mounts = [
            k8s.core.v1.VolumeMountArgs(name=VOLUME_NAME, mount_path=self.spec.mount_path),
            *files.mounts,
        ]
        containers = [
            self._download_container(name, download, files.env, mounts) for name, download in downloads
        ]
        job_name = prefetch_job_name(pool_name) if purpose == "prefetch" else adapters_job_name(pool_name)
        labels = workload_labels(pool_name, purpose, name="model-prefetch")
        selector = selector_labels(pool_name, purpose, name="model-prefetch")
        self._prefetch_workloads.append(Workload(f"{pool_name}-{purpose}", selector, (), MODEL_DOWNLOAD))
        return k8s.batch.v1.Job(
            f"{self._name}-{pool_name}-{purpose}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=job_name, namespace=self._namespace, labels=labels),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=prefetch.backoff_limit,
                active_deadline_seconds=prefetch.active_deadline_seconds,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        restart_policy="OnFailure",
                        security_context=self.security.pod_context,
                        automount_service_account_token=False,
                        init_containers=containers[:-1] or None,
                        containers=containers[-1:],
                        volumes=[CacheMount(claim_name, self.spec.mount_path).volume(), *files.volumes],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[claim],
                custom_timeouts=pulumi.CustomTimeouts(
                    create=f"{prefetch.active_deadline_seconds}s",
                    update=f"{prefetch.active_deadline_seconds}s",
                ),
            ),
        )

    def _download_container(
        self,
        name: str,
        download: Download,
        file_env: list[k8s.core.v1.EnvVarArgs],
        mounts: list[k8s.core.v1.VolumeMountArgs],
    ) -> k8s.core.v1.ContainerArgs:
        env = [k8s.core.v1.EnvVarArgs(name=HF_HOME_ENV, value=self.spec.mount_path), *file_env]
        if download.secret_name is not None:
            env += [
                SecretRef(download.secret_name, key).env(variable)
                for variable, key in download.secret_env.items()
            ]
        return k8s.core.v1.ContainerArgs(
            name=name,
            image=download.image,
            # Both `hf download` and `rclone copy` skip what is already there: a re-run
            # resumes a partial download.
            command=download.command,
            env=env,
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests=PREFETCH_REQUESTS, limits=PREFETCH_LIMITS
            ),
            security_context=self.security.container_context,
            volume_mounts=mounts,
        )
