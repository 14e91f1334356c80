"""Stand-in LoRA adapter: a generated PEFT adapter for a stand-in model, in the directory
a pool's adapters Job would have downloaded it to.

What this is. For a pool's hub adapter (`pools.<name>.lora.adapters.<key>.hub`) this
writes a PEFT LoRA adapter that fits the stand-in weights scripts/standin_weights.py
generates for the base model (same hidden size, heads and layers), into the directory
`hf download <adapter> --local-dir <dir>` fills (components/storage/model_source.py
`adapter_path`: `<cache>/lora/<repository>/<revision>`):

    <dir>/adapter_config.json         peft_type LORA, r, lora_alpha, target_modules,
                                      base_model_name_or_path
    <dir>/adapter_model.safetensors   lora_A (r x in) and lora_B (out x r) of every
                                      attention and MLP projection of every layer
    <dir>/STANDIN.md                  says these are generated, not the real adapter

Weights are random (lora_B too, unlike a freshly initialised PEFT adapter, so the
adapter changes what the model computes and a test can tell it was applied), seeded
from the adapter id, its revision and the tensor name: deterministic, and idempotent
(identical files are not rewritten). A directory without STANDIN.md (a real adapter)
is never touched.

Why. The real node (scripts/real_node.py) has no hub access; with this, vLLM's CPU
build loads the adapter by the rendered `--lora-modules` and answers requests for it.
Run it with the vLLM virtualenv's python (torch, safetensors, tokenizers):

    python scripts/standin_adapter.py --dir DIR --adapter ID [--adapter-revision REV]
        --rank R --model BASE --revision BASE_REV [--owner UID:GID]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from standin_weights import (
    INIT_STD,
    MARKER,
    MODELS,
    Tensor,
    _makedirs,
    _seed,
    _write_atomic,
    family_for,
    generate,
    parse_owner,
)

GENERATOR = "scripts/standin_adapter.py"
GENERATOR_VERSION = 1
# Families whose layers carry these projections (Llama's names, vLLM's packed
# qkv_proj and gate_up_proj are made of them).
DENSE_FAMILIES = ("llama",)
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")


def projection_shapes(c: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """(output, input) of each projection of one decoder layer."""
    h, inter, head_dim = c["hidden_size"], c["intermediate_size"], c["head_dim"]
    q, kv = c["num_attention_heads"] * head_dim, c["num_key_value_heads"] * head_dim
    return {
        "q_proj": (q, h),
        "k_proj": (kv, h),
        "v_proj": (kv, h),
        "o_proj": (h, q),
        "gate_proj": (inter, h),
        "up_proj": (inter, h),
        "down_proj": (h, inter),
    }


def adapter_tensors(c: dict[str, Any], rank: int) -> list[Tensor]:
    """PEFT's names: base_model.model.<module>.lora_A.weight (r x in), lora_B (out x r)."""
    shapes = projection_shapes(c)
    out = []
    for i in range(c["num_hidden_layers"]):
        for name in (*ATTENTION, *MLP):
            block = "self_attn" if name in ATTENTION else "mlp"
            module = f"base_model.model.model.layers.{i}.{block}.{name}"
            n_out, n_in = shapes[name]
            out += [
                Tensor(f"{module}.lora_A.weight", (rank, n_in)),
                Tensor(f"{module}.lora_B.weight", (n_out, rank)),
            ]
    return out


def adapter_weights(adapter: str, revision: str, c: dict[str, Any], rank: int) -> bytes:
    import torch
    from safetensors.torch import save

    tensors = {}
    for t in adapter_tensors(c, rank):
        gen = torch.Generator().manual_seed(_seed(adapter, revision, t.name))
        # The model's dtype: vLLM casts adapters to it anyway (LoRAConfig.lora_dtype auto).
        tensors[t.name] = (torch.randn(t.shape, generator=gen) * INIT_STD).to(torch.bfloat16).contiguous()
    return save(tensors, metadata={"format": "pt"})


def generate_adapter(
    adapter: str, revision: str, rank: int, model: str, model_revision: str
) -> dict[str, bytes]:
    """Every file of the stand-in adapter directory, by name."""
    family = family_for(model, None)
    if family not in DENSE_FAMILIES:
        raise SystemExit(
            f"stand-in adapters exist for the {', '.join(DENSE_FAMILIES)} families, not {family}"
        )
    config = json.loads(generate(model, model_revision, family)["config.json"])
    adapter_config = {
        "base_model_name_or_path": model,
        "bias": "none",
        "fan_in_fan_out": False,
        "lora_alpha": 2 * rank,
        "lora_dropout": 0.0,
        "modules_to_save": None,
        "peft_type": "LORA",
        "r": rank,
        "target_modules": [*ATTENTION, *MLP],
        "task_type": "CAUSAL_LM",
        "use_dora": False,
        "use_rslora": False,
    }
    files = {
        "adapter_config.json": (json.dumps(adapter_config, indent=2, sort_keys=True) + "\n").encode(),
        "adapter_model.safetensors": adapter_weights(adapter, revision, config, rank),
    }
    files[MARKER] = f"""# Stand-in LoRA adapter: NOT the real adapter

Adapter:   {adapter}
Revision:  {revision}
Base:      {model}@{model_revision} (its stand-in weights, {config["num_hidden_layers"]} layers)
Generator: {GENERATOR} (version {GENERATOR_VERSION})

Rank {rank}, random lora_A and lora_B for {", ".join((*ATTENTION, *MLP))} of every
layer: it fits the stand-in model only, and its answers are noise. To get the real
adapter, delete this directory and run `hf download {adapter} --local-dir <this directory>`.
""".encode()
    return files


class Refused(Exception):
    """The directory holds something this script must not overwrite."""


def install(directory: Path, files: dict[str, bytes]) -> tuple[list[str], list[Path]]:
    """Write the files unless identical; remove others of an earlier stand-in. Returns
    the changes made and the directories created."""
    if directory.is_dir() and any(directory.iterdir()) and not (directory / MARKER).exists():
        raise Refused(f"{directory} has no {MARKER}: it is not a stand-in (a real adapter?); not touching it")
    created: list[Path] = []
    _makedirs(directory, created)
    changes = []
    for name, data in sorted(files.items()):
        path = directory / name
        if not path.is_file() or path.read_bytes() != data:
            _write_atomic(path, data)
            changes.append(name)
    for path in directory.iterdir():
        if path.name not in files and path.is_file():
            path.unlink()
            changes.append(f"removed {path.name}")
    return changes, created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="the adapter's directory in the cache")
    parser.add_argument("--adapter", required=True, help="the adapter's hub id")
    parser.add_argument("--adapter-revision", default="main", help="its pinned commit (default: main)")
    parser.add_argument("--rank", type=int, required=True, help="r of the adapter")
    parser.add_argument("--model", required=True, help="the base model's hub id")
    parser.add_argument("--revision", required=True, help="the base model's pinned commit")
    parser.add_argument("--owner", type=parse_owner, help="UID:GID to chown what is written to")
    args = parser.parse_args(argv)
    if args.model not in MODELS:
        parser.error(f"no stand-in weights for {args.model!r} (scripts/standin_weights.py --list)")
    files = generate_adapter(args.adapter, args.adapter_revision, args.rank, args.model, args.revision)
    try:
        changes, created = install(args.dir, files)
    except Refused as error:
        print(f"standin_adapter: refused: {error}", file=sys.stderr)
        return 1
    if args.owner:
        for path in (*created, args.dir, *args.dir.iterdir()):
            os.lchown(path, *args.owner)
    print(f"{'wrote' if changes else 'unchanged:'} stand-in adapter {args.adapter} in {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
