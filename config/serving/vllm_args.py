"""`vllm serve` arguments, rendered once from a validated pool config.

The `vllm/vllm-openai` image's entrypoint is `vllm serve`; its first positional
argument is the model (../shared/notes/vllm.md, section 1). Every flag we render from
a typed key is listed in `TYPED_FLAGS`, so `extraArgs` cannot set it a second time.
"""

from __future__ import annotations

import json

from config.escape_hatches import FlagParser, InputProblem, check_arguments
from config.serving.lora import render_lora_args
from config.serving.sections import KvTransferConfig, PoolConfig

# Flag -> the typed config key (under pools.<name>) that owns it.
TYPED_FLAGS: dict[str, str] = {
    "--model": "model",
    "--served-model-name": "servedModelName",
    "--revision": "llm-serving:release.modelRevisions",
    "--tokenizer-revision": "llm-serving:release.modelRevisions",
    "--port": "service.port",
    "--host": "(always all interfaces)",
    "--tensor-parallel-size": "tensorParallelSize",
    "-tp": "tensorParallelSize",
    "--pipeline-parallel-size": "pipelineParallelSize",
    "-pp": "pipelineParallelSize",
    "--max-model-len": "maxModelLen",
    "--max-num-seqs": "maxNumSeqs",
    "--max-num-batched-tokens": "maxNumBatchedTokens",
    "--gpu-memory-utilization": "gpuMemoryUtilization",
    "--dtype": "dtype",
    "--quantization": "quantization",
    "-q": "quantization",
    "--kv-cache-dtype": "kvCacheDtype",
    "--enable-prefix-caching": "enablePrefixCaching",
    "--no-enable-prefix-caching": "enablePrefixCaching",
    "--block-size": "blockSize",
    "--api-key": "llm-serving:auth (the key comes from a Secret as VLLM_API_KEY)",
    "--hf-token": "llm-serving:hfToken (a secret; pods read it as HF_TOKEN)",
    "--download-dir": "llm-serving:modelCache",
    "--kv-transfer-config": "pdStacks.<name>.kvTransfer (rendered for prefill/decode roles)",
    "--kv-offloading-size": "kvOffload.sizeGib",
    "--kv-offloading-backend": "kvOffload.backend",
    "--enable-lora": "lora",
    "--max-loras": "lora.maxLoras",
    "--max-lora-rank": "lora.maxLoraRank",
    "--max-cpu-loras": "lora.maxCpuLoras",
    "--lora-modules": "lora.adapters",
}


def normalize_vllm_flag(flag: str) -> str:
    """A flag as vLLM's FlexibleArgumentParser reads it: `_` becomes `-` in the flag
    name, and `--json-flag.key` sets one key of a JSON-valued flag, so it is that flag
    (vllm/utils/argparse_utils.py, v0.19)."""
    if not flag.startswith("--"):
        return flag
    return flag.split(".", 1)[0].replace("_", "-")


def flag_name(argument: str) -> str:
    """The flag an extraArgs item sets, as vLLM reads it: '--max_model_len=4096' ->
    '--max-model-len'."""
    return normalize_vllm_flag(argument.split("=", 1)[0])


VLLM_PARSER = FlagParser(program="vLLM", owned=TYPED_FLAGS, normalize=normalize_vllm_flag)


def extra_args_problems(extra_args: list[str]) -> list[InputProblem]:
    """Problems of a pool's extraArgs (see escape_hatches.py)."""
    return check_arguments(extra_args, VLLM_PARSER)


def render_vllm_args(
    pool: PoolConfig,
    max_model_len: int,
    model_path: str | None = None,
    revision: str | None = None,
    adapter_paths: dict[str, str] | None = None,
) -> list[str]:
    """The container args for one pool's vLLM server (the model comes first).

    `max_model_len` is the resolved value (the pool's, or the model's maximum) so
    that what sizing checked is exactly what vLLM is told. `model_path` is what vLLM
    loads when it is not the hub id (a directory on the cache: S3 or cachePath
    sources); clients still see `servedModelName` (default: `model`). `revision` is the
    model's pinned commit (release.modelRevisions) for hub sources; the tokenizer is
    read from the same commit unless extraArgs name another tokenizer. `adapter_paths`
    are the cache directories of the pool's LoRA adapters, by name (ModelCache).
    """
    args = [
        model_path or pool.model,
        "--served-model-name",
        pool.served_name,
        "--port",
        str(pool.service.port),
        "--tensor-parallel-size",
        str(pool.tensor_parallel_size),
        "--pipeline-parallel-size",
        str(pool.pipeline_parallel_size),
        "--max-model-len",
        str(max_model_len),
        "--gpu-memory-utilization",
        str(pool.gpu_memory_utilization),
        "--dtype",
        pool.dtype,
        "--kv-cache-dtype",
        pool.kv_cache_dtype,
        "--enable-prefix-caching" if pool.enable_prefix_caching else "--no-enable-prefix-caching",
    ]
    own_tokenizer = not any(flag_name(arg) == "--tokenizer" for arg in pool.extra_args)
    optional = {
        "--revision": revision,
        "--tokenizer-revision": revision if own_tokenizer else None,
        "--max-num-seqs": pool.max_num_seqs,
        "--max-num-batched-tokens": pool.max_num_batched_tokens,
        "--quantization": pool.quantization,
        "--block-size": pool.block_size,
    }
    for flag, value in optional.items():
        if value is not None:
            args += [flag, str(value)]
    if pool.speculative is not None:
        args += ["--speculative-config", json.dumps(pool.speculative.as_vllm_config(), separators=(",", ":"))]
    if pool.kv_offload is not None:
        args += [
            "--kv-offloading-size",
            f"{pool.kv_offload.size_gib:g}",
            "--kv-offloading-backend",
            pool.kv_offload.backend,
        ]
    if pool.lora is not None:
        args += render_lora_args(pool.lora, pool.served_name, adapter_paths or {})
    return args + list(pool.extra_args)


def render_kv_transfer_args(kv_transfer: KvTransferConfig) -> list[str]:
    """`--kv-transfer-config` for a P/D role. NixlConnector ignores kv_role (the router
    decides who prefills), so both roles are kv_both, as upstream's examples are."""
    config = {"kv_connector": kv_transfer.connector, "kv_role": "kv_both"}
    return ["--kv-transfer-config", json.dumps(config, separators=(",", ":"))]
