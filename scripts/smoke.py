"""`make smoke STACK=<stack>`: one chat completion through each entry that runs for real.

After `make up`, the pools on the local cluster's real node (scripts/real_node_pools.py)
serve from vLLM processes in containers. For each, this sends one streaming chat
completion to the pool's Service (its ClusterIP, through kube-proxy's rules on this
machine) with the stack's API key, and prints the reply and the time to the first
token; it also checks that the same request without the key gets 401 and no answer.
The answers are from generated stand-in weights (random text), not the real model.

Pools on simulated nodes have no process behind them and are listed as such.
Exit status: 0 when every real pool answered, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import socket
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import local_target  # noqa: E402
from config.stack import StackConfig  # noqa: E402
from local_cluster import ClusterError, kubectl  # noqa: E402
from real_node_pools import HOSTNAME_LABEL, REAL_NODE_LABEL, ready_nodes  # noqa: E402

READY_TIMEOUT_SECONDS = 600
REQUEST_TIMEOUT_SECONDS = 120
PROMPT = "Say hello to the platform team."


def say(message: str) -> None:
    print(f"[smoke] {message}", flush=True)


def local_stack(stack_name: str) -> StackConfig:
    """The stack as the local target deployed it (its generated config file)."""
    path = ROOT / ".local" / "pulumi" / f"Pulumi.{stack_name}.local.yaml"
    if not path.exists():
        raise ClusterError(f"{path} is missing: run `make up STACK={stack_name}` first")
    return local_target.parse((yaml.safe_load(path.read_text()) or {}).get("config") or {})


def api_key(stack: StackConfig) -> str | None:
    auth = stack.auth
    if not auth.enabled:
        return None
    encoded = kubectl(
        "get",
        "secret",
        "-n",
        stack.namespace,
        auth.effective_secret_name,
        "-o",
        f"jsonpath={{.data.{auth.secret_key}}}",
    )
    return base64.b64decode(encoded).decode()


def wait_ready(namespace: str, deployment: str) -> None:
    kubectl(
        "rollout",
        "status",
        "-n",
        namespace,
        f"deployment/{deployment}",
        f"--timeout={READY_TIMEOUT_SECONDS}s",
    )


def wait_for_service(host: str, port: int, within_seconds: int = 30) -> None:
    """Until the Service's address accepts a connection: kube-proxy programs it one
    sync after the pod turns Ready (a second or so), so right after a rollout the
    address can still refuse."""
    deadline = time.monotonic() + within_seconds
    while True:
        try:
            socket.create_connection((host, port), timeout=5).close()
            return
        except OSError as error:
            if time.monotonic() > deadline:
                message = f"Service {host}:{port} still refuses after {within_seconds}s: {error}"
                raise ClusterError(message) from None
            time.sleep(1)


def chat(host: str, port: int, model: str, key: str | None) -> tuple[int, str, float | None, float]:
    """(status, reply, seconds to the first token, seconds in all) of one streaming request."""
    body = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 16,
        "stream": True,
    }
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_SECONDS)
    started = time.monotonic()
    first_token = None
    reply = []
    try:
        connection.request("POST", "/v1/chat/completions", json.dumps(body), headers)
        response = connection.getresponse()
        if response.status != 200:
            return (
                response.status,
                response.read().decode(errors="replace")[:200],
                None,
                time.monotonic() - started,
            )
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            delta = json.loads(line[len("data: ") :])["choices"][0]["delta"].get("content")
            if delta:
                first_token = first_token or time.monotonic() - started
                reply.append(delta)
        return 200, "".join(reply), first_token, time.monotonic() - started
    finally:
        connection.close()


def smoke(stack_name: str) -> int:
    stack = local_stack(stack_name)
    real = {node["metadata"]["name"] for node in ready_nodes(f"{REAL_NODE_LABEL}=true")}
    if not real:
        raise ClusterError(
            "no real node is Ready: `make up` starts one (scripts/local-cluster up --real-node)"
        )
    key = api_key(stack)
    failures = 0
    for name, pool in stack.pools.items():
        if pool.node_selector.get(HOSTNAME_LABEL) not in real:
            say(f"{name}: on a simulated node (no process behind it), not asked")
            continue
        wait_ready(stack.namespace, name)
        address = kubectl("get", "service", "-n", stack.namespace, name, "-o", "jsonpath={.spec.clusterIP}")
        wait_for_service(address, pool.service.port)
        status, reply, first_token, total = chat(address, pool.service.port, pool.served_name, key)
        if status != 200 or first_token is None:
            say(f"{name}: FAILED, HTTP {status}: {reply!r}")
            failures += 1
            continue
        say(
            f"{name}: answered through Service {name} ({address}:{pool.service.port}) in {total:.2f}s, "
            f"first token after {first_token:.3f}s: {reply!r} (stand-in weights: the text is random)"
        )
        if key is not None:
            status, body, _, _ = chat(address, pool.service.port, pool.served_name, None)
            if status != 401:
                say(f"{name}: FAILED, without the API key it answered HTTP {status}: {body!r}")
                failures += 1
            else:
                say(f"{name}: without the API key: HTTP 401, no answer")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stack", nargs="?", default="dev")
    args = parser.parse_args()
    try:
        return smoke(args.stack)
    except ClusterError as error:
        print(f"[smoke] error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
