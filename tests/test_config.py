"""Stack config parsing and cross-key validation: every bad config names key, value and fix."""

from __future__ import annotations

import copy
from fractions import Fraction
from pathlib import Path
from typing import Literal, get_args

import pytest

from config import cli_scalars, credentials, kube_types, loader
from config.errors import ConfigError
from config.loader import parse_stack_config
from config.release import VLLM_IMAGE
from config.schema_paths import all_key_paths, is_model, unwrap
from config.stack import StackConfig

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"


def config(**pool_overrides) -> dict:
    """A minimal valid config with one pool; keyword arguments override pool keys."""
    return {"gpu": {"products": ["NVIDIA-L40"]}, "pools": {"chat": {"model": LLAMA_8B, **pool_overrides}}}


def parse(values: dict, has_hf_token: bool = True):
    return parse_stack_config(values, has_hf_token=has_hf_token)


def error_of(values: dict, has_hf_token: bool = True) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(values, has_hf_token)
    return caught.value.message


def test_minimal_config_takes_documented_defaults():
    stack, report = parse(config(maxModelLen=8192))
    pool = stack.pools["chat"]
    assert stack.namespace == "llm-serving"
    assert stack.auth.enabled
    assert stack.image_for("chat") == VLLM_IMAGE
    assert pool.replicas == 1 and pool.gpu_memory_utilization == 0.9
    assert pool.rollout.max_surge == 0
    assert pool.probes.startup_timeout_seconds is None  # derived from the model (startup_budget)
    assert report.pools["chat"].max_model_len == 8192


def test_max_model_len_defaults_to_the_models_context():
    _, report = parse(config())
    assert report.pools["chat"].max_model_len == 131072


def test_misspelled_top_level_key_is_named_with_a_suggestion():
    message = error_of({**config(), "namespce": "x"})
    assert "llm-serving:namespce: unknown key" in message and '"x"' not in message
    assert "did you mean 'namespace'" in message


def test_misspelled_pool_key_is_named_with_its_path():
    message = error_of(config(tensorParalelSize=2))
    assert "llm-serving:pools.chat.tensorParalelSize: unknown key" in message
    assert "did you mean 'tensorParallelSize'" in message


def test_misspelled_nested_section_key_lists_the_accepted_keys_when_nothing_is_close():
    values = config()
    values["modelCache"] = {"zzz": 1}
    message = error_of(values)
    assert "llm-serving:modelCache.zzz: unknown key" in message
    assert "hostPath" in message and "longhorn" in message


def test_closed_vocabulary_lists_the_choices():
    values = config()
    values["modelCache"] = {"mode": "nfs"}
    message = error_of(values)
    assert 'llm-serving:modelCache.mode = "nfs"' in message
    assert "'hostPath', 'longhorn' or 'pvc'" in message


def test_wrong_type_names_key_and_value():
    message = error_of(config(replicas="many"))
    assert 'llm-serving:pools.chat.replicas = "many"' in message


def test_every_problem_is_reported_at_once():
    message = error_of({**config(replicas=-1), "namespace": "Bad_Name"})
    assert "2 problems" in message
    assert "llm-serving:namespace" in message and "llm-serving:pools.chat.replicas" in message


def test_pool_names_must_be_dns_labels():
    message = error_of({"pools": {"Chat_Pool": {"model": LLAMA_8B}}})
    assert "llm-serving:pools.Chat_Pool" in message and "DNS-1035" in message


def test_at_least_one_pool_is_required():
    assert "llm-serving:pools" in error_of({"gpu": {"products": ["NVIDIA-L40"]}, "pools": {}})


@pytest.mark.parametrize("image", ["vllm/vllm-openai", "vllm/vllm-openai:latest"])
def test_images_must_be_pinned(image):
    message = error_of({**config(), "release": {"images": {"pools": {"chat": image}}}})
    assert "llm-serving:release.images.pools.chat" in message and "pinned" in message


def test_digest_pinned_image_is_accepted():
    digest = "vllm/vllm-openai@sha256:" + "a" * 64
    stack, _ = parse({**config(), "release": {"images": {"pools": {"chat": digest}}}})
    assert stack.image_for("chat") == digest


def test_llama_70b_on_one_l40_fails_suggesting_tp_and_quantization():
    message = error_of(config(model="meta-llama/Llama-3.1-70B-Instruct"))
    assert "llm-serving:pools.chat.tensorParallelSize = 1" in message
    assert "does not fit" in message and "GiB" in message
    assert "tensorParallelSize: 8" in message
    assert "quantization: fp8" in message


def test_tensor_parallelism_must_divide_attention_heads():
    message = error_of(config(tensorParallelSize=3))
    assert "llm-serving:pools.chat.tensorParallelSize = 3" in message
    assert "32 attention heads" in message and "use one of 1, 2, 4, 8" in message


def test_context_that_does_not_fit_the_kv_cache_names_max_model_len():
    values = config()
    values["gpu"]["products"] = ["NVIDIA-L4"]
    message = error_of(values)
    assert "llm-serving:pools.chat.maxModelLen = 131072" in message
    assert "KV cache cannot hold one full sequence" in message
    assert "maxModelLen: " in message


def test_pods_fit_on_the_smallest_accepted_gpu():
    values = config()
    values["gpu"]["products"] = ["NVIDIA-H100-80GB-HBM3", "NVIDIA-L4"]
    assert "on NVIDIA-L4" in error_of(values)


def test_max_model_len_beyond_the_models_context_fails():
    message = error_of(config(model="facebook/opt-125m", maxModelLen=4096))
    assert "llm-serving:pools.chat.maxModelLen = 4096" in message and "at most 2048" in message


def test_unknown_model_lists_the_catalog():
    message = error_of(config(model="acme/unknown-7b"))
    assert 'llm-serving:pools.chat.model = "acme/unknown-7b": is not in the model catalog' in message
    assert "llm-serving:models" in message


def test_user_can_add_a_model_and_a_gpu():
    values = config(model="acme/tiny-1b", gpuProducts=["ACME-X1"])
    values["models"] = {
        "acme/tiny-1b": {
            "numLayers": 16,
            "hiddenSize": 2048,
            "intermediateSize": 8192,
            "numAttentionHeads": 16,
            "numKvHeads": 4,
            "headDim": 128,
            "vocabSize": 32000,
            "paramsBillion": 1.1,
            "maxContext": 8192,
        }
    }
    values["gpus"] = {"ACME-X1": {"memoryMib": 24576, "computeCapability": 8.9, "displayName": "X1"}}
    _, report = parse(values)
    assert report.pools["chat"].gpu_product == "ACME-X1"
    assert report.pools["chat"].max_model_len == 8192


def test_user_model_with_inconsistent_heads_is_rejected():
    values = config(model="acme/bad")
    values["models"] = {
        "acme/bad": {
            "numLayers": 2,
            "hiddenSize": 64,
            "intermediateSize": 64,
            "numAttentionHeads": 6,
            "numKvHeads": 4,
            "headDim": 16,
            "vocabSize": 100,
            "paramsBillion": 0.1,
            "maxContext": 512,
        }
    }
    assert "llm-serving:models.acme/bad" in error_of(values)


def test_unknown_gpu_product_is_named():
    message = error_of(config(gpuProducts=["NVIDIA-B300"]))
    assert "llm-serving:pools.chat.gpuProducts" in message and "NVIDIA-B300" in message


def test_a_pool_needs_accepted_gpu_products():
    message = error_of({"pools": {"chat": {"model": LLAMA_8B}}})
    assert "llm-serving:pools.chat.gpuProducts" in message and "llm-serving:gpu.products" in message


def test_a_node_selector_may_not_name_the_gpu_product():
    message = error_of(config(nodeSelector={"nvidia.com/gpu.product": "NVIDIA-L40"}))
    assert "llm-serving:pools.chat.nodeSelector" in message and "gpuProducts" in message


def test_a_node_selector_needs_label_syntax():
    message = error_of(config(nodeSelector={"kubernetes.io/hostname": "not a label value!"}))
    assert "llm-serving:pools.chat.nodeSelector" in message and "not a label value!" in message


def test_a_replica_beyond_one_node_must_be_whole_nodes():
    values = config(model="meta-llama/Llama-3.1-70B-Instruct", tensorParallelSize=4, pipelineParallelSize=3)
    message = error_of(values)
    assert "llm-serving:pools.chat.tensorParallelSize = 4" in message and "gpu.maxGpusPerNode" in message
    assert "not a whole number of nodes" in message


def test_awq_on_an_unquantized_checkpoint_fails_and_fp8_is_offered():
    message = error_of(config(quantization="awq"))
    assert 'llm-serving:pools.chat.quantization = "awq"' in message and "fp8" in message
    stack, _ = parse(config(quantization="fp8", maxModelLen=8192))
    assert stack.pools["chat"].quantization == "fp8"


def test_prequantized_checkpoint_rejects_a_different_method():
    message = error_of(config(model="TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ", quantization="gptq"))
    assert "pre-quantized awq checkpoint" in message


def test_awq_mixtral_fits_one_l40_at_16k_as_in_seed_002():
    _, report = parse(config(model="TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ", maxModelLen=16384))
    assert report.pools["chat"].max_concurrent_full_sequences >= 1


def test_bfloat16_on_a_gpu_without_it_fails():
    values = config(model="Qwen/Qwen2.5-0.5B-Instruct", dtype="bfloat16")
    values["gpu"]["products"] = ["Tesla-T4"]
    message = error_of(values)
    assert 'llm-serving:pools.chat.dtype = "bfloat16"' in message and "float16" in message


def test_extra_args_cannot_repeat_a_typed_flag():
    message = error_of(config(extraArgs=["--max-model-len=4096", "--enable-chunked-prefill"]))
    assert "llm-serving:pools.chat.extraArgs[0]: sets --max-model-len" in message
    assert "maxModelLen" in message and "4096" not in message
    assert "--enable-chunked-prefill" not in message


def test_gated_model_without_a_token_fails_at_preview():
    message = error_of(config(maxModelLen=8192), has_hf_token=False)
    assert "llm-serving:hfToken" in message and "pulumi config set --secret hfToken" in message


def test_existing_secret_replaces_the_token():
    values = {**config(maxModelLen=8192), "huggingFace": {"existingSecret": "team-hf-token"}}
    stack, _ = parse(values, has_hf_token=False)
    assert stack.hugging_face.existing_secret == "team-hf-token"


def test_ungated_model_needs_no_token():
    parse(config(model="Qwen/Qwen3-0.6B"), has_hf_token=False)


def test_autoscaling_bounds_are_checked():
    message = error_of(config(autoscaling={"mode": "keda", "minReplicas": 3, "maxReplicas": 2}))
    assert "llm-serving:pools.chat.autoscaling" in message and "maxReplicas" in message


def test_hpa_cannot_scale_to_zero():
    message = error_of(config(autoscaling={"mode": "hpa", "minReplicas": 0}))
    assert "minReplicas" in message and "keda" in message


def test_rollout_that_could_never_progress_is_rejected():
    message = error_of(config(rollout={"maxSurge": 0, "maxUnavailable": 0}))
    assert "llm-serving:pools.chat.rollout" in message


def test_a_drain_longer_than_the_grace_period_is_rejected_with_the_fix():
    message = error_of(config(rollout={"drainSeconds": 120, "terminationGracePeriodSeconds": 60}))
    assert "llm-serving:pools.chat.rollout" in message
    assert "drainSeconds (120)" in message and "terminationGracePeriodSeconds (60)" in message


def test_shared_rwo_claim_for_many_pods_warns():
    values = {**config(replicas=3, maxModelLen=8192), "modelCache": {"mode": "pvc"}}
    _, report = parse(values)
    assert any("ReadWriteOnce" in warning for warning in report.warnings)


def test_shared_rwo_claim_beyond_one_node_is_refused_with_the_numbers():
    values = {
        **config(maxModelLen=8192, tensorParallelSize=2, autoscaling={"mode": "keda", "maxReplicas": 5}),
        "modelCache": {"mode": "pvc"},
    }
    message = error_of(values)
    assert (
        'llm-serving:modelCache.pvc.accessMode = "ReadWriteOnce": gives pools.chat one ReadWriteOnce'
        in message
    )
    assert "5 pods (its autoscaling.maxReplicas) x 2 GPUs = 10 GPUs, more than a node's 8" in message
    assert "pools.chat.autoscaling.maxReplicas to 4" in message
    values["modelCache"]["pvc"] = {"accessMode": "ReadWriteMany"}
    parse(values)


def test_a_pinned_host_path_sums_every_pool_and_role_on_one_node():
    values = config(maxModelLen=8192, replicas=2)
    values["pools"]["other"] = {"model": LLAMA_8B, "maxModelLen": 8192, "tensorParallelSize": 2}
    role = {"model": LLAMA_8B, "maxModelLen": 8192}
    values["pdStacks"] = {"pd": {"prefill": role, "decode": {**role, "replicas": 2}}}
    values["modelCache"] = {"hostPath": {"nodeName": "ws"}}
    values["gpu"]["maxGpusPerNode"] = 6
    message = error_of(values)
    assert 'llm-serving:modelCache.hostPath.nodeName = "ws"' in message
    assert (
        "they need 7 GPUs at once (pools.chat 2 pods x 1 GPU, pools.other 1 pod x 2 GPUs, "
        "pdStacks.pd.prefill 1 pod x 1 GPU, pdStacks.pd.decode 2 pods x 1 GPU)"
    ) in message
    assert "more than the node's 6 (llm-serving:gpu.maxGpusPerNode)" in message
    values["gpu"]["maxGpusPerNode"] = 7
    parse(values)


def test_capacity_report_counts_gpus():
    values = config(replicas=3, tensorParallelSize=2, maxModelLen=8192)
    _, report = parse(values)
    assert report.total_gpus == 6
    output = report.as_output()["pools"]["chat"]
    assert output["gpusPerPod"] == 2 and output["pods"] == 3
    assert output["maxConcurrentFullLengthSequencesPerPod"] == output["kvCacheTokensPerPod"] // 8192


def _sections(model):
    yield model
    for field in model.model_fields.values():
        annotation = unwrap(field.annotation)
        for candidate in (annotation, *get_args(annotation)):
            if is_model(unwrap(candidate)):
                yield from _sections(unwrap(candidate))


def test_schema_rejects_unknown_keys_everywhere():
    """Every section forbids extra keys (a typo must never pass silently)."""
    sections = list(_sections(StackConfig))
    assert len(sections) > 20
    for section in sections:
        assert section.model_config.get("extra") == "forbid", section.__name__


def test_readme_documents_every_config_key():
    section = (Path(__file__).resolve().parent.parent / "docs" / "config-reference.md").read_text()
    paths = all_key_paths(StackConfig)
    assert len(paths) > 90
    # Pool keys are documented once; P/D roles take the same keys.
    prefixes = ("pools.<name>.", "pdStacks.<name>.prefill.", "pdStacks.<name>.decode.", "pdStacks.<name>.")

    def documented_as(path: str) -> str:
        for prefix in prefixes:
            if path.startswith(prefix):
                return path.removeprefix(prefix)
        return path

    missing = [path for path in paths if f"`{documented_as(path)}`" not in section]
    assert missing == [], f"docs/config-reference.md lacks: {missing}"
    assert "`hfToken`" in section


# --- the vocabulary of validated strings (config/kube_types.py) --------------------------

VOCABULARY = {
    kube_types.dns_1123_label: (
        ["a", "llm-serving", "0abc", "a" * 63],
        ["", "A", "a_b", "-a", "a-", "a\n", "a" * 64],
    ),
    kube_types.dns_1035_label: (["chat", "a1-b"], ["1chat", "chat\n", "Chat"]),
    kube_types.dns_1123_subdomain: (["team.hf-token", "a.b.c"], ["a..b", ".a", "a.", "A.b", "a b", "a.b\n"]),
    kube_types.label_key: (
        ["release", "nvidia.com/gpu.product", "a_b.c"],
        ["/a", "a/", "a b", "-a", "A/b", "x/y/z"],
    ),
    kube_types.label_value: (["", "NVIDIA-L40", "1"], ["a b", "-a", "a" * 64, "a\n"]),
    kube_types.taint_key: (["nvidia.com/gpu"], ["nvidia.com/gpu ", "nvidia.com/"]),
    kube_types.env_var_name: (["HF_HOME", "_x"], ["1X", "A-B", "A B", "A\n"]),
    kube_types.quantity: (
        ["8", "500m", "32Gi", "0.5", "1e3", "1.5Ti", "0", "0e400", "1n", "+8", "5.", "7Ei", str(2**63 - 1)],
        [
            "",
            "8 ",
            "32GB",
            "-1",
            "32Gi\n",
            "1..5",
            "1e400",
            "1e-400",
            "99999999999999999999Ei",
            "8Ei",
            str(2**63),
            "9E18Ei",
            "0.5n",
            "1.0000000001",
            "1e" + "9" * 37,
        ],
    ),  # fmt: skip
    kube_types.positive_quantity: (["1", "100m", "1n"], ["0", "0.0", "0Gi", "0e400"]),
    kube_types.cpu_quantity: (["8", "500m", "1e1", "0.001", "1.5"], ["0", "100u", "1n", "1e16", "9Ei"]),
    kube_types.byte_size: (
        ["32Gi", "1Ei", "1.5Gi", "1e9", "34359738368"],
        ["0", "500m", "1.1Gi", "2Ei", "1e19", "0.5"],
    ),
    kube_types.absolute_path: (
        ["/var/lib/models", "/a"],
        ["/", "a", "/a/../b", "/a/", "//a", "/a/./b", "/a\n"],
    ),
    kube_types.pinned_image: (
        [
            "vllm/vllm-openai:v0.19.1",
            "registry.example.com:5000/team/img:1",
            "img@sha256:" + "a" * 64,
            "localhost/img:v1",
            "img:v1@sha256:" + "b" * 64,
        ],
        [
            "vllm/vllm-openai",
            "vllm/vllm-openai:latest",
            "img:",
            "img@sha256:abc",
            "img: v1",
            "img:v1\n",
            "Img:v1",
            "VLLM/img:v1",
            "img@md5:" + "a" * 32,
            "img:" + "a" * 129,
        ],
    ),
    kube_types.prometheus_duration: (["30s", "1h30m", "500ms", "1d"], ["", "1m1h", "5 m", "5m\n", "5"]),
}


@pytest.mark.parametrize(
    "validator, valid, invalid",
    [(v, ok, bad) for v, (ok, bad) in VOCABULARY.items()],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_each_string_type_matches_the_whole_string(validator, valid, invalid):
    for value in valid:
        assert validator(value) == value
    for value in invalid:
        with pytest.raises(ValueError):
            validator(value)


def test_quantities_are_read_exactly():
    assert kube_types.quantity_value("1.5Gi") == 1610612736
    assert kube_types.quantity_value("500m") == Fraction(1, 2)
    assert kube_types.quantity_value("1e-9") == Fraction(1, 10**9)
    assert kube_types.quantity_value("12e3") == 12000
    assert kube_types.quantity_value(".5k") == 500


def test_an_absurd_quantity_says_why_and_how_to_write_it():
    for size, reason in [
        ("1e400", "larger than a Kubernetes quantity can be (2^63-1"),
        ("1e-400", "not zero but smaller than 1n"),
        ("99999999999999999999Ei", "larger than a Kubernetes quantity can be"),
        ("8Ei", "larger than a Kubernetes quantity can be"),
        ("2Ei", "more than 1Ei"),
    ]:
        message = error_of({**config(maxModelLen=8192), "modelCache": {"size": size}})
        assert f'llm-serving:modelCache.size = "{size}": is {reason}' in message, message
        assert "Fix: write it like 32Gi" in message
    message = error_of(config(maxModelLen=8192, resources={"cpu": "100u"}))
    assert 'llm-serving:pools.chat.resources.cpu = "100u": is finer than 1m' in message


def test_numbers_are_quantities_and_booleans_are_not():
    values = config(maxModelLen=8192, resources={"cpu": 0.5, "memory": "16Gi"}, shm={"size": 2147483648.0})
    stack, _ = parse(values)
    assert stack.pools["chat"].resources.cpu == "0.5" and stack.pools["chat"].shm.size == "2147483648"
    assert "llm-serving:pools.chat.resources.cpu" in error_of(config(resources={"cpu": True}))


def test_credentials_are_recognized_by_name_and_by_value():
    for name in [
        "hfToken",
        "--hf_token",
        "HF_TOKEN",
        "api-key",
        "--api-key",
        "DB_PASSWORD",
        "AWS_SECRET_ACCESS_KEY",
    ]:
        assert credentials.is_credential_name(name), name
    for name in [
        "--max-num-batched-tokens",
        "--rate-limit-tokens-per-second",
        "--tokenizer",
    ]:
        assert not credentials.is_credential_name(name), name
    for value in [
        "hf_" + "a1B2" * 9,
        "sk-" + "x" * 40,
        "eyJhbGciOiJIUzI1NiJ9.e30.x",
        "Zq8Lr2Xv7Nw4Ks9Bt1Mc6Pd3Hf5Jg0Yh",
    ]:
        assert credentials.looks_like_credential(value), value
    for value in ["meta-llama/Llama-3.1-8B-Instruct", "/var/lib/llm-models", "a" * 40, "0" * 40, "a1b2c3" * 7,
                  "llama-3-1-8b-decode-prefetch", "NVIDIA-A100-SXM4-80GB"]:  # fmt: skip
        assert not credentials.looks_like_credential(value), value


def test_a_message_of_many_problems_stays_under_two_kilobytes():
    pools = {f"pool-{i}": {"model": LLAMA_8B, "replicas": "x" * 300, "nope": "y"} for i in range(40)}
    message = error_of({"gpu": {"products": ["NVIDIA-L40"]}, "pools": pools})
    assert len(message.encode()) < 2048
    assert "more; fix the problems above" in message


def test_key_names_made_of_words_are_told_from_tokens():
    for name in ["hf_token", "hfToken", "HF_TOKEN", "api_key", "apiKey", "api-key", "db_password",
                 "HUGGING_FACE_HUB_TOKEN", "hf_token_v2", "HFToken", "openai_api_key", "x"]:  # fmt: skip
        assert credentials.is_word_name(name), name
    for name in [
        "hf_" + "QwErTyUiOpAsDfGhJkLzXcVbNm0123456789",
        "hf_" + "a1B2" * 9,
        "hf_QwErTyUiOpAsDfGhJkLzXcVbNm",
        "Zq8Lr2Xv7Nw4Ks9Bt1Mc6Pd3Hf5Jg0Yh",
        "AKIAIOSFODNN7EXAMPLE",
        "AKIAABCDEFGHIJKLMNOP",
        "eyJhbGciOiJIUzI1NiJ9.e30.x",
        "sk-live-0123456789abcdef",
        "ghp_" + "abcdefghijklmnopqrstuvwxyz0123456789",
        "glpat-JbOjPvpQli-ngusQJH",
    ]:
        assert not credentials.is_word_name(name), name


def test_a_key_named_like_a_credential_is_shown_with_where_credentials_belong():
    message = error_of({**config(maxModelLen=8192), "hf_token": "hf_" + "a1B2" * 9})
    assert "llm-serving:hf_token: unknown key (its value is not shown" in message
    assert "pulumi config set --secret hfToken <token>" in message and "huggingFace.existingSecret" in message
    assert "revoke it" in message and "a1B2" not in message
    message = error_of(config(maxModelLen=8192, apiKey="x"))
    assert "llm-serving:pools.chat.apiKey: unknown key" in message and "auth.existingSecret" in message


def test_user_chosen_keys_are_escaped_and_token_like_keys_masked():
    token_key = "Zq8Lr2Xv7Nw4Ks9Bt1Mc6Pd3Hf5Jg0Yh"
    message = error_of({**config(maxModelLen=8192), "models": {"a\nb": {}, token_key: {}}})
    assert (
        'models."a\\nb"' in message
        and "\n  - llm-serving:models.<a key that looks like a credential>" in message
    )
    assert token_key not in message and "a\nb" not in message


def test_union_branches_are_one_problem_at_one_key():
    message = error_of(config(env={"X": {"value": 1, "secretKeyRef": "s"}}))
    assert "llm-serving:pools.chat.env.X" in message
    assert "function-after" not in message and "[key]" not in message


@pytest.mark.parametrize(
    "annotation, text, expected",
    [
        (int, "2", 2), (int, "-3", -3), (int, "+4", 4), (int, "01", 1), (int, "0128", 128),
        (int, "9" * 19, int("9" * 19)), (kube_types.Int32, "7", 7), (int | None, "3", 3),
        (Literal[1, 8, 16], "16", 16),
        (float, "0.9", 0.9), (float, ".5", 0.5), (float, "5.", 5.0), (float, "1e-3", 0.001),
        (float, "-2E2", -200.0), (float, "2", 2.0), (kube_types.FiniteFloat, "0.85", 0.85),
        (bool, "true", True), (bool, "True", True), (bool, "false", False), (bool, "False", False),
        (bool | None, "true", True),
    ],
)  # fmt: skip
def test_cli_strings_are_read_where_their_meaning_is_unambiguous(annotation, text, expected):
    read = cli_scalars.from_cli(annotation, text)
    assert read == expected and type(read) is type(expected)


@pytest.mark.parametrize(
    "annotation, text",
    [
        (int, "yes"), (int, " 2"), (int, "2 "), (int, "2\n"), (int, "0x10"), (int, "0o7"), (int, "2.0"),
        (int, "1e3"), (int, "1_000"), (int, ""), (int, "9" * 20), (int, "\u0662"), (int, "true"),
        (float, "inf"), (float, "-Infinity"), (float, "nan"), (float, "0x1p-1"), (float, "1_0"),
        (float, " 1"), (float, "1e400"), (float, "1." + "0" * 100), (float, "."), (float, "e3"),
        (bool, "yes"), (bool, "no"), (bool, "on"), (bool, "off"), (bool, "1"), (bool, "0"),
        (bool, "TRUE"), (bool, " true"), (bool, "y"),
        (str, "2"), (int | str, "2"), (kube_types.Quantity, "8"), (kube_types.CpuQuantity, "8"),
        (Literal["auto", "fp8"], "auto"), (Literal[1, "a"], "1"), (dict, "1"),
    ],
)  # fmt: skip
def test_ambiguous_or_textual_strings_stay_strings(annotation, text):
    assert cli_scalars.from_cli(annotation, text) == text


def test_cli_strings_are_read_through_the_whole_value_tree():
    values = {
        "createNamespace": "false",
        "pools": {
            "chat": {
                "replicas": "2",
                "gpuMemoryUtilization": "0.85",
                "extraArgs": ["8", "true"],
                "env": {"X": "8", "Y": {"value": "true"}},
                "autoscaling": {"maxReplicas": "3"},
                "resources": {"cpu": "8"},
                "notAKey": "2",
            }
        },
        "pdStacks": {"pd": {"blockSize": "64", "prefill": {"service": {"port": "8001"}}}},
        "models": {"acme/m": {"numLayers": "4", "paramsBillion": "1.5", "gated": "True"}},
        "inferenceGateway": {"endpointPicker": {"scorers": {"queue": "2"}}},
        "gpu": {"operator": {"values": {"replicas": "2"}}},
        "networkPolicy": {"modelHub": {"ports": ["443"]}},
    }
    before = copy.deepcopy(values)
    read = cli_scalars.from_cli(StackConfig, values)
    assert values == before  # a new tree
    pool = read["pools"]["chat"]
    assert read["createNamespace"] is False
    assert (pool["replicas"], pool["gpuMemoryUtilization"], pool["autoscaling"]["maxReplicas"]) == (
        2,
        0.85,
        3,
    )
    # Text stays text: flags, env values, quantities, unknown keys, Helm values.
    assert pool["extraArgs"] == ["8", "true"] and pool["env"] == {"X": "8", "Y": {"value": "true"}}
    assert pool["resources"]["cpu"] == "8" and pool["notAKey"] == "2"
    assert read["gpu"]["operator"]["values"] == {"replicas": "2"}
    assert read["pdStacks"]["pd"]["blockSize"] == 64
    assert read["pdStacks"]["pd"]["prefill"]["service"]["port"] == 8001
    assert read["models"]["acme/m"] == {"numLayers": 4, "paramsBillion": 1.5, "gated": True}
    assert read["inferenceGateway"]["endpointPicker"]["scorers"] == {"queue": 2}
    assert read["networkPolicy"]["modelHub"]["ports"] == [443]


def test_a_cli_string_in_every_nested_kind_is_validated_as_its_number():
    values = config(replicas="2", gpuMemoryUtilization="0.85", maxModelLen="08192", shm={"enabled": "true"})
    stack, _ = parse({**values, "createNamespace": "False", "monitoring": {"enabled": "true"}})
    pool = stack.pools["chat"]
    assert (pool.replicas, pool.gpu_memory_utilization, pool.max_model_len) == (2, 0.85, 8192)
    assert pool.shm.enabled is True and stack.monitoring.enabled is True and stack.create_namespace is False


def test_engine_scalars_are_decoded_by_the_schema_type():
    values = loader.namespace_values(
        {"llm-serving:createNamespace": "false", "llm-serving:namespace": "true"}
    )
    assert values == {"createNamespace": False, "namespace": "true"}


def test_unknown_config_namespaces_are_refused_with_a_suggestion():
    problems = loader.check_namespaces(
        ["llm-serving:pools", "kubernetes:context", "llm-servng:monitoring", "acme:x"]
    )
    rendered = [problem.render() for problem in problems]
    assert len(rendered) == 2
    assert rendered[0].startswith("acme:x:") and "remove it" in rendered[0]
    assert (
        rendered[1].startswith("llm-servng:monitoring:")
        and "did you mean 'llm-serving:monitoring'" in rendered[1]
    )


def test_quoted_user_input_is_redacted_in_reasons():
    text = credentials.redact(
        "hf_" + "0" * 34 + " not in the GPU catalog (NVIDIA-A100-80GB-PCIe, Qwen/Qwen3-0.6B)"
    )
    assert text == "<redacted> not in the GPU catalog (NVIDIA-A100-80GB-PCIe, Qwen/Qwen3-0.6B)"


def test_refusal_shows_every_term_of_vllms_sum():
    values = config()
    values["gpu"]["products"] = ["NVIDIA-L4"]
    message = error_of(values)
    for term in ("GiB total x 0.9", "weights", "activation", "non-torch", "GiB KV cache per GPU"):
        assert term in message
    assert "131072 tokens need 16.00 GiB" in message


def test_capacity_report_carries_each_term_per_gpu():
    _, report = parse(config(maxModelLen=8192))
    memory = report.as_output()["pools"]["chat"]["memoryGiBPerGpu"]
    assert memory["total"] == 44.4 and memory["gpuMemoryUtilization"] == 0.9
    parts = (
        memory["weights"] + memory["activation"] + memory["nonTorch"] + memory["overhead"] + memory["kvCache"]
    )
    assert parts == pytest.approx(memory["requested"], abs=0.03)
    assert "44.40 GiB total x 0.9" in report.summary_lines()[0]


def test_overhead_gib_is_a_margin_on_top_of_vllms_sum():
    _, plain = parse(config(maxModelLen=8192))
    _, margin = parse(config(maxModelLen=8192, overheadGib=2))
    assert plain.pools["chat"].memory.margin == 0
    assert plain.pools["chat"].kv_cache_gib_per_gpu - margin.pools[
        "chat"
    ].kv_cache_gib_per_gpu == pytest.approx(2)


def test_hybrid_model_fits_a_context_whose_full_attention_count_would_not():
    """gemma-3-27b at 128k on one H100: its sliding layers only keep a 1024-token window."""
    values = config(model="google/gemma-3-27b-it", gpuMemoryUtilization=0.95)
    values["gpu"]["products"] = ["NVIDIA-H100-80GB-HBM3"]
    _, report = parse(values)
    pool = report.pools["chat"]
    assert pool.max_model_len == 131072 and pool.max_concurrent_full_sequences >= 1
    assert pool.kv_cache_tokens_per_pod < 131072  # as vLLM logs it: blocks // groups x block


def test_image_of_another_vllm_release_warns_that_sizing_is_calibrated_for_the_pinned_one():
    other_release = {"images": {"pools": {"chat": "vllm/vllm-openai:v0.21.0"}}}
    _, report = parse({**config(maxModelLen=8192), "release": other_release})
    assert any("vLLM 0.21" in warning and "overheadGib" in warning for warning in report.warnings)
    _, pinned = parse(config(maxModelLen=8192))
    assert not any("vLLM 0.19's memory profiler" in warning for warning in pinned.warnings)


def test_utilization_that_leaves_no_room_for_cuda_graphs_warns():
    _, report = parse(config(maxModelLen=8192, gpuMemoryUtilization=0.98))
    assert any("CUDA graphs" in warning and "--enforce-eager" in warning for warning in report.warnings)


def test_mxfp4_checkpoint_accepts_its_own_method():
    _, report = parse(config(model="openai/gpt-oss-20b", quantization="mxfp4", maxModelLen=8192))
    assert report.pools["chat"].weights_gib_per_gpu == pytest.approx(14.02)
    assert "pre-quantized mxfp4 checkpoint" in error_of(
        config(model="openai/gpt-oss-20b", quantization="fp8")
    )
