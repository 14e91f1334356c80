"""The `vllm serve` arguments rendered from a pool."""

from __future__ import annotations

from config.serving.sections import PoolConfig
from config.serving.vllm_args import TYPED_FLAGS, extra_args_problems, render_vllm_args


def pool(**overrides) -> PoolConfig:
    return PoolConfig.model_validate({"model": "meta-llama/Llama-3.1-8B-Instruct", **overrides})


REVISION = "0e9e39f249a16976918f6564b8830bc894c89659"


def flag_value(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_model_comes_first_without_a_serve_subcommand():
    args = render_vllm_args(pool(), 8192)
    assert args[0] == "meta-llama/Llama-3.1-8B-Instruct"
    assert "serve" not in args


def test_typed_keys_become_flags():
    args = render_vllm_args(
        pool(
            servedModelName="llama",
            tensorParallelSize=2,
            gpuMemoryUtilization=0.95,
            dtype="bfloat16",
            kvCacheDtype="fp8",
            maxNumSeqs=128,
            maxNumBatchedTokens=4096,
            blockSize=32,
            quantization="fp8",
        ),
        16384,
        revision=REVISION,
    )
    expected = {
        "--served-model-name": "llama",
        "--tensor-parallel-size": "2",
        "--pipeline-parallel-size": "1",
        "--max-model-len": "16384",
        "--gpu-memory-utilization": "0.95",
        "--dtype": "bfloat16",
        "--kv-cache-dtype": "fp8",
        "--max-num-seqs": "128",
        "--max-num-batched-tokens": "4096",
        "--block-size": "32",
        "--quantization": "fp8",
        "--revision": REVISION,
        "--tokenizer-revision": REVISION,
        "--port": "8000",
    }
    for flag, value in expected.items():
        assert flag_value(args, flag) == value, flag


def test_unset_optional_flags_are_left_to_vllm():
    args = render_vllm_args(pool(), 8192)
    for flag in (
        "--max-num-seqs",
        "--max-num-batched-tokens",
        "--quantization",
        "--block-size",
        "--revision",
        "--tokenizer-revision",
    ):
        assert flag not in args


def test_a_tokenizer_from_elsewhere_keeps_its_own_revision():
    args = render_vllm_args(pool(extraArgs=["--tokenizer", "org/other-tokenizer"]), 8192, revision=REVISION)
    assert flag_value(args, "--revision") == REVISION
    assert "--tokenizer-revision" not in args


def test_prefix_caching_is_always_explicit():
    assert "--enable-prefix-caching" in render_vllm_args(pool(), 8192)
    off = render_vllm_args(pool(enablePrefixCaching=False), 8192)
    assert "--no-enable-prefix-caching" in off and "--enable-prefix-caching" not in off


def test_served_name_defaults_to_the_model_id():
    assert (
        flag_value(render_vllm_args(pool(), 8192), "--served-model-name")
        == "meta-llama/Llama-3.1-8B-Instruct"
    )


def test_extra_args_are_appended_verbatim():
    args = render_vllm_args(pool(extraArgs=["--enable-chunked-prefill", "--max-logprobs", "4"]), 8192)
    assert args[-3:] == ["--enable-chunked-prefill", "--max-logprobs", "4"]


def test_conflicts_are_found_with_or_without_equals():
    problems = extra_args_problems(["--dtype=half", "-tp", "2", "--enforce-eager"])
    assert [(p.where, p.fix) for p in problems] == [
        ("[0]", "remove it from extraArgs and use dtype"),
        ("[1]", "remove it from extraArgs and use tensorParallelSize"),
    ]


def test_every_rendered_flag_is_owned_by_a_typed_key():
    args = render_vllm_args(
        pool(maxNumSeqs=1, maxNumBatchedTokens=64, quantization="fp8", blockSize=16), 64, REVISION
    )
    rendered = {a for a in args[1:] if a.startswith("-")}
    assert rendered <= set(TYPED_FLAGS)
