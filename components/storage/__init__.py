"""Where model weights live: ModelCache (hostPath, Longhorn or per-pool claims, the
prefetch Job) and the model sources (hub, S3, a path in the cache).
"""

from components.storage.model_cache import PREFETCH_LIMITS, PREFETCH_REQUESTS, CacheMount, ModelCache

__all__ = ["CacheMount", "ModelCache", "PREFETCH_LIMITS", "PREFETCH_REQUESTS"]
