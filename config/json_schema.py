"""The JSON Schema of a stack file (Pulumi.<stack>.yaml), generated from the pydantic models.

Editors validate and complete stack files with it: each stack file names it in a
`# yaml-language-server: $schema=...` comment (the YAML language server of VS Code,
Neovim, Helix and JetBrains reads it). It describes structure, types, enums, bounds
and defaults; checks that span keys (capacity, placement) still run at preview.

`make schema` writes schema/stack.schema.json; tests/test_stack_schema.py keeps it in
sync. Usage: python -m config.json_schema [OUT] (default: stdout).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from config.errors import NAMESPACE
from config.loader import HF_TOKEN_KEY
from config.stack import StackConfig

SCHEMA_PATH = Path("schema") / "stack.schema.json"
SCHEMA_ID = "https://github.com/llm-serving/llm-serving/schema/stack.schema.json"
# What Pulumi writes into a stack file besides `config` (secrets provider state).
ENGINE_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt")
# A Pulumi secret as a stack file stores it (`pulumi config set --secret`).
SECURE_VALUE = {
    "type": "object",
    "properties": {"secure": {"type": "string", "description": "Ciphertext written by Pulumi."}},
    "required": ["secure"],
    "additionalProperties": False,
}


def stack_file_schema() -> dict:
    """The schema of a whole stack file: `config:` with one `llm-serving:<key>` per
    StackConfig field, the secret `hfToken`, and other providers' namespaces left open."""
    model = StackConfig.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    definitions = model.pop("$defs", {})
    keys = {f"{NAMESPACE}:{name}": schema for name, schema in model["properties"].items()}
    keys[f"{NAMESPACE}:{HF_TOKEN_KEY}"] = {
        **SECURE_VALUE,
        "description": "The Hugging Face token, only as a Pulumi secret: "
        "`pulumi config set --secret hfToken <token>`.",
    }
    config = {
        "type": "object",
        "description": model.get("description", ""),
        "properties": keys,
        # Unknown llm-serving keys are errors (a typo never passes); keys of other
        # namespaces (e.g. `kubernetes:`) belong to their providers.
        "propertyNames": {"anyOf": [{"enum": sorted(keys)}, {"not": {"pattern": f"^{NAMESPACE}:"}}]},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "llm-serving stack file (Pulumi.<stack>.yaml)",
        "description": "Generated from the config sections (config/stack.py) by `make schema`; do not edit.",
        "type": "object",
        "properties": {
            "config": config,
            **{key: {"type": "string"} for key in ENGINE_KEYS},
        },
        "additionalProperties": False,
        "$defs": definitions,
    }


def render() -> str:
    return json.dumps(stack_file_schema(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    text = render()
    if len(sys.argv) > 1:
        out = Path(sys.argv[1])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
