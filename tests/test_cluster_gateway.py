"""The inference gateway's objects on the local cluster: every custom resource is
accepted by the API server, and the real endpoint picker (built from its module by
scripts/tools.sh) runs against it with our arguments, our plugin configuration and
only the Role we give its ServiceAccount."""

from __future__ import annotations

import copy
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from harness import ROOT, run_program, stack_file_config
from kube import apply, delete, kubectl, prebound_volume
from local_cluster import API_PORT, KUBECONFIG

EXAMPLE = ROOT / "examples" / "llm-d-gateway.yaml"
POOL = "llama-3-1-8b"
NAMESPACE = "e2e-gateway"
# Ports of the picker run here, clear of other worktrees' clusters.
EPP_PORTS = {
    "--grpc-port": API_PORT + 300,
    "--grpc-health-port": API_PORT + 301,
    "--metrics-port": API_PORT + 302,
}


@pytest.fixture(scope="module")
def gateway_objects(cluster):
    config = copy.deepcopy(stack_file_config(EXAMPLE))
    config["llm-serving:namespace"] = NAMESPACE
    config["llm-serving:modelCache"] = {"mode": "pvc", "prefetch": {"enabled": False}}
    objects = run_program(config).manifests()
    for claim in [o for o in objects if o["kind"] == "PersistentVolumeClaim"]:
        claim["spec"]["storageClassName"] = ""
        objects.append(prebound_volume(claim, NAMESPACE))
    objects.sort(key=lambda o: 0 if o["kind"] == "Namespace" else 1)
    try:
        apply(objects)
        kubectl("wait", "--for=condition=Available", "deployment", "--all", "-n", NAMESPACE, "--timeout=180s")
        yield objects
    finally:
        delete(objects, NAMESPACE)


def test_gateway_custom_resources_are_stored_as_sent(gateway_objects):
    kinds = {"Gateway", "HTTPRoute", "InferencePool", "InferenceObjective"}
    sent = [o for o in gateway_objects if o["kind"] in kinds]
    assert {o["kind"] for o in sent} == kinds
    for obj in sent:
        stored = yaml.safe_load(
            kubectl("get", obj["kind"], obj["metadata"]["name"], "-n", NAMESPACE, "-o", "yaml")
        )
        for key, value in obj["spec"].items():
            assert stored["spec"][key] == value or _defaulted_superset(stored["spec"][key], value), (
                obj["kind"],
                key,
            )


def _defaulted_superset(stored, sent) -> bool:
    """The API server may add defaults (e.g. a backendRef's weight); what we sent stays."""
    if isinstance(sent, dict):
        return isinstance(stored, dict) and all(
            _defaulted_superset(stored.get(k), v) for k, v in sent.items()
        )
    if isinstance(sent, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(sent)
            and all(map(_defaulted_superset, stored, sent))
        )
    return stored == sent


def _service_account_kubeconfig(path: Path) -> Path:
    """A kubeconfig with the picker's ServiceAccount token: it runs with our Role only."""
    token = kubectl("create", "token", f"{POOL}-epp", "-n", NAMESPACE, "--duration=10m").strip()
    admin = yaml.safe_load(KUBECONFIG.read_text())
    admin["users"] = [{"name": "epp", "user": {"token": token}}]
    admin["contexts"] = [
        {"name": "epp", "context": {"cluster": "local", "user": "epp", "namespace": NAMESPACE}}
    ]
    admin["current-context"] = "epp"
    path.write_text(yaml.safe_dump(admin))
    return path


def test_the_real_picker_runs_with_our_config_and_least_privilege_role(gateway_objects, tmp_path):
    epp = subprocess.run(
        [str(ROOT / "scripts" / "tools.sh"), "path", "epp"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert Path(epp).exists(), f"the endpoint picker is not built at {epp}; run `make tools`"
    config_map = next(
        o for o in gateway_objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == f"{POOL}-epp"
    )
    (tmp_path / "plugins.yaml").write_text(config_map["data"]["plugins.yaml"])
    deployment = next(
        o for o in gateway_objects if o["kind"] == "Deployment" and o["metadata"]["name"] == f"{POOL}-epp"
    )
    args = list(deployment["spec"]["template"]["spec"]["containers"][0]["args"])
    args[args.index("--config-file") + 1] = str(tmp_path / "plugins.yaml")
    for flag, port in EPP_PORTS.items():
        args[args.index(flag) + 1] = str(port)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "KUBECONFIG": str(_service_account_kubeconfig(tmp_path / "kubeconfig")),
        "NAMESPACE": NAMESPACE,
        "POD_NAME": "local-test",
    }
    log = tmp_path / "epp.log"
    with log.open("w") as out:
        process = subprocess.Popen([epp, *args], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline and process.poll() is None:
            text = log.read_text()
            if "loaded configuration from file/text successfully" in text and "Starting workers" in text:
                break
            time.sleep(1)
        time.sleep(3)  # let the informers list and watch what the Role allows
        text = log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert "loaded configuration from file/text successfully" in text, text[-3000:]
    assert "Starting workers" in text, text[-3000:]
    assert "forbidden" not in text.lower(), text[-3000:]
