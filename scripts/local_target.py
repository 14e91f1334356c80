"""The local target: a stack's config, adapted to the fake-GPU cluster of scripts/local-cluster.

`make up` deploys a stack there with the real engine (scripts/pulumi). The stack's own
file (Pulumi.<stack>.yaml) is left alone; this writes a copy for `--config-file` with
these differences, each printed with its reason on every run:

- Helm add-ons (GPU Operator, Longhorn, kube-prometheus-stack, the LeaderWorkerSet
  controller, the gateway implementation) off: their charts cannot be fetched
  offline (the local cluster runs its own LeaderWorkerSet controller).
- Without an `hfToken`, a placeholder Secret stands in (`huggingFace.existingSecret`):
  nothing is downloaded on fake nodes. The namespace is made here
  (`createNamespace: false`), since that Secret must exist in it first.
- Claims of a storage class with no provisioner here (Longhorn's, a named `pvc`
  class) get a pre-bound hostPath volume, as the provisioner would provide.
- The Ingress is not awaited (`pulumi.com/skipAwait`): no ingress controller runs
  here to give it an address.
- When the real node runs (`scripts/local-cluster up --real-node`, as `make up` does),
  the pools it can hold run there (scripts/real_node_pools.py says which and why),
  with the CPU, memory and KV-cache space this machine has; every other pool stays on
  a simulated node. Their stand-in weights are written into the cache first.

Each stack deploys into its own namespace: the stack file's `namespace`, else
`llm-serving-<stack>` (as on any cluster), so `make up` (dev) and `make preview
STACK=prod` never meet.
The API key is the stack's own: random.RandomPassword, with the random provider
built by scripts/tools.sh.

Usage: python scripts/local_target.py STACK [--namespace NS] [--out FILE]
creates the stack in the local backend if needed and prints the path of the config
file to pass to `scripts/pulumi up -s STACK --config-file`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from config.names import SHARED_CLAIM_NAME, pool_claim_name  # noqa: E402
from config.stack import StackConfig, stack_namespace  # noqa: E402
from local_cluster import KUBECONFIG, ClusterError, kubectl  # noqa: E402
from real_node_pools import plan_real_node  # noqa: E402

HF_TOKEN_SECRET = "hf-token-local"


def helm_addons(stack: StackConfig) -> list[tuple[tuple[str, ...], bool]]:
    """(config key path, whether the stack installs it) of every Helm add-on."""
    return [
        (("gpu", "operator"), stack.gpu.operator.install),
        (
            ("modelCache", "longhorn"),
            stack.model_cache.mode == "longhorn" and stack.model_cache.longhorn.install,
        ),
        (
            ("monitoring", "kubePrometheusStack"),
            stack.monitoring.enabled and stack.monitoring.kube_prometheus_stack.install,
        ),
        # The local cluster runs its own LeaderWorkerSet controller (scripts/local-cluster).
        (("leaderWorkerSet",), stack.leader_worker_set.install),
        (
            ("inferenceGateway", "implementation"),
            bool(stack.inference_gateway.routes) and stack.inference_gateway.implementation.install,
        ),
    ]


def note(message: str) -> None:
    print(f"[local-target] {message}", file=sys.stderr)


def local_config(stack_file: Path, namespace: str) -> tuple[dict, list[str]]:
    """The stack file adapted to the local cluster, and the add-ons it turned off."""
    document = yaml.safe_load(stack_file.read_text()) or {}
    config = document.setdefault("config", {})
    skipped = []
    for path, installed in helm_addons(parse(config)):
        if installed:
            section, *inner = path
            node = config.setdefault(f"llm-serving:{section}", {})
            for key in inner:
                node = node.setdefault(key, {})
            node["install"] = False
            skipped.append(".".join(path))
    config["llm-serving:namespace"] = namespace
    config["llm-serving:createNamespace"] = False
    ingress = config.get("llm-serving:ingress", {})
    if ingress.get("enabled"):
        annotations = {**ingress.get("annotations", {}), "pulumi.com/skipAwait": "true"}
        config["llm-serving:ingress"] = {**ingress, "annotations": annotations}
    hugging_face = config.get("llm-serving:huggingFace", {})
    if "llm-serving:hfToken" not in config and not hugging_face.get("existingSecret"):
        config["llm-serving:huggingFace"] = {**hugging_face, "existingSecret": HF_TOKEN_SECRET}
    return document, skipped


def parse(config: dict) -> StackConfig:
    """The stack's effective settings (defaults applied); the token is not needed."""
    values = {key.removeprefix("llm-serving:"): value for key, value in config.items()}
    values.pop("hfToken", None)
    return StackConfig.model_validate(values)


def stand_in_volumes(stack: StackConfig) -> list[dict]:
    """Pre-bound volumes for claims whose storage class has no provisioner here."""
    cache = stack.model_cache
    if cache.mode == "longhorn":
        claims = [(SHARED_CLAIM_NAME, "ReadWriteMany", cache.longhorn.storage_class_name)]
    elif cache.mode == "pvc" and cache.pvc.storage_class_name:
        claims = [
            (pool_claim_name(pool), cache.pvc.access_mode, cache.pvc.storage_class_name)
            for pool in stack.serving_pools()
        ]
    else:
        claims = []
    return [
        prebound_volume(stack.namespace, claim, cache.size, access_mode, storage_class)
        for claim, access_mode, storage_class in claims
    ]


def prebound_volume(namespace: str, claim: str, size: str, access_mode: str, storage_class: str) -> dict:
    """A hostPath volume bound to `claim` up front, standing in for a provisioner the
    local cluster lacks (Longhorn's, a cloud's): the claim binds as it would there."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"{namespace}-{claim}-standin"},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": [access_mode],
            "storageClassName": storage_class,
            "persistentVolumeReclaimPolicy": "Retain",
            "hostPath": {"path": f"/tmp/llm-serving-local/{namespace}/{claim}"},
            "claimRef": {"namespace": namespace, "name": claim},
        },
    }


def engine_env(state: Path, passphrase: str) -> dict[str, str]:
    """scripts/pulumi's environment for a run with its own file backend, on the local cluster."""
    return {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "KUBECONFIG": str(KUBECONFIG),
    }


def prepare(stack_file: Path, namespace: str, out: Path) -> Path:
    """Write the local config file and create what it refers to; idempotent."""
    if not KUBECONFIG.exists():
        raise SystemExit("[local-target] the local cluster is not up: run `make cluster-up`")
    document, skipped = local_config(stack_file, namespace)
    config = document["config"]
    real_node = plan_real_node(parse(config))
    if real_node is not None:
        real_node.apply(config)
    stack = parse(config)
    if real_node is not None:
        for line in real_node.notes():
            note(line)
        real_node.place_weights(stack)

    for addon in skipped:
        note(f"skipped {addon}: Helm charts cannot be fetched offline")
    if stack.ingress.enabled:
        note("Ingress not awaited (pulumi.com/skipAwait): no ingress controller gives it an address here")
    objects: list[dict] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {"app.kubernetes.io/part-of": "llm-serving"}},
        }
    ]
    kubectl(
        "apply",
        "--server-side",
        "--field-manager=llm-serving-local",
        "-f",
        "-",
        input_text=json.dumps(objects[0]),
    )
    existing = set(kubectl("get", "secrets", "-n", namespace, "-o", "name").split())
    if config.get("llm-serving:huggingFace", {}).get("existingSecret") == HF_TOKEN_SECRET:
        note(f"no hfToken set: placeholder Secret {HF_TOKEN_SECRET} (fake nodes download nothing)")
        if f"secret/{HF_TOKEN_SECRET}" not in existing:
            objects.append(secret(HF_TOKEN_SECRET, namespace, stack.hugging_face.secret_key, "placeholder"))
    volumes = stand_in_volumes(stack)
    for volume in volumes:
        note(f"stand-in volume {volume['metadata']['name']} for claim {volume['spec']['claimRef']['name']}")
    for item in objects[1:] + volumes:
        kubectl(
            "apply",
            "--server-side",
            "--field-manager=llm-serving-local",
            "-f",
            "-",
            input_text=json.dumps(item),
        )

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        # Keep what the engine wrote there (encryption salt, secrets set with --config-file).
        previous = yaml.safe_load(out.read_text()) or {}
        for key, value in previous.items():
            if key != "config":
                document.setdefault(key, value)
    out.write_text(
        f"# Generated by scripts/local_target.py from {stack_file.name} for the local cluster; do not edit.\n"
        + yaml.safe_dump(document, sort_keys=False)
    )
    return out


def ensure_stack(stack_name: str, env: dict[str, str] | None = None) -> None:
    """Create the stack in scripts/pulumi's backend if it does not exist yet.

    `pulumi stack init` writes the passphrase's salt into the project's stack file;
    run from a copy of Pulumi.yaml, it leaves the committed Pulumi.<stack>.yaml alone
    (the engine keeps the salt in the --config-file copy instead).
    """
    pulumi = str(ROOT / "scripts" / "pulumi")
    listed = subprocess.run(
        [pulumi, "stack", "ls", "--json"], check=True, capture_output=True, text=True, env=env
    )
    if any(entry["name"] == stack_name for entry in json.loads(listed.stdout or "[]")):
        return
    # A fresh copy each time: a stack file left there holds another passphrase's salt.
    with tempfile.TemporaryDirectory(prefix="llm-serving-stack-init-") as project:
        (Path(project) / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
        subprocess.run(
            [pulumi, "stack", "init", stack_name, "--no-select", "--cwd", project],
            check=True,
            stdout=sys.stderr,
            env=env,
        )


def secret(name: str, namespace: str, key: str, value: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "stringData": {key: value},
    }


def default_namespace(stack_file: Path, stack_name: str) -> str:
    """The namespace the stack deploys to: its own setting, else llm-serving-<stack>."""
    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    return config.get("llm-serving:namespace") or stack_namespace(stack_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stack")
    parser.add_argument("--namespace", help="default: the stack's namespace, else llm-serving-<stack>")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or ROOT / ".local" / "pulumi" / f"Pulumi.{args.stack}.local.yaml"
    stack_file = ROOT / f"Pulumi.{args.stack}.yaml"
    namespace = args.namespace or default_namespace(stack_file, args.stack)
    try:
        config_file = prepare(stack_file, namespace, out)
    except ClusterError as error:
        raise SystemExit(f"[local-target] {error}") from None
    ensure_stack(args.stack)
    print(config_file)


if __name__ == "__main__":
    main()
