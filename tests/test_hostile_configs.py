"""Hostile and careless stack configs, each run through the real program under Pulumi's
mocks: refused with one `pulumi.RunError` that names the key, registers nothing, stays
under 2 kB and echoes no secret; and the valid inputs that must stay accepted.

Each case starts from a committed stack file and changes one thing, so a refusal can
only come from that change.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

import pytest

from components.monitoring import promql
from config.names import GENERATED_ENV, MULTI_NODE_ENV, RESERVED_ENV
from harness import FAKE_HF_TOKEN, ROOT, clean_refusal_problems, run_outcome, stack_file_config

DEV_POOL = "llama-3-1-8b"
PD = "llama-3-1-8b"
# Test-only stand-ins for credentials; never real. The tests check they never appear
# in a message.
HF_LIKE = "hf_QwErTyUiOpAsDfGhJkLzXcVbNm0123456789"
RANDOM_KEY = "Zq8Lr2Xv7Nw4Ks9Bt1Mc6Pd3Hf5Jg0Yh"
SECRETS = [HF_LIKE, RANDOM_KEY, FAKE_HF_TOKEN, "sk-live-0123456789abcdef"]


STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml")) + sorted((ROOT / "examples").glob("*.yaml"))


def stack(name: str) -> dict:
    return copy.deepcopy(stack_file_config(ROOT / name))


def set_path(config: dict, path: tuple, value: Any) -> dict:
    """config with `path` (top-level key without the namespace, then nested keys) set."""
    top, *rest = path
    key = top if ":" in top else f"llm-serving:{top}"
    if not rest:
        config[key] = value
        return config
    node = config.setdefault(key, {})
    for part in rest[:-1]:
        node = node.setdefault(part, {})
    node[rest[-1]] = value
    return config


@dataclass(frozen=True)
class Case:
    id: str
    edits: list[tuple[tuple, Any]]
    key: str  # the key path the message must name (after "llm-serving:" unless it has ':')
    base: str = "Pulumi.dev.yaml"
    run_kwargs: dict = field(default_factory=dict)

    def config(self) -> dict:
        config = stack(self.base)
        for path, value in self.edits:
            set_path(config, path, value)
        return config


def pool(*keys: str) -> tuple:
    return ("pools", DEV_POOL, *keys)


def role(name: str, *keys: str) -> tuple:
    return ("pdStacks", PD, name, *keys)


V100 = {"memoryMib": 32768, "computeCapability": 7.0, "displayName": "V100 32GB"}

CASES = [
    # --- numbers: no bool->int, finite, int32 -------------------------------------
    Case("bool-as-number", [(pool("tensorParallelSize"), True)], f"pools.{DEV_POOL}.tensorParallelSize"),
    Case("bool-as-float", [(pool("gpuMemoryUtilization"), False)], f"pools.{DEV_POOL}.gpuMemoryUtilization"),
    # --- strings where a number or boolean belongs: only the unambiguous are read --------
    Case("word-as-int", [(pool("replicas"), "yes")], f"pools.{DEV_POOL}.replicas"),
    Case("spaced-string-as-int", [(pool("replicas"), " 2")], f"pools.{DEV_POOL}.replicas"),
    Case("newline-string-as-int", [(pool("replicas"), "2\n")], f"pools.{DEV_POOL}.replicas"),
    Case("hex-string-as-int", [(pool("replicas"), "0x10")], f"pools.{DEV_POOL}.replicas"),
    Case("decimal-string-as-int", [(pool("replicas"), "2.0")], f"pools.{DEV_POOL}.replicas"),
    Case("exponent-string-as-int", [(pool("maxNumSeqs"), "1e3")], f"pools.{DEV_POOL}.maxNumSeqs"),
    Case("empty-string-as-int", [(pool("maxNumSeqs"), "")], f"pools.{DEV_POOL}.maxNumSeqs"),
    Case("string-beyond-int32", [(pool("replicas"), "2147483648")], f"pools.{DEV_POOL}.replicas"),
    Case(
        "inf-string-as-float",
        [(pool("gpuMemoryUtilization"), "inf")],
        f"pools.{DEV_POOL}.gpuMemoryUtilization",
    ),
    Case("nan-string-as-float", [(pool("overheadGib"), "nan")], f"pools.{DEV_POOL}.overheadGib"),
    Case(
        "hex-string-as-float",
        [(pool("gpuMemoryUtilization"), "0x1p-1")],
        f"pools.{DEV_POOL}.gpuMemoryUtilization",
    ),
    Case("underscore-string-as-float", [(pool("overheadGib"), "1_0")], f"pools.{DEV_POOL}.overheadGib"),
    Case("huge-string-as-float", [(pool("overheadGib"), "1e400")], f"pools.{DEV_POOL}.overheadGib"),
    Case("yes-as-bool", [(("monitoring", "enabled"), "yes")], "monitoring.enabled"),
    Case("on-as-bool", [(pool("enablePrefixCaching"), "on")], f"pools.{DEV_POOL}.enablePrefixCaching"),
    Case("one-as-top-level-bool", [(("createNamespace",), "1")], "createNamespace"),
    Case("string-not-in-int-literal", [(pool("blockSize"), "12")], f"pools.{DEV_POOL}.blockSize"),
    Case("beyond-int32", [(pool("replicas"), 2**31)], f"pools.{DEV_POOL}.replicas"),
    Case("huge-int", [(pool("maxNumSeqs"), 10**40)], f"pools.{DEV_POOL}.maxNumSeqs"),
    Case("inf-float", [(pool("overheadGib"), float("inf"))], f"pools.{DEV_POOL}.overheadGib"),
    Case(
        "nan-float", [(pool("gpuMemoryUtilization"), float("nan"))], f"pools.{DEV_POOL}.gpuMemoryUtilization"
    ),
    Case(
        "inf-alert-threshold",
        [(("monitoring", "alerts", "queueDepth"), float("inf"))],
        "monitoring.alerts.queueDepth",
    ),
    Case("bool-as-quantity", [(pool("resources", "cpu"), True)], f"pools.{DEV_POOL}.resources.cpu"),
    Case("inf-quantity", [(pool("resources", "cpu"), float("inf"))], f"pools.{DEV_POOL}.resources.cpu"),
    Case("zero-memory", [(pool("resources", "memory"), "0")], f"pools.{DEV_POOL}.resources.memory"),
    # --- quantities Kubernetes cannot represent, or that no machine has ------------------
    Case("quantity-huge-exponent", [(pool("resources", "cpu"), "1e400")], f"pools.{DEV_POOL}.resources.cpu"),
    Case("quantity-tiny-exponent", [(pool("resources", "cpu"), "1e-400")], f"pools.{DEV_POOL}.resources.cpu"),
    Case(
        "quantity-beyond-int64",
        [(pool("resources", "memory"), "99999999999999999999Ei")],
        f"pools.{DEV_POOL}.resources.memory",
    ),
    Case("quantity-8Ei-is-capped", [(("modelCache", "size"), "8Ei")], "modelCache.size"),
    Case("size-above-1Ei", [(("modelCache", "size"), "2Ei")], "modelCache.size"),
    Case("quantity-below-1n", [(pool("shm", "size"), "0.5n")], f"pools.{DEV_POOL}.shm.size"),
    Case(
        "quantity-finer-than-1n",
        [(pool("resources", "cpu"), "1.0000000001")],
        f"pools.{DEV_POOL}.resources.cpu",
    ),
    Case(
        "memory-in-millibytes", [(pool("resources", "memory"), "500m")], f"pools.{DEV_POOL}.resources.memory"
    ),
    Case("cpu-finer-than-millicore", [(pool("resources", "cpu"), "100u")], f"pools.{DEV_POOL}.resources.cpu"),
    Case("cpu-beyond-millicores", [(pool("resources", "cpu"), "1e16")], f"pools.{DEV_POOL}.resources.cpu"),
    Case(
        "cpu-beyond-any-node", [(pool("resources", "cpu"), "100000000000")], f"pools.{DEV_POOL}.resources.cpu"
    ),
    Case(
        "cpu-limit-beyond-any-node",
        [(pool("resources", "cpuLimit"), 70000)],
        f"pools.{DEV_POOL}.resources.cpuLimit",
    ),
    Case("yaml-float-tiny-quantity", [(pool("resources", "cpu"), 1e-12)], f"pools.{DEV_POOL}.resources.cpu"),
    Case("yaml-float-huge-quantity", [(("podSecurity", "tmpSize"), 1e300)], "podSecurity.tmpSize"),
    Case("port-zero", [(pool("service", "port"), 0)], f"pools.{DEV_POOL}.service.port"),
    # --- whole-string matching ----------------------------------------------------------
    Case("namespace-newline", [(("namespace",), "llm-serving\n")], "namespace"),
    Case("pool-name-newline", [(("pools",), {"chat\n": {"model": "Qwen/Qwen3-0.6B"}})], 'pools."chat\\n"'),
    Case("pool-name-digit-first", [(("pools",), {"1chat": {"model": "Qwen/Qwen3-0.6B"}})], "pools.1chat"),
    Case("quantity-newline", [(pool("resources", "memory"), "32Gi\n")], f"pools.{DEV_POOL}.resources.memory"),
    Case("duration-newline", [(("monitoring", "scrapeInterval"), "15s\n")], "monitoring.scrapeInterval"),
    Case("image-empty-tag", [(pool("image"), "vllm/vllm-openai:")], f"pools.{DEV_POOL}.image"),
    Case(
        "image-truncated-digest",
        [(pool("image"), "vllm/vllm-openai@sha256:abc123")],
        f"pools.{DEV_POOL}.image",
    ),
    Case("image-whitespace", [(pool("image"), "vllm/vllm-openai: v0.19.1")], f"pools.{DEV_POOL}.image"),
    Case("image-newline", [(pool("image"), "vllm/vllm-openai:v0.19.1\n")], f"pools.{DEV_POOL}.image"),
    Case("image-latest", [(pool("image"), "vllm/vllm-openai:latest")], f"pools.{DEV_POOL}.image"),
    Case("image-uppercase-repo", [(pool("image"), "VLLM/vllm-openai:v1")], f"pools.{DEV_POOL}.image"),
    Case("taint-key-space", [(("gpu", "taint", "key"), "nvidia.com/gpu ")], "gpu.taint.key"),
    Case("gpu-product-bad-label", [(("gpu", "products"), ["NVIDIA L40"])], "gpu.products[0]"),
    Case(
        "selector-label-bad",
        [(("monitoring", "selectorLabels"), {"release": "a b"})],
        "monitoring.selectorLabels",
    ),
    Case(
        "served-name-quote",
        [(pool("servedModelName"), 'x"}) or vector(1) #')],
        f"pools.{DEV_POOL}.servedModelName",
    ),
    # --- paths ----------------------------------------------------------------------------
    Case("host-path-root", [(("modelCache", "hostPath", "path"), "/")], "modelCache.hostPath.path"),
    Case(
        "host-path-dotdot",
        [(("modelCache", "hostPath", "path"), "/var/lib/../../etc")],
        "modelCache.hostPath.path",
    ),
    Case(
        "host-path-etc", [(("modelCache", "hostPath", "path"), "/etc/kubernetes")], "modelCache.hostPath.path"
    ),
    Case("host-path-relative", [(("modelCache", "hostPath", "path"), "models")], "modelCache.hostPath.path"),
    Case("mount-on-dev-shm", [(("modelCache", "mountPath"), "/dev/shm")], "modelCache.mountPath"),
    Case("mount-on-dev", [(("modelCache", "mountPath"), "/dev")], "modelCache.mountPath"),
    Case("mount-root", [(("modelCache", "mountPath"), "/")], "modelCache.mountPath"),
    # --- credentials and the escape hatches -------------------------------------------------
    Case(
        "hf-token-in-extra-args",
        [(pool("extraArgs"), [f"--hf_token={HF_LIKE}"])],
        f"pools.{DEV_POOL}.extraArgs[0]",
    ),
    Case(
        "api-key-in-extra-args",
        [(pool("extraArgs"), ["--api-key", RANDOM_KEY])],
        f"pools.{DEV_POOL}.extraArgs[0]",
    ),
    Case(
        "token-value-in-extra-args",
        [(pool("extraArgs"), [f"--some-flag={HF_LIKE}"])],
        f"pools.{DEV_POOL}.extraArgs[0]",
    ),
    Case(
        "credential-in-json-arg",
        [(pool("extraArgs"), ["--speculative-config", '{"api_key": "' + RANDOM_KEY + '"}'])],
        f"pools.{DEV_POOL}.extraArgs[1]",
    ),
    Case("hf-token-in-env", [(pool("env"), {"HF_TOKEN": HF_LIKE})], f"pools.{DEV_POOL}.env.HF_TOKEN"),
    Case(
        "other-token-in-env",
        [(pool("env"), {"WANDB_API_KEY": RANDOM_KEY})],
        f"pools.{DEV_POOL}.env.WANDB_API_KEY",
    ),
    Case("token-value-in-env", [(pool("env"), {"SOMETHING": HF_LIKE})], f"pools.{DEV_POOL}.env.SOMETHING"),
    Case("env-overrides-hf-home", [(pool("env"), {"HF_HOME": "/tmp"})], f"pools.{DEV_POOL}.env.HF_HOME"),
    Case("env-name-invalid", [(pool("env"), {"MY-VAR": "1"})], f"pools.{DEV_POOL}.env.MY-VAR"),
    Case("env-expansion", [(pool("env"), {"COPY": "$(HF_TOKEN)"})], f"pools.{DEV_POOL}.env.COPY"),
    Case("env-newline", [(pool("env"), {"X": "a\nb"})], f"pools.{DEV_POOL}.env.X"),
    Case("env-bool", [(pool("env"), {"X": True})], f"pools.{DEV_POOL}.env.X"),
    Case("unknown-key-token", [(pool("hfToken"), HF_LIKE)], f"pools.{DEV_POOL}.hfToken"),
    Case("unknown-top-key-token", [(("apiKey",), RANDOM_KEY)], "apiKey"),
    Case("token-as-map-key", [(("pools",), {HF_LIKE.lower().replace("_", "-"): {"model": "x"}})], "pools."),
    Case("plain-text-hf-token", [], "hfToken", run_kwargs={"hf_token_secret": False}),
    Case("token-as-gpu-product", [(pool("gpuProducts"), [HF_LIKE])], f"pools.{DEV_POOL}.gpuProducts"),
    Case("token-as-model", [(pool("model"), HF_LIKE)], f"pools.{DEV_POOL}.model"),
    Case(
        "credential-in-url",
        [
            (pool("autoscaling"), {"mode": "keda", "prometheusUrl": "x"}),
            (pool("autoscaling", "prometheusUrl"), f"http://admin:{RANDOM_KEY}@prom"),
        ],
        f"pools.{DEV_POOL}.autoscaling.prometheusUrl",
    ),  # fmt: skip
    Case("long-value", [(pool("servedModelName"), "a" * 100_000)], f"pools.{DEV_POOL}.servedModelName"),
    Case("long-unknown-value", [(pool("notAKey"), "b" * 100_000)], f"pools.{DEV_POOL}.notAKey"),
    Case(
        "dup-flag-underscores",
        [(pool("extraArgs"), ["--gpu_memory_utilization=0.5"])],
        f"pools.{DEV_POOL}.extraArgs[0]",
    ),
    Case(
        "dup-flag-abbreviation",
        [(pool("extraArgs"), ["--max-model", "4096"])],
        f"pools.{DEV_POOL}.extraArgs[0]",
    ),
    Case("dup-short-flag-attached", [(pool("extraArgs"), ["-tp2"])], f"pools.{DEV_POOL}.extraArgs[0]"),
    Case("flag-and-value-in-one", [(pool("extraArgs"), ["--max-loras 4"])], f"pools.{DEV_POOL}.extraArgs[0]"),
    Case("flag-newline", [(pool("extraArgs"), ["--enable-lora\n"])], f"pools.{DEV_POOL}.extraArgs[0]"),
    Case("shell-expansion", [(pool("extraArgs"), ["--x=$(HF_TOKEN)"])], f"pools.{DEV_POOL}.extraArgs[0]"),
    Case(
        "shell-operator",
        [(pool("extraArgs"), ["--enable-lora", "&&", "curl"])],
        f"pools.{DEV_POOL}.extraArgs[1]",
    ),
    Case(
        "kv-transfer-json-key",
        [(role("prefill", "extraArgs"), ["--kv-transfer-config.kv_role=kv_producer"])],
        f"pdStacks.{PD}.prefill.extraArgs[0]",
        base="Pulumi.prod.yaml",
    ),
    Case(
        "router-abbreviation",
        [(("pdStacks", PD, "router", "extraArgs"), ["--prefill-pol", "random"])],
        f"pdStacks.{PD}.router.extraArgs[0]",
        base="Pulumi.prod.yaml",
    ),
    Case(
        "router-underscore",
        [(("pdStacks", PD, "router", "extraArgs"), ["--request_timeout_secs=5"])],
        f"pdStacks.{PD}.router.extraArgs[0]",
        base="Pulumi.prod.yaml",
    ),
    # --- cross-key ---------------------------------------------------------------------------
    Case(
        "pool-named-like-router",
        [(("pools",), {f"{PD}-router": {"model": "Qwen/Qwen3-0.6B"}})],
        f"pools.{PD}-router",
        base="Pulumi.prod.yaml",
    ),
    Case(
        "pool-named-like-role",
        [(("pools",), {f"{PD}-decode": {"model": "Qwen/Qwen3-0.6B"}})],
        f"pools.{PD}-decode",
        base="Pulumi.prod.yaml",
    ),
    Case("secret-name-clash", [(("auth", "secretName"), "hf-token")], "auth.secretName"),
    Case(
        "router-port-equals-metrics",
        [(("pdStacks", PD, "router", "metricsPort"), 8080)],
        f"pdStacks.{PD}.router.metricsPort",
        base="Pulumi.prod.yaml",
    ),
    Case(
        "side-channel-equals-http",
        [(("pdStacks", PD, "kvTransfer", "sideChannelPort"), 8000)],
        f"pdStacks.{PD}.kvTransfer.sideChannelPort",
        base="Pulumi.prod.yaml",
    ),
    Case(
        "role-zero-replicas",
        [(role("decode", "replicas"), 0)],
        f"pdStacks.{PD}.decode.replicas",
        base="Pulumi.prod.yaml",
    ),
    Case(
        "tp-divides-heads-not-kv-heads",
        [(("pools",), {"qwen": {"model": "Qwen/Qwen2.5-0.5B-Instruct", "tensorParallelSize": 7}})],
        "pools.qwen.tensorParallelSize",
    ),
    Case(
        "max-num-seqs-above-batched-tokens",
        [(pool("maxNumSeqs"), 1024), (pool("maxNumBatchedTokens"), 512)],
        f"pools.{DEV_POOL}.maxNumSeqs",
    ),
    Case(
        "bf16-on-a-larger-old-gpu",
        [
            (("gpus",), {"Tesla-V100-SXM2-32GB": V100}),
            (("gpu", "products"), ["NVIDIA-L4", "Tesla-V100-SXM2-32GB"]),
            (pool("maxModelLen"), 8192),
        ],
        f"pools.{DEV_POOL}.dtype",
    ),  # fmt: skip
    Case(
        "fp8-below-8.9",
        [(("gpu", "products"), ["NVIDIA-A100-SXM4-80GB"]), (pool("quantization"), "fp8")],
        f"pools.{DEV_POOL}.quantization",
    ),
    Case(
        "awq-with-bfloat16",
        [
            (
                ("pools",),
                {
                    "mix": {
                        "model": "TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ",
                        "quantization": "awq",
                        "dtype": "bfloat16",
                        "maxModelLen": 8192,
                    }
                },
            )
        ],
        "pools.mix.dtype",
    ),  # fmt: skip
    Case(
        "fp8-kv-cache-on-ampere",
        [(("gpu", "products"), ["NVIDIA-A100-SXM4-80GB"]), (pool("kvCacheDtype"), "fp8")],
        f"pools.{DEV_POOL}.kvCacheDtype",
    ),
    Case("namespace-kube-system", [(("namespace",), "kube-system")], "namespace"),
    Case("namespace-default-created", [(("namespace",), "default")], "namespace"),
    Case(
        "misspelled-config-namespace",
        [(("llm-servng:monitoring",), {"enabled": True})],
        "llm-servng:monitoring",
    ),
    Case("unknown-config-namespace", [(("acme:token",), RANDOM_KEY)], "acme:token"),
    # --- keys named like credentials are named; their values never shown -----------------
    Case("credential-named-top-key", [(("hf_token",), HF_LIKE)], "hf_token"),
    Case("credential-named-pool-key", [(pool("api_key"), RANDOM_KEY)], f"pools.{DEV_POOL}.api_key"),
    Case("credential-named-namespace-key", [(("acme:hf_token",), HF_LIKE)], "acme:hf_token"),
    # --- a ReadWriteOnce claim binds its pods to one node ---------------------------------
    Case(
        "rwo-claim-more-gpus-than-a-node",
        [(("modelCache",), {"mode": "pvc"}), (pool("replicas"), 9)],
        "modelCache.pvc.accessMode",
    ),
    Case(
        "rwo-claim-multi-node-pool",
        [(("modelCache",), {"mode": "pvc", "pvc": {"accessMode": "ReadWriteOnce"}})],
        "modelCache.pvc.accessMode",
        base="examples/multinode-405b.yaml",
    ),
    Case(
        "pinned-host-path-more-gpus-than-the-node",
        [(("modelCache", "hostPath", "nodeName"), "workstation"), (("gpu", "maxGpusPerNode"), 4)],
        "modelCache.hostPath.nodeName",
    ),
    Case(
        "pinned-host-path-multi-node-pool",
        [(("modelCache", "hostPath", "nodeName"), "node-1")],
        "modelCache.hostPath.nodeName",
        base="examples/multinode-405b.yaml",
    ),
    Case(
        "empty-dashboard-labels",
        [(("monitoring", "dashboardLabels"), {})],
        "monitoring.dashboardLabels",
        base="Pulumi.prod.yaml",
    ),
    Case(
        "bad-existing-secret", [(("huggingFace", "existingSecret"), "Team HF")], "huggingFace.existingSecret"
    ),
    Case("bad-json-object", [(("pools",), '{"broken": ')], "pools"),
    Case("section-not-a-map", [(pool("service"), "ClusterIP")], f"pools.{DEV_POOL}.service"),
    Case(
        "pd-role-service-not-a-map",
        [(role("prefill", "service"), ["x"])],
        f"pdStacks.{PD}.prefill.service",
        base="Pulumi.prod.yaml",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_config_is_refused_cleanly(case: Case):
    outcome = run_outcome(case.config(), **case.run_kwargs)
    assert outcome.error is not None, f"{case.id}: accepted"
    key = case.key if ":" in case.key else f"llm-serving:{case.key}"
    assert key in outcome.error, outcome.error
    assert clean_refusal_problems(outcome, SECRETS) == [], outcome.error


def test_a_yaml_number_is_a_quantity():
    config = set_path(stack("Pulumi.dev.yaml"), pool("resources", "cpu"), 8)
    set_path(config, pool("resources", "memory"), 34359738368)
    outcome = run_outcome(config)
    assert outcome.error is None, outcome.error
    deployment = outcome.run.one("Deployment", DEV_POOL)
    resources = deployment.inputs["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"]["cpu"] == "8"
    assert resources["limits"]["memory"] == "34359738368"


def test_a_secret_name_with_dots_is_accepted():
    config = set_path(stack("Pulumi.dev.yaml"), ("huggingFace", "existingSecret"), "team.hf-token")
    set_path(config, ("auth", "existingSecret"), "team.vllm-api-key")
    outcome = run_outcome(config, hf_token=None)
    assert outcome.error is None, outcome.error
    pod = outcome.run.one("Deployment", DEV_POOL).inputs["spec"]["template"]["spec"]
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"]
        for e in pod["containers"][0]["env"]
        if "valueFrom" in e
    }
    assert refs["VLLM_API_KEY"] == "team.vllm-api-key"
    # The token is mounted as a file from the Secret.
    assert "team.hf-token" in {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}


def test_a_secret_enters_env_by_reference():
    config = set_path(stack("Pulumi.dev.yaml"), pool("env"), {
        "WANDB_API_KEY": {"secretKeyRef": {"name": "wandb", "key": "key"}},
        "OMP_NUM_THREADS": 8,
    })  # fmt: skip
    outcome = run_outcome(config)
    assert outcome.error is None, outcome.error
    env = outcome.run.one("Deployment", DEV_POOL).inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    by_name = {e["name"]: e for e in env}
    assert by_name["WANDB_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "wandb", "key": "key"}
    assert by_name["OMP_NUM_THREADS"]["value"] == "8"


def test_plain_extra_args_and_env_still_pass():
    config = set_path(stack("Pulumi.dev.yaml"), pool("extraArgs"), [
        "--enable-chunked-prefill", "--max-logprobs", "4", "--rate-limit-tokens-per-second=3",
        "--compilation-config", '{"level": 3}',
    ])  # fmt: skip
    set_path(config, pool("env"), {"VLLM_LOGGING_LEVEL": "DEBUG"})
    outcome = run_outcome(config)
    assert outcome.error is None, outcome.error


def test_default_namespace_is_usable_when_not_created():
    config = set_path(stack("Pulumi.dev.yaml"), ("namespace",), "default")
    set_path(config, ("createNamespace",), False)
    assert run_outcome(config).error is None


def _env_names(node: Any) -> set[str]:
    """Names of every env variable of a vLLM or model-download container in a manifest
    (the containers a pool's `env` reaches, or that share its variables)."""
    if isinstance(node, dict):
        is_vllm = "image" in node and node.get("name") in ("vllm", "download")
        found = {e["name"] for e in node.get("env", []) if isinstance(e, dict)} if is_vllm else set()
        return found.union(*(_env_names(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_env_names(v) for v in node))
    return set()


def test_every_generated_env_variable_is_known_to_validation():
    """`env` refuses the names in config/names.py; this keeps that list equal to what the
    components really set (in every committed stack file and example), so it cannot drift."""
    generated: set[str] = set()
    for path in STACK_FILES:
        run = run_outcome(stack_file_config(path)).run
        for resource in run.resources:
            generated |= _env_names(resource.inputs)
    refused = set(GENERATED_ENV) | set(MULTI_NODE_ENV)
    assert generated <= refused
    # Every name validation refuses is one a component sets (the reserved ones aside).
    assert set(GENERATED_ENV) - set(RESERVED_ENV) <= generated


def test_label_values_are_escaped_in_promql():
    hostile = 'x"} or vector(1) or {a="'
    matcher = promql.label_matcher("model_name", hostile)
    assert matcher == r'model_name="x\"} or vector(1) or {a=\""'
    assert promql.regex_alternatives(["a.b", "c"]) == r"a\.b|c"


def test_keda_query_escapes_the_served_model_name():
    config = set_path(stack("Pulumi.dev.yaml"), pool("servedModelName"), "team/llama:8b")
    set_path(config, pool("autoscaling"), {"mode": "keda", "minReplicas": 0, "maxReplicas": 1})
    outcome = run_outcome(config)
    assert outcome.error is None, outcome.error
    scaled = outcome.run.one("ScaledObject", DEV_POOL)
    query = scaled.inputs["spec"]["triggers"][0]["metadata"]["query"]
    assert query == 'sum(vllm:num_requests_waiting{namespace="llm-serving-test",model_name="team/llama:8b"})'


def _vllm_args(run, name: str) -> list[str]:
    (container,) = [
        c
        for c in run.one("Deployment", name).inputs["spec"]["template"]["spec"]["containers"]
        if c["name"] == "vllm"
    ]
    return container["args"]


def test_strings_pulumi_config_set_leaves_are_read_by_the_schema_type():
    """`pulumi config set --path` leaves floats, '0128' and `--type string` values as
    strings, and top-level values are always strings: each is read as the int, float or
    bool its key expects, nested or not."""
    config = stack("Pulumi.dev.yaml")
    for path, text in [
        (pool("replicas"), "2"),
        (pool("maxNumSeqs"), "0128"),
        (pool("gpuMemoryUtilization"), "0.85"),
        (pool("overheadGib"), "5e-1"),
        (pool("enablePrefixCaching"), "False"),
        (pool("blockSize"), "16"),
        (("monitoring", "enabled"), "true"),
        (("createNamespace",), "false"),
    ]:
        set_path(config, path, text)
    outcome = run_outcome(config)
    assert outcome.error is None, outcome.error
    assert outcome.run.one("Deployment", DEV_POOL).inputs["spec"]["replicas"] == 2
    args = _vllm_args(outcome.run, DEV_POOL)
    assert args[args.index("--gpu-memory-utilization") + 1] == "0.85"
    assert args[args.index("--max-num-seqs") + 1] == "128"
    assert args[args.index("--block-size") + 1] == "16"
    assert "--no-enable-prefix-caching" in args
    assert outcome.run.of_kind("Namespace") == [] and outcome.run.of_kind("ServiceMonitor")


def test_a_string_that_is_no_number_is_refused_with_the_accepted_forms():
    config = set_path(stack("Pulumi.dev.yaml"), pool("replicas"), "2.0")
    error = run_outcome(config).error or ""
    assert f'llm-serving:pools.{DEV_POOL}.replicas = "2.0"' in error
    assert "`pulumi config set`" in error and '"2"' in error
    config = set_path(stack("Pulumi.dev.yaml"), ("monitoring", "enabled"), "yes")
    error = run_outcome(config).error or ""
    assert 'llm-serving:monitoring.enabled = "yes"' in error and '"true"' in error and "yes/no" in error


@pytest.mark.parametrize("text", ["1e1", "+8", "0.5", "1500m"])
def test_every_quantity_the_schema_accepts_is_read_by_the_quota(text):
    """The quota sums CPU with the schema's own parser: no accepted form crashes it."""
    config = set_path(stack("Pulumi.dev.yaml"), pool("resources", "cpu"), text)
    set_path(config, ("quota", "enabled"), True)
    outcome = run_outcome(config)
    assert outcome.error is None, outcome.error
    assert outcome.run.of_kind("ResourceQuota")


@pytest.mark.parametrize(
    "text, reason",
    [
        ("1e400", "larger than a Kubernetes quantity can be"),
        ("99999999999999999999Ei", "larger than a Kubernetes quantity can be"),
        ("1e-400", "smaller than 1n"),
        ("2Ei", "more than 1Ei"),
        ("500m", "not a whole number of bytes"),
    ],
)
def test_an_absurd_quantity_names_the_key_the_value_and_the_fix(text, reason):
    error = run_outcome(set_path(stack("Pulumi.dev.yaml"), ("modelCache", "size"), text)).error or ""
    assert f'llm-serving:modelCache.size = "{text}": is' in error and reason in error
    assert "Fix: write it like 32Gi" in error or "Fix: write it like 512Mi or 32Gi" in error


@pytest.mark.parametrize(
    "path, shown, home",
    [
        (("hf_token",), "llm-serving:hf_token", "pulumi config set --secret hfToken <token>"),
        (("HF_TOKEN",), "llm-serving:HF_TOKEN", "huggingFace.existingSecret"),
        (("api_key",), "llm-serving:api_key", "auth.existingSecret"),
        (pool("hf_token"), f"llm-serving:pools.{DEV_POOL}.hf_token", "pulumi config set --secret hfToken"),
        (pool("apiKey"), f"llm-serving:pools.{DEV_POOL}.apiKey", "auth.existingSecret"),
        (pool("db_password"), f"llm-serving:pools.{DEV_POOL}.db_password", "secretKeyRef"),
        (("acme:hf_token",), "acme:hf_token", "pulumi config set --secret hfToken"),
        (("llm-servng:api_key",), "llm-servng:api_key", "auth.existingSecret"),
    ],
)
def test_a_key_named_like_a_credential_is_named_with_where_credentials_belong(path, shown, home):
    error = run_outcome(set_path(stack("Pulumi.dev.yaml"), path, HF_LIKE)).error or ""
    assert f"{shown}: " in error and home in error and "revoke it" in error, error
    assert HF_LIKE not in error and "looks like a credential" not in error


def test_a_key_that_is_itself_a_token_stays_masked():
    for key in (HF_LIKE, RANDOM_KEY, "AKIAIOSFODNN7EXAMPLE"):
        error = run_outcome(set_path(stack("Pulumi.dev.yaml"), pool(key), "x")).error or ""
        assert f"llm-serving:pools.{DEV_POOL}.<a key that looks like a credential>: unknown key" in error
        assert key not in error and "revoke it" in error


def test_a_read_write_once_claim_that_needs_more_gpus_than_a_node_gives_the_numbers():
    config = set_path(stack("Pulumi.dev.yaml"), ("modelCache",), {"mode": "pvc"})
    set_path(config, pool("replicas"), 3)
    set_path(config, pool("tensorParallelSize"), 4)
    error = run_outcome(config).error or ""
    assert 'llm-serving:modelCache.pvc.accessMode = "ReadWriteOnce"' in error
    assert "3 pods (its replicas) x 4 GPUs = 12 GPUs, more than a node's 8" in error
    assert "ReadWriteMany" in error and "longhorn" in error and f"pools.{DEV_POOL}.replicas to 2" in error


def test_a_read_write_once_claim_that_fits_a_node_warns(caplog):
    config = set_path(stack("Pulumi.dev.yaml"), ("modelCache",), {"mode": "pvc"})
    outcome = run_outcome(config)
    assert outcome.error is None, outcome.error
    warning = "pools.llama-3-1-8b-multi: 3 pods share one ReadWriteOnce model-cache claim"
    assert any(warning in record.getMessage() for record in caplog.records)


def test_a_pinned_host_path_claim_counts_every_pools_gpus():
    """Dev's four pools need 1 + 1 + 1 + 3 (HPA maximum) GPUs at once on the pinned node."""
    config = set_path(stack("Pulumi.dev.yaml"), ("modelCache", "hostPath", "nodeName"), "workstation")
    assert run_outcome(config).error is None
    set_path(config, ("gpu", "maxGpusPerNode"), 4)
    error = run_outcome(config).error or ""
    assert 'llm-serving:modelCache.hostPath.nodeName = "workstation"' in error
    assert "they need 6 GPUs at once" in error and "more than the node's 4" in error
    assert f"pools.{DEV_POOL} 1 pod x 1 GPU" in error and "unset modelCache.hostPath.nodeName" in error


def test_a_pinned_host_path_claim_refuses_a_multi_node_pool():
    config = stack("examples/multinode-405b.yaml")
    set_path(config, ("modelCache", "hostPath", "nodeName"), "node-1")
    error = run_outcome(config).error or ""
    assert "llm-serving:modelCache.hostPath.nodeName" in error and "spans 2 nodes" in error


# What the real CLI writes: `pulumi config set` (scripts/pulumi, the engine the tests
# build) on a copy of dev's stack file, then the program run on the file it wrote.
CLI_SETTINGS = [
    ["--path", "llm-serving:pools.llama-3-1-8b.replicas", "2"],
    ["--path", "llm-serving:pools.llama-3-1-8b.gpuMemoryUtilization", "0.9"],
    ["--path", "llm-serving:pools.llama-3-1-8b.maxNumSeqs", "128", "--type", "string"],
    ["--path", "llm-serving:monitoring.enabled", "true"],
    ["llm-serving:createNamespace", "false"],
]


def test_values_written_by_pulumi_config_set_are_accepted(tmp_path) -> None:
    pulumi = ROOT / "scripts" / "pulumi"
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", project)
    shutil.copy(ROOT / "Pulumi.dev.yaml", project)
    (tmp_path / "state").mkdir()
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "cli-scalars",
    }
    cwd = ["--cwd", str(project)]
    subprocess.run([pulumi, "stack", "init", "dev", *cwd], check=True, capture_output=True, env=env)
    for arguments in CLI_SETTINGS:
        subprocess.run([pulumi, "config", "set", *arguments, "-s", "dev", *cwd], check=True, env=env)
    written = stack_file_config(project / "Pulumi.dev.yaml")
    pool = written["llm-serving:pools"]["llama-3-1-8b"]
    # What the CLI leaves as strings, so the schema must read them:
    assert pool["gpuMemoryUtilization"] == "0.9" and pool["maxNumSeqs"] == "128"
    assert written["llm-serving:createNamespace"] == "false"
    outcome = run_outcome(written)
    assert outcome.error is None, outcome.error
    deployments = {
        r.inputs["metadata"]["name"]: r.inputs
        for r in outcome.run.resources
        if r.type == "kubernetes:apps/v1:Deployment"
    }
    args = deployments["llama-3-1-8b"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert deployments["llama-3-1-8b"]["spec"]["replicas"] == 2
    assert args[args.index("--gpu-memory-utilization") + 1] == "0.9"
    assert args[args.index("--max-num-seqs") + 1] == "128"
