"""The stand-in LoRA adapter (scripts/standin_adapter.py): PEFT's tensor names and
shapes for the stand-in model's layers, and a real adapter left untouched. vLLM's CPU
build loads and serves it on the real node in tests/test_real_node_serving.py.
"""

from __future__ import annotations

import pytest

from standin_adapter import MARKER, Refused, adapter_tensors, install, projection_shapes

CONFIG = {
    "hidden_size": 128,
    "intermediate_size": 256,
    "head_dim": 64,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "num_hidden_layers": 2,
}


def test_every_projection_of_every_layer_gets_a_and_b_in_peft_layout() -> None:
    tensors = {t.name: t.shape for t in adapter_tensors(CONFIG, rank=8)}
    assert len(tensors) == 2 * 7 * 2
    layer = "base_model.model.model.layers.1"
    # lora_A is rank x input, lora_B output x rank (PEFT's nn.Linear weights).
    assert tensors[f"{layer}.self_attn.q_proj.lora_A.weight"] == (8, 128)
    assert tensors[f"{layer}.self_attn.k_proj.lora_B.weight"] == (64, 8)
    assert tensors[f"{layer}.self_attn.o_proj.lora_A.weight"] == (8, 128)
    assert tensors[f"{layer}.mlp.down_proj.lora_A.weight"] == (8, 256)
    assert tensors[f"{layer}.mlp.gate_proj.lora_B.weight"] == (256, 8)
    assert projection_shapes(CONFIG)["v_proj"] == (64, 128)


def test_a_directory_that_is_not_a_stand_in_is_never_touched(tmp_path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "adapter_config.json").write_text("{}")
    with pytest.raises(Refused, match="not a stand-in"):
        install(real, {"adapter_config.json": b"{}\n", MARKER: b"stand-in"})
    assert (real / "adapter_config.json").read_text() == "{}"


def test_installing_twice_changes_nothing_the_second_time(tmp_path) -> None:
    files = {"adapter_config.json": b"{}\n", MARKER: b"stand-in"}
    directory = tmp_path / "lora" / "org" / "name" / "main"
    changes, created = install(directory, files)
    assert sorted(changes) == [MARKER, "adapter_config.json"] and directory in created
    assert install(directory, files) == ([], [])
