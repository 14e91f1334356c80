"""What each GPU can run: dtypes, quantization kernels and KV-cache dtypes, by compute
capability.

A pool may land on any of its accepted GPUs, so every rule holds for every one of
them, not only the smallest. Figures are vLLM's (v0.19): each quantization method's
`get_min_capability()` and `get_supported_act_dtypes()`, bfloat16 from Ampere (8.0)
on, FP8 (weights and KV cache) on Ada and Hopper (8.9+), where vLLM has FP8 kernels
rather than a weight-only fallback. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

BFLOAT16_MIN_CAPABILITY = 8.0
FP8_MIN_CAPABILITY = 8.9

# Quantization method -> the least compute capability vLLM runs it on.
QUANTIZATION_MIN_CAPABILITY = {
    "awq": 7.5,
    "awq_marlin": 8.0,
    "gptq": 6.0,
    "gptq_marlin": 8.0,
    "fp8": FP8_MIN_CAPABILITY,
    "compressed-tensors": 7.0,
}
# Methods whose kernels take float16 activations only (AWQ and GPTQ without Marlin).
FLOAT16_ONLY_QUANTIZATION = frozenset({"awq", "gptq"})
FP8_KV_CACHE_DTYPES = frozenset({"fp8", "fp8_e4m3", "fp8_e5m2"})


@dataclass(frozen=True)
class Unsupported:
    """One setting a GPU cannot run: the pool key, its value, why, and the fix."""

    key: str
    value: str
    reason: str
    fix: str


def unsupported_settings(
    product: str,
    capability: float,
    dtype: str,
    quantization: str | None,
    kv_cache_dtype: str,
) -> list[Unsupported]:
    """Settings of one pool (dtype resolved from 'auto') that `product` cannot run."""
    found = []
    gpu = f"{product} (compute capability {capability})"
    if dtype == "bfloat16" and capability < BFLOAT16_MIN_CAPABILITY:
        found.append(
            Unsupported(
                "dtype",
                dtype,
                f"{gpu} has no bfloat16 support",
                "use dtype float16, or accept only GPUs of compute capability 8.0 or newer",
            )
        )
    if quantization is not None:
        needed = QUANTIZATION_MIN_CAPABILITY.get(quantization, 0.0)
        if capability < needed:
            found.append(
                Unsupported(
                    "quantization",
                    quantization,
                    f"{gpu} cannot run {quantization} kernels (vLLM needs compute capability {needed})",
                    f"accept only GPUs of compute capability {needed} or newer, or use another quantization",
                )
            )
        if quantization in FLOAT16_ONLY_QUANTIZATION and dtype == "bfloat16":
            found.append(
                Unsupported(
                    "dtype",
                    dtype,
                    f"{quantization} kernels take float16 activations only (vLLM refuses bfloat16)",
                    f"use dtype float16, or quantization {quantization}_marlin on compute capability 8.0+",
                )
            )
    if kv_cache_dtype in FP8_KV_CACHE_DTYPES and capability < FP8_MIN_CAPABILITY:
        found.append(
            Unsupported(
                "kvCacheDtype",
                kv_cache_dtype,
                f"{gpu} has no FP8 support for the KV cache (needs compute capability {FP8_MIN_CAPABILITY})",
                "use kvCacheDtype auto, or accept only Ada or Hopper GPUs",
            )
        )
    if kv_cache_dtype == "bfloat16" and capability < BFLOAT16_MIN_CAPABILITY:
        found.append(
            Unsupported(
                "kvCacheDtype",
                kv_cache_dtype,
                f"{gpu} has no bfloat16 support",
                "use kvCacheDtype auto",
            )
        )
    return found
