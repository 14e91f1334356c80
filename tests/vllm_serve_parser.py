"""Parse `vllm serve` argument lists with vLLM's own parser; run by the vLLM virtualenv.

Run as `<vllm venv>/bin/python tests/vllm_serve_parser.py` (tests/test_vllm_parser.py
does, `make vllm-venv` makes the venv). Reads a JSON list of argument lists on stdin
and writes one JSON result per list to stdout: `{"ok": true, "values": {...}}` or
`{"ok": false, "error": "..."}`.

The parser is the one `vllm serve` builds (vllm/entrypoints/cli/serve.py:
`make_arg_parser(FlexibleArgumentParser(...))`), then `validate_parsed_serve_args` and
the positional model taking precedence (serve.py:45-46), as vLLM 0.19.1 does. Beyond
argparse, the configs vLLM builds from JSON-valued flags without the model at hand are
built too: `SpeculativeConfig(**speculative_config)` for n-gram lookup (argparse only
`json.loads` it, so a misspelled key would otherwise pass), and `LoRAConfig` from the LoRA
limits (vllm/config/lora.py: the rank's allowed values, max_cpu_loras >= max_loras).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

from vllm.entrypoints.openai.cli_args import make_arg_parser, validate_parsed_serve_args
from vllm.utils.argparse_utils import FlexibleArgumentParser

# What the tests compare with the config they rendered the arguments from.
REPORTED = (
    "model",
    "served_model_name",
    "port",
    "tensor_parallel_size",
    "pipeline_parallel_size",
    "max_model_len",
    "gpu_memory_utilization",
    "dtype",
    "kv_cache_dtype",
    "enable_prefix_caching",
    "max_num_seqs",
    "max_num_batched_tokens",
    "quantization",
    "block_size",
    "revision",
    "kv_offloading_size",
    "kv_offloading_backend",
    "speculative_config",
    "kv_transfer_config",
    "enable_lora",
    "max_loras",
    "max_lora_rank",
    "max_cpu_loras",
)


def parse(argv: list[str]) -> dict:
    parser = make_arg_parser(FlexibleArgumentParser(prog="vllm serve"))
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            namespace = parser.parse_args(argv)
        validate_parsed_serve_args(namespace)
    except SystemExit:
        lines = [line for line in errors.getvalue().splitlines() if line.strip()]
        return {"ok": False, "error": lines[-1] if lines else "the parser exited"}
    except Exception as error:  # noqa: BLE001 (any refusal of vLLM's is the answer)
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}
    if namespace.model_tag is not None:
        namespace.model = namespace.model_tag
    speculative = namespace.speculative_config
    if isinstance(speculative, dict) and speculative.get("method") == "ngram":
        from vllm.config import SpeculativeConfig

        try:
            SpeculativeConfig(**speculative)
        except Exception as error:  # noqa: BLE001
            return {"ok": False, "error": f"SpeculativeConfig: {error}"}
    if namespace.enable_lora:
        from vllm.config import LoRAConfig

        try:
            LoRAConfig(
                max_lora_rank=namespace.max_lora_rank,
                max_loras=namespace.max_loras,
                max_cpu_loras=namespace.max_cpu_loras,
            )
        except Exception as error:  # noqa: BLE001
            return {"ok": False, "error": f"LoRAConfig: {error}"}
    values = {}
    # LoRAModulePath dataclasses (vllm/entrypoints/openai/models/protocol.py), as dicts.
    values["lora_modules"] = [vars(module) for module in namespace.lora_modules or []]
    for name in REPORTED:
        value = getattr(namespace, name, None)
        values[name] = (
            value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else str(value)
        )
    return {"ok": True, "values": values}


def main() -> None:
    argument_lists = json.load(sys.stdin)
    results = []
    # vLLM logs to stdout at import and parse; keep our JSON the only thing there.
    with contextlib.redirect_stdout(sys.stderr):
        for argv in argument_lists:
            results.append(parse(argv))
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
