"""The dev stack answering for real: `make up`'s path, by the engine, on the real node.

The dev stack file goes through the local target (scripts/local_target.py), as `make up`
runs it: its Llama pool on the real node (vLLM's CPU build in a container, stand-in
weights in the hostPath cache under the pinned revision), its other pools on simulated
nodes. The real engine (scripts/pulumi) deploys it into its own namespace and backend.
Then, through the pool's Service (its ClusterIP, kube-proxy's rules on this machine):

- a streaming chat completion and a plain completion answer with the stack's API key,
  and the same requests without it get 401 and no completion;
- a request for the pool's LoRA adapter (the test's copy of the stack file adds one,
  from the hub at a pinned commit; the local target writes its stand-in where the
  adapters Job would have) is answered by the adapter: `/v1/models` lists it on the
  base model, and its log-probabilities differ from the base model's for one prompt;
- every vLLM metric the stack's deployed alert rules and dashboards read is in the
  running pod's `/metrics` after that traffic (a renamed or CPU-less metric fails);
- a rolling update of the pool to a new model revision completes while a client keeps
  sending requests, and every one of them is answered: the test's copy of the stack
  file asks for a zero-downtime rollout (`rollout.maxSurge: 1, maxUnavailable: 0`),
  for which the local target gives each of the two pods half the node, and the
  rendered preStop drain (`rollout.drainSeconds`) covers the old pod's removal from
  the Service;
- `destroy` leaves only the model cache (its claim, and the weights on the host).

Needs root, the real node's tools (`make node-tools`) and vLLM's image (built and
imported by scripts/local_images.py on first use: minutes, cached by version).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import threading
import time
from pathlib import Path

import pytest
import yaml

import local_images
import local_target
import real_node
from engine import backend_env, left_after_destroy, pulumi
from harness import ROOT
from kube import get, kubectl, remove_namespace_and_its_volumes
from smoke import api_key, chat, wait_for_service

STACK = "dev"
NAMESPACE = "e2e-real-node-dev"
POOL = "llama-3-1-8b"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
SERVED_NAME = "llama-3.1-8b"
# A second revision of the model for the rolling update: a made-up commit, for which
# the local target writes stand-in weights as it does for the pinned one.
NEXT_REVISION = hashlib.sha1(b"llm-serving stand-in revision 2").hexdigest()
# The LoRA adapter the test's copy of the stack serves on the pool, at a made-up commit.
ADAPTER = "support-tone"
ADAPTER_REPO = "llm-serving-standin/llama-3.1-8b-support-tone-lora"
ADAPTER_REVISION = hashlib.sha1(b"llm-serving stand-in adapter 1").hexdigest()
# The client during the rollout: one request a second, bounded in count and time.
ROLLOUT_CLIENT_MAX_REQUESTS = 900
ROLLOUT_CLIENT_PAUSE_SECONDS = 1.0
ROLLOUT_TIMEOUT_SECONDS = 900

REQUEST_TIMEOUT_SECONDS = 120

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the real node needs root (CI runs as root)")


@pytest.fixture(scope="module")
def node(cluster):
    """The real node with vLLM's image, up for this module (left running if it was up)."""
    was_ready = real_node.node_ready()
    real_node.up(images=[local_images.VLLM_REF])
    yield real_node.NODE_NAME
    if not was_ready:
        real_node.down()


def stack_file(work: Path, revision: str) -> Path:
    """The dev stack file with a zero-downtime rollout and a LoRA adapter for the pool,
    pinned at `revision`."""
    document = yaml.safe_load((ROOT / f"Pulumi.{STACK}.yaml").read_text())
    config = document["config"]
    pool = config["llm-serving:pools"][POOL]
    pool["rollout"] = {"maxSurge": 1, "maxUnavailable": 0}
    pool["lora"] = {"adapters": {ADAPTER: {"hub": ADAPTER_REPO, "rank": 8, "baseModel": MODEL}}}
    config["llm-serving:release"]["modelRevisions"][MODEL] = revision
    config["llm-serving:release"]["modelRevisions"][ADAPTER_REPO] = ADAPTER_REVISION
    path = work / f"Pulumi.{STACK}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def served(node, tmp_path_factory):
    """The stack, up: what the checks need; destroyed after them."""
    work = tmp_path_factory.mktemp("real-node-dev")
    (work / "state").mkdir()
    env = backend_env(work / "state")
    committed = yaml.safe_load((ROOT / f"Pulumi.{STACK}.yaml").read_text())
    first_revision = committed["config"]["llm-serving:release"]["modelRevisions"][MODEL]
    config_file = work / f"Pulumi.{STACK}.local.yaml"
    local_target.prepare(stack_file(work, first_revision), NAMESPACE, config_file)
    local_target.ensure_stack(STACK, env)
    base = ["-s", STACK, "--config-file", str(config_file)]
    started = time.monotonic()
    pulumi(env, "up", "--yes", "--skip-preview", *base)
    print(f"\n[real node] pulumi up of {STACK} until its pool answers: {time.monotonic() - started:.1f}s")
    run = {"env": env, "base": base, "work": work, "config_file": config_file}
    try:
        yield run
    finally:
        pulumi(env, "destroy", "--yes", *base, check=False)
        remove_namespace_and_its_volumes(NAMESPACE)


def service_address() -> tuple[str, int]:
    service = json.loads(kubectl("get", "service", "-n", NAMESPACE, POOL, "-o", "json"))
    return service["spec"]["clusterIP"], service["spec"]["ports"][0]["port"]


@pytest.fixture(scope="module")
def key(served) -> str:
    """The stack's own API key (its RandomPassword), read from the Secret pods read."""
    stack = local_target.parse(yaml.safe_load(served["config_file"].read_text())["config"])
    value = api_key(stack)
    assert value, "the dev stack has API-key auth on"
    return value


def complete(host: str, port: int, key: str | None, **fields) -> tuple[int, dict]:
    """One non-streaming completion: (status, the body as JSON, {} if it is not JSON)."""
    body = {"model": SERVED_NAME, "prompt": "The platform team", "max_tokens": 4, **fields}
    return request(host, port, key, "POST", "/v1/completions", body)


def request(
    host: str, port: int, key: str | None, method: str, path: str, body: dict | None
) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, {}
    finally:
        connection.close()


def pool_pods() -> list[dict]:
    """The pool's pods that are not being deleted."""
    pods = get("pods", NAMESPACE)
    return [
        pod
        for pod in pods
        if pod["metadata"]["labels"].get("app.kubernetes.io/instance") == POOL
        and pod["metadata"]["labels"].get("app.kubernetes.io/component") == "inference"
        and "deletionTimestamp" not in pod["metadata"]
    ]


def served_revision(pod: dict) -> str:
    (container,) = [c for c in pod["spec"]["containers"] if c["name"] == "vllm"]
    args = container["args"]
    return args[args.index("--revision") + 1]


def test_the_pool_answers_through_its_service_with_the_key_and_refuses_without(served, key):
    host, port = service_address()
    (pod,) = pool_pods()
    assert pod["spec"]["nodeName"] == real_node.NODE_NAME
    wait_for_service(host, port)
    status, reply, first_token, total = chat(host, port, SERVED_NAME, key)
    assert status == 200 and reply and first_token is not None, (status, reply)
    print(f"\n[real node] streaming chat: first token after {first_token:.2f}s, {total:.2f}s in all")
    status, body = complete(host, port, key)
    assert status == 200 and body["choices"][0]["text"], body
    assert body["model"] == SERVED_NAME
    status, reply, _, _ = chat(host, port, SERVED_NAME, None)
    assert status == 401 and "choices" not in reply and "data:" not in reply, (status, reply)
    status, body = complete(host, port, None)
    assert status == 401 and "choices" not in body, (status, body)
    status, body = complete(host, port, "not-" + key)
    assert status == 401 and "choices" not in body, (status, body)


def test_the_lora_adapter_answers_requests_for_its_name(served, key):
    host, port = service_address()
    wait_for_service(host, port)
    status, models = request(host, port, key, "GET", "/v1/models", None)
    assert status == 200, models
    parents = {entry["id"]: entry.get("parent") for entry in models["data"]}
    assert parents.get(ADAPTER) == SERVED_NAME, parents
    greedy = {"prompt": "The platform team", "max_tokens": 1, "temperature": 0, "logprobs": 1}
    status, base = complete(host, port, key, **greedy)
    assert status == 200 and base["model"] == SERVED_NAME, base
    status, adapted = complete(host, port, key, **{**greedy, "model": ADAPTER})
    assert status == 200 and adapted["model"] == ADAPTER and adapted["choices"][0]["text"], adapted
    # Same prompt, greedy: only the adapter's weights can move the log-probabilities.
    base_logprob = base["choices"][0]["logprobs"]["token_logprobs"][0]
    adapted_logprob = adapted["choices"][0]["logprobs"]["token_logprobs"][0]
    print(f"\n[real node] first-token logprob: base {base_logprob:.6f}, adapter {adapted_logprob:.6f}")
    assert base_logprob != adapted_logprob, "the adapter's answer is the base model's"
    status, body = complete(host, port, None, model=ADAPTER)
    assert status == 401 and "choices" not in body, (status, body)
    # What the endpoint picker's LoRA affinity reads (GAIE's model server protocol):
    # vllm:lora_requests_info, its max_lora label the rendered --max-loras.
    (lora_info,) = [
        line for line in metrics(host, port).splitlines() if line.startswith("vllm:lora_requests_info{")
    ]
    assert 'max_lora="1"' in lora_info, lora_info


# A metric name followed by its label selector in PromQL.
METRIC_IN_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{")


def expressions_in(document: object) -> list[str]:
    """Every `expr` string anywhere in a dashboard's JSON."""
    if isinstance(document, dict):
        found = [document["expr"]] if isinstance(document.get("expr"), str) else []
        return found + [e for value in document.values() for e in expressions_in(value)]
    if isinstance(document, list):
        return [e for value in document for e in expressions_in(value)]
    return []


def metrics(host: str, port: int) -> str:
    """The pod's Prometheus exposition (vLLM serves /metrics without the API key)."""
    connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        exposition = response.read().decode()
    finally:
        connection.close()
    assert response.status == 200, exposition[:500]
    return exposition


def exported_samples(text: str) -> set[str]:
    """Sample names in a Prometheus text exposition (counters with `_total`, histograms
    as `_bucket`, `_sum`, `_count`)."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {line.split("{")[0].split(" ")[0] for line in lines}


def test_every_vllm_metric_the_deployed_rules_and_dashboards_read_is_exported(served, key):
    host, port = service_address()
    wait_for_service(host, port)
    status, _ = complete(host, port, key)  # traffic, so every request metric has samples
    assert status == 200
    rules = [
        rule["expr"]
        for rule_object in get("prometheusrules", NAMESPACE)
        for group in rule_object["spec"]["groups"]
        for rule in group["rules"]
    ]
    dashboards = [
        json.loads(text)
        for config_map in get("configmaps", NAMESPACE)
        if "grafana_dashboard" in config_map["metadata"].get("labels", {})
        for text in config_map.get("data", {}).values()
    ]
    used = {
        name
        for expression in rules + [e for dashboard in dashboards for e in expressions_in(dashboard)]
        for name in METRIC_IN_SELECTOR.findall(expression)
        if name.startswith("vllm:")
    }
    assert rules and dashboards and used, (len(rules), len(dashboards), used)
    samples = exported_samples(metrics(host, port))
    missing = sorted(name for name in used if name not in samples)
    print(f"\n[real node] {len(used)} vLLM metrics read by the stack's rules and dashboards, all exported")
    assert missing == [], f"read by our rules or dashboards, not exported by vLLM 0.19.1's pod: {missing}"


class Client(threading.Thread):
    """Sends one completion a second until stopped (bounded in count), recording
    each outcome: an HTTP status, or the connection error."""

    def __init__(self, host: str, port: int, key: str) -> None:
        super().__init__(daemon=True)
        self.address, self.key = (host, port), key
        self.outcomes: list[tuple[float, str]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        while not self.stopped.is_set() and len(self.outcomes) < ROLLOUT_CLIENT_MAX_REQUESTS:
            try:
                status, body = complete(*self.address, self.key)
                outcome = str(status) if status != 200 or body.get("choices") else "200 without choices"
            except OSError as error:
                outcome = f"{type(error).__name__}: {error}"
            self.outcomes.append((time.monotonic() - started, outcome))
            self.stopped.wait(ROLLOUT_CLIENT_PAUSE_SECONDS)


def test_a_rolling_update_to_a_new_revision_answers_every_request(served, key):
    (old,) = pool_pods()
    assert served_revision(old) != NEXT_REVISION
    # The new revision's stand-in weights, written by the local target as for the first.
    local_target.prepare(stack_file(served["work"], NEXT_REVISION), NAMESPACE, served["config_file"])
    client = Client(*service_address(), key)
    client.start()
    started = time.monotonic()
    try:
        pulumi(
            served["env"], "up", "--yes", "--skip-preview", *served["base"], timeout=ROLLOUT_TIMEOUT_SECONDS
        )
        rolled = time.monotonic() - started
        # The old pod drains and goes; keep asking until it is gone.
        kubectl("wait", "-n", NAMESPACE, "--for=delete", f"pod/{old['metadata']['name']}", "--timeout=180s")
        time.sleep(5)
    finally:
        client.stopped.set()
        client.join(timeout=REQUEST_TIMEOUT_SECONDS + 5)
    outcomes = client.outcomes
    failed = [(round(at, 1), outcome) for at, outcome in outcomes if outcome != "200"]
    print(
        f"\n[real node] rollout to {NEXT_REVISION[:12]}: {rolled:.1f}s, {len(outcomes)} requests, "
        f"{len(failed)} not answered"
    )
    assert len(outcomes) >= 30, f"the client sent only {len(outcomes)} requests during the rollout"
    assert failed == [], f"requests not answered during the rollout (seconds in, outcome): {failed[:10]}"
    (new,) = pool_pods()
    assert served_revision(new) == NEXT_REVISION and new["spec"]["nodeName"] == real_node.NODE_NAME


def test_destroy_leaves_only_the_model_cache(served):
    pulumi(served["env"], "destroy", "--yes", *served["base"])
    assert left_after_destroy(NAMESPACE) == {}
    assert pool_pods() == []
    claims = [c["metadata"]["name"] for c in get("persistentvolumeclaims", NAMESPACE)]
    assert claims == ["model-cache"]
    stack = local_target.parse(yaml.safe_load(served["config_file"].read_text())["config"])
    snapshots = Path(stack.model_cache.host_path.path) / "hub" / "models--meta-llama--Llama-3.1-8B-Instruct"
    assert (snapshots / "snapshots" / NEXT_REVISION / "config.json").exists(), "the cached weights are gone"
    adapter = Path(stack.model_cache.host_path.path) / "lora" / ADAPTER_REPO / ADAPTER_REVISION
    assert (adapter / "adapter_config.json").exists(), "the cached adapter is gone"
