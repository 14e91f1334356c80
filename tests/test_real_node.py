"""The local cluster's real node (scripts/real_node.py): pods run under its kubelet.

What the dev stack renders for its vLLM pods, run by a real kubelet, containerd and
runc, with kube-proxy's Services and kube-router's NetworkPolicy enforcement:

- the pod's and container's securityContext as rendered are enforced in the running
  process (UID and GID, no capabilities, seccomp filter, no new privileges, read-only
  root, writable only where an emptyDir is mounted);
- the rendered startup, readiness and liveness probes pass as the kubelet runs them;
- a Service answers from this machine through kube-proxy's rules, and a NetworkPolicy
  refuses a pod that is not a declared peer while admitting one that is.

These run a small Python image (the router's, built by scripts/local_images.py) in
place of vLLM's 4.7 GB one, which tests/test_real_node_serving.py, `make up` and
`make smoke` run for real. They need root (network namespaces, iptables, mounts), as
CI has.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request

import pytest

import local_images
import real_node
from harness import ROOT, run_program, stack_file_config
from kube import apply, kubectl

NAMESPACE = "real-node-test"
IMAGE = local_images.ROUTER_REF

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the real node needs root (CI runs as root)")


@pytest.fixture(scope="module")
def node(cluster):
    """The real node, up for this module (left running if it was up before)."""
    was_ready = real_node.node_ready()
    real_node.up(images=[IMAGE, local_images.EPP_REF])
    apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}])
    yield real_node.NODE_NAME
    kubectl("delete", "namespace", NAMESPACE, "--wait=true", "--timeout=120s", check=False)
    if not was_ready:
        real_node.down()


@pytest.fixture(scope="module")
def rendered_vllm_pod() -> dict:
    """The dev stack's first vLLM pod template, as the program registers it."""
    run = run_program(stack_file_config(ROOT / "Pulumi.dev.yaml"))
    deployment = run.one("Deployment", "llama-3-1-8b")
    return deployment.inputs["spec"]["template"]


def pod_on_node(name: str, spec: dict, labels: dict | None = None) -> dict:
    """A pod pinned to the real node (the GPU taint tolerated, as GPU pods do)."""
    spec = {
        **spec,
        "nodeSelector": {"kubernetes.io/hostname": real_node.NODE_NAME},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    }
    metadata = {"name": name, "namespace": NAMESPACE, "labels": labels or {"app": name}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def small_resources() -> dict:
    amounts = {"cpu": "100m", "memory": "96Mi"}
    return {"requests": amounts, "limits": amounts}


def wait_for(pod: str, condition: str, timeout: int = 180) -> None:
    kubectl("wait", "-n", NAMESPACE, f"--for={condition}", f"pod/{pod}", f"--timeout={timeout}s")


INSPECT = """
import json, os
status = dict(line.split(':', 1) for line in open('/proc/self/status') if ':' in line)
try:
    open('/written-to-root', 'w')
    root = 'writable'
except OSError as error:
    root = error.strerror
scratch = [m for m in ('/tmp',) if os.access(m, os.W_OK)]
print(json.dumps({'uid': os.getuid(), 'gid': os.getgid(), 'groups': sorted(os.getgroups()),
       'CapEff': status['CapEff'].strip(), 'CapPrm': status['CapPrm'].strip(),
       'Seccomp': status['Seccomp'].strip(), 'NoNewPrivs': status['NoNewPrivs'].strip(),
       'root': root, 'writable': scratch}))
"""


def test_the_rendered_security_context_is_enforced_in_the_running_process(node, rendered_vllm_pod):
    template = rendered_vllm_pod["spec"]
    (vllm,) = [c for c in template["containers"] if c["name"] == "vllm"]
    container = {
        "name": "inspect",
        "image": IMAGE,
        "command": ["python3", "-c", INSPECT],
        "securityContext": vllm["securityContext"],
        "resources": small_resources(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    spec = {
        "securityContext": template["securityContext"],
        "automountServiceAccountToken": template.get("automountServiceAccountToken"),
        "runtimeClassName": template.get("runtimeClassName"),
        "restartPolicy": "Never",
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    apply([pod_on_node("inspect", spec)])
    wait_for("inspect", "jsonpath={.status.phase}=Succeeded")
    seen = json.loads(kubectl("logs", "-n", NAMESPACE, "inspect"))
    context = template["securityContext"]
    assert seen["uid"] == context["runAsUser"] and seen["gid"] == context["runAsGroup"]
    assert context["fsGroup"] in seen["groups"]
    assert seen["CapEff"] == seen["CapPrm"] == "0000000000000000", "capabilities were not dropped"
    assert seen["Seccomp"] == "2", "no seccomp filter (RuntimeDefault) on the process"
    assert seen["NoNewPrivs"] == "1", "allowPrivilegeEscalation: false not enforced"
    assert seen["root"] == "Read-only file system" and seen["writable"] == ["/tmp"]


def test_the_rendered_probes_pass_as_the_kubelet_runs_them(node, rendered_vllm_pod):
    """A server answering vLLM's /health on the rendered port, probed by the rendered
    startup, readiness and liveness probes: Ready, and never restarted."""
    template = rendered_vllm_pod["spec"]
    (vllm,) = [c for c in template["containers"] if c["name"] == "vllm"]
    probes = {key: vllm[key] for key in ("startupProbe", "readinessProbe", "livenessProbe")}
    (port,) = vllm["ports"]
    path = probes["readinessProbe"]["httpGet"]["path"]
    serve = (
        f"import os; os.makedirs('/tmp/www{os.path.dirname(path)}', exist_ok=True); "
        f"open('/tmp/www{path}', 'w').write('ok'); os.chdir('/tmp/www'); "
        "import http.server; "
        f"http.server.test(http.server.SimpleHTTPRequestHandler, port={port['containerPort']})"
    )
    container = {
        "name": "server",
        "image": IMAGE,
        "command": ["python3", "-c", serve],
        "ports": [port],
        "securityContext": vllm["securityContext"],
        "resources": small_resources(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        **probes,
    }
    spec = {
        "securityContext": template["securityContext"],
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    apply([pod_on_node("probed", spec)])
    wait_for("probed", "condition=Ready")
    # A few liveness periods later it is still the first container.
    time.sleep(2 * probes["livenessProbe"].get("periodSeconds", 10) + 1)
    status = json.loads(kubectl("get", "pod", "-n", NAMESPACE, "probed", "-o", "json"))["status"]
    (container_status,) = status["containerStatuses"]
    assert container_status["ready"] and container_status["restartCount"] == 0
    # The kubelet did probe it (the server logs each request).
    log = kubectl("logs", "-n", NAMESPACE, "probed")
    assert f'"GET {path} HTTP/1.1" 200' in log


def http_server(name: str, labels: dict) -> dict:
    container = {
        "name": "server",
        "image": IMAGE,
        "command": ["python3", "-m", "http.server", "8080", "--directory", "/tmp"],
        "ports": [{"containerPort": 8080, "name": "http"}],
        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 2},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": small_resources(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    spec = {
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    return pod_on_node(name, spec, labels)


def fetch_from(pod: str, url: str) -> str:
    """What a GET of `url` gives inside `pod`: a status code, or the error's kind."""
    probe = (
        "import urllib.request\n"
        f"try: print(urllib.request.urlopen({url!r}, timeout=4).status)\n"
        "except Exception as error: print(type(error).__name__, getattr(error, 'reason', error))\n"
    )
    return kubectl("exec", "-n", NAMESPACE, pod, "--", "python3", "-c", probe).strip()


def answer_from_this_machine(url: str, within_seconds: int = 30) -> int | str:
    deadline = time.monotonic() + within_seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status
        except OSError as error:
            if time.monotonic() > deadline:
                return f"{type(error).__name__}: {error}"
            time.sleep(1)


def test_services_answer_and_network_policy_refuses_undeclared_peers(node):
    client = http_server("client", {"app": "client"})
    apply([http_server("backend", {"app": "backend"}), client])
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "backend", "namespace": NAMESPACE},
        "spec": {"selector": {"app": "backend"}, "ports": [{"port": 80, "targetPort": "http"}]},
    }
    apply([service])
    wait_for("backend", "condition=Ready")
    wait_for("client", "condition=Ready")
    address = kubectl("get", "service", "-n", NAMESPACE, "backend", "-o", "jsonpath={.spec.clusterIP}")
    url = f"http://{address}/"
    # From this machine, through kube-proxy's rules: the way `make smoke` asks. The
    # rules follow the endpoint's readiness by one kube-proxy sync (a second or so;
    # longer on the node's first sync after start).
    assert answer_from_this_machine(url) == 200
    assert fetch_from("client", url) == "200", "pod to Service before any policy"

    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "backend-from-frontend", "namespace": NAMESPACE},
        "spec": {
            "podSelector": {"matchLabels": {"app": "backend"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}], "ports": [{"port": 8080}]}
            ],
        },
    }
    apply([policy])
    deadline = time.monotonic() + 30
    while (answer := fetch_from("client", url)) == "200" and time.monotonic() < deadline:
        time.sleep(1)  # kube-router syncs on the policy's event
    assert answer.startswith("URLError") and "refused" in answer.lower(), answer

    kubectl("label", "pod", "-n", NAMESPACE, "client", "app=frontend", "--overwrite")
    deadline = time.monotonic() + 30
    while (answer := fetch_from("client", url)) != "200" and time.monotonic() < deadline:
        time.sleep(1)
    assert answer == "200", f"a declared peer is refused: {answer}"


def test_pod_traffic_cannot_leave_the_machine(node):
    """The guard drops what a pod sends outside the pod range (checked on the rule, not
    by sending anything off the machine)."""
    assert real_node.forward_guard_installed()


def test_the_endpoint_pickers_image_runs_under_its_rendered_security_context(node):
    """The picker's image (built from the Go module `make tools` builds) under the
    securityContext the gateway example renders for it: the binary starts as the
    image's nonroot user on a read-only root and knows the flags we render."""
    run = run_program(stack_file_config(ROOT / "examples" / "llm-d-gateway.yaml"))
    (picker,) = [d for d in run.of_kind("Deployment") if d.inputs["metadata"]["name"].endswith("-epp")]
    template = picker.inputs["spec"]["template"]["spec"]
    (rendered,) = template["containers"]
    assert rendered["image"] == local_images.EPP_REF
    container = {
        "name": "epp",
        "image": local_images.EPP_REF,
        "args": ["--help"],
        "securityContext": rendered["securityContext"],
        "resources": small_resources(),
    }
    spec = {
        "securityContext": template.get("securityContext"),
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "containers": [container],
    }
    apply([pod_on_node("epp-help", spec)])
    kubectl(
        "wait", "-n", NAMESPACE, "--for=jsonpath={.status.phase}=Succeeded", "pod/epp-help", "--timeout=120s",
    )  # fmt: skip
    usage = kubectl("logs", "-n", NAMESPACE, "epp-help")
    for flag in ("--pool-name", "--pool-namespace", "--grpc-port"):
        assert flag in usage, usage[-2000:]
