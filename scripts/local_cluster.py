"""A local Kubernetes cluster with fake GPU nodes, for tests and first tries.

A real control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
all one Kubernetes release built by scripts/tools.sh) on 127.0.0.1, and kwok, which
plays the kubelets: the nodes of scripts/local-cluster-nodes.yaml advertise
`nvidia.com/gpu` and GPU Feature Discovery's labels, and kwok marks the pods the
scheduler places on them Running and Ready. No container runs. The LeaderWorkerSet
controller (sigs.k8s.io/lws, built by scripts/tools.sh) runs beside them with its
webhooks on (they inject the group's env vars and labels), served on 127.0.0.1 with
a certificate of the local CA; its real CRDs replace the schema-only one.

    scripts/local-cluster up      start it (idempotent; fast when already up)
    scripts/local-cluster up --real-node
                                  also start the real node (scripts/real_node.py): a
                                  kubelet whose pods run in containers on this machine
    scripts/local-cluster down    stop every process and delete its state
    scripts/local-cluster status  what runs, and the nodes

The kubeconfig is written to .local/cluster/kubeconfig (git ignores .local/).
Ports: the API server's, etcd's and the next one for etcd's peers, and the LWS
controller's webhook and health ports (the API port + 100 and + 200). Each checkout
picks free ones at its first `up` and remembers them in .local/cluster/ports.json,
so clusters of two checkouts never meet; $LOCAL_CLUSTER_API_PORT and
$LOCAL_CLUSTER_ETCD_PORT override them. A port another process holds stops `up` with
one line naming that process.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".local" / "cluster"
PKI = STATE / "pki"
KUBECONFIG = STATE / "kubeconfig"
NODES_FILE = ROOT / "scripts" / "local-cluster-nodes.yaml"
# CRD schemas: the shared set and the project's own additions (schemas/crds/).
CRD_DIRS = [ROOT / "schemas" / "crds", ROOT.parent / "shared" / "schemas" / "crds"]
PORTS_FILE = STATE / "ports.json"
# Where a checkout starts looking for free ports: below Linux's ephemeral range
# (32768+), so outgoing connections never take them while the cluster is down.
PORT_SEARCH_FROM, PORT_SEARCH_TO = 20000, 32000
SERVICE_CIDR = "10.96.0.0/16"
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
# What k3s or the GPU Operator would have registered on a real GPU cluster.
# The API server's client identity towards kubelets may use their API (kubeadm's binding).
KUBELET_API_BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRoleBinding",
    "metadata": {"name": "llm-serving-local:apiserver-kubelet-client"},
    "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "system:kubelet-api-admin",
    },
    "subjects": [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "kube-apiserver-kubelet-client"}
    ],
}
RUNTIME_CLASS = {
    "apiVersion": "node.k8s.io/v1",
    "kind": "RuntimeClass",
    "metadata": {"name": "nvidia"},
    "handler": "nvidia",
}
START_TIMEOUT_SECONDS = 90
# The LWS controller's ports, offsets from the API server's (see Ports).
LWS_WEBHOOK_OFFSET, LWS_HEALTH_OFFSET = 100, 200
LWS_CERTS = STATE / "lws-certs"
LWS_CONFIG = STATE / "lws-config.yaml"


class ClusterError(Exception):
    """Something a person has to fix; printed without a traceback."""


def log(message: str) -> None:
    print(f"[local-cluster] {message}", flush=True)


# --- ports ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ports:
    api: int  # the LWS controller's webhook and health ports are offsets from it
    etcd: int  # etcd's peers listen on the next port

    @property
    def lws_webhook(self) -> int:
        return self.api + LWS_WEBHOOK_OFFSET

    @property
    def lws_health(self) -> int:
        return self.api + LWS_HEALTH_OFFSET

    def named(self) -> dict[str, int]:
        """Each port by the component that listens on it (first word) and its role."""
        return {
            "kube-apiserver": self.api,
            "etcd": self.etcd,
            "etcd peers": self.etcd + 1,
            "lws-controller webhook": self.lws_webhook,
            "lws-controller health": self.lws_health,
        }


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_holder(port: int) -> str:
    """Which process listens on `port` (from /proc), for the one-line error."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # fields: sl, local address (hex ip:port), remote, state (0A = LISTEN), ..., inode
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in os.listdir(f"/proc/{pid}/fd")):
                command = " ".join(
                    Path(f"/proc/{pid}/cmdline").read_bytes().decode().replace("\0", " ").split()
                )
                return f"pid {pid} ({command[:160]})"
        except OSError:
            continue
    return "another process (not visible from here)"


def pick_free_ports() -> Ports:
    """Free ports, searched from a start that depends on the checkout's path, so two
    checkouts rarely even probe the same ones."""
    span = PORT_SEARCH_TO - PORT_SEARCH_FROM
    start = PORT_SEARCH_FROM + zlib.crc32(str(ROOT).encode()) % span
    candidates = [PORT_SEARCH_FROM + (start - PORT_SEARCH_FROM + i) % span for i in range(span - 2)]
    api_offsets = (0, LWS_WEBHOOK_OFFSET, LWS_HEALTH_OFFSET)
    api = next(port for port in candidates if all(port_is_free(port + offset) for offset in api_offsets))
    taken = {api + offset for offset in api_offsets}
    etcd = next(
        port
        for port in candidates
        if not {port, port + 1} & taken and port_is_free(port) and port_is_free(port + 1)
    )
    return Ports(api=api, etcd=etcd)


@functools.cache
def ports() -> Ports:
    """This checkout's ports: the environment's, else remembered, else picked now."""
    remembered = json.loads(PORTS_FILE.read_text()) if PORTS_FILE.exists() else None
    chosen = Ports(**remembered) if remembered else pick_free_ports()
    return Ports(
        api=int(os.environ.get("LOCAL_CLUSTER_API_PORT", chosen.api)),
        etcd=int(os.environ.get("LOCAL_CLUSTER_ETCD_PORT", chosen.etcd)),
    )


def claim_ports(running: set[str]) -> None:
    """Remember this checkout's ports; stop with one line if another process holds one
    (`running`: our own components already up, whose ports are rightly taken)."""
    for what, port in ports().named().items():
        if what.split()[0] not in running and not port_is_free(port):
            raise ClusterError(
                f"port {port} ({what}) is held by {port_holder(port)}; stop it, or pick other ports "
                "with LOCAL_CLUSTER_API_PORT / LOCAL_CLUSTER_ETCD_PORT"
            )
    STATE.mkdir(parents=True, exist_ok=True)
    PORTS_FILE.write_text(json.dumps(asdict(ports())))


@functools.cache
def tool(name: str) -> str:
    """Where the built tool is; looked up once per process (kubectl runs often)."""
    path = subprocess.run(
        [str(ROOT / "scripts" / "tools.sh"), "path", name], check=True, capture_output=True, text=True
    ).stdout.strip()
    if not Path(path).exists():
        raise ClusterError(f"{name} is not built at {path}; run `make tools` (or scripts/tools.sh build)")
    return path


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs)


def kubectl(*args: str, input_text: str | None = None) -> str:
    result = subprocess.run(
        [tool("kubectl"), f"--kubeconfig={KUBECONFIG}", *args],
        capture_output=True,
        text=True,
        input=input_text,
    )
    if result.returncode != 0:
        raise ClusterError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


# --- certificates -----------------------------------------------------------------


def _openssl(*args: str) -> None:
    run(["openssl", *args], cwd=PKI)


def make_pki() -> None:
    """A CA, the API server's serving certificate, an admin client certificate, the API
    server's client certificate for kubelets and the service-account signing key. Made
    once per cluster (a cluster made before the real node existed gets the kubelet
    client certificate at its next `up`)."""
    if not (PKI / "admin.crt").exists():
        _make_base_pki()
    if not (PKI / "apiserver-kubelet-client.crt").exists():
        signed_certificate(
            "apiserver-kubelet-client", "/CN=kube-apiserver-kubelet-client", "extendedKeyUsage=clientAuth\n"
        )


def _make_base_pki() -> None:
    PKI.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3650",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-subj",
        "/CN=llm-serving-local-ca",
    )
    names = [
        "IP:127.0.0.1",
        "IP:10.96.0.1",
        "DNS:localhost",
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.cluster.local",
    ]
    signed_certificate(
        "apiserver", "/CN=kube-apiserver", f"subjectAltName={','.join(names)}\nextendedKeyUsage=serverAuth\n"
    )
    signed_certificate("admin", "/O=system:masters/CN=admin", "extendedKeyUsage=clientAuth\n")
    _openssl("genrsa", "-out", "sa.key", "2048")
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
    KUBECONFIG.write_text(yaml.safe_dump(client_kubeconfig("admin")))


def client_kubeconfig(user: str) -> dict:
    """A kubeconfig for the API server as `user`, by its certificate PKI/<user>.crt."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "local",
                "cluster": {
                    "server": f"https://127.0.0.1:{ports().api}",
                    "certificate-authority": str(PKI / "ca.crt"),
                },
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate": str(PKI / f"{user}.crt"),
                    "client-key": str(PKI / f"{user}.key"),
                },
            }
        ],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": user}}],
        "current-context": "local",
    }


def signed_certificate(name: str, subject: str, extensions: str) -> None:
    """<name>.key and <name>.crt, signed by the local CA, with these X.509 extensions."""
    (PKI / f"{name}.ext").write_text(extensions)
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.csr",
        "-subj",
        subject,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "3650",
        "-out",
        f"{name}.crt",
        "-extfile",
        f"{name}.ext",
    )


def _serving_certificate(name: str, names: list[str]) -> None:
    """A serving certificate of the local CA for `names`."""
    signed_certificate(
        name, f"/CN={name}", f"subjectAltName={','.join(names)}\nextendedKeyUsage=serverAuth\n"
    )


# --- the LeaderWorkerSet controller -------------------------------------------------


def lws_dir() -> Path:
    return Path(tool("lws")).parent


def write_lws_config() -> None:
    """Its webhook server on 127.0.0.1 with our certificate (no in-cluster cert
    rotation: there is no Service to reach it through), no metrics, no election."""
    if not (PKI / "lws-webhook.crt").exists():
        _serving_certificate("lws-webhook", ["IP:127.0.0.1", "DNS:localhost"])
    LWS_CERTS.mkdir(parents=True, exist_ok=True)
    for source, target in (("lws-webhook.crt", "tls.crt"), ("lws-webhook.key", "tls.key")):
        (LWS_CERTS / target).write_bytes((PKI / source).read_bytes())
    LWS_CONFIG.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "config.lws.x-k8s.io/v1alpha1",
                "kind": "Configuration",
                "leaderElection": {"leaderElect": False},
                "internalCertManagement": {"enable": False},
                "webhook": {"host": "127.0.0.1", "port": ports().lws_webhook, "certDir": str(LWS_CERTS)},
                "metrics": {"bindAddress": "0"},
                "health": {"healthProbeBindAddress": f"127.0.0.1:{ports().lws_health}"},
            }
        )
    )


def lws_crds() -> list[dict]:
    return [yaml.safe_load(path.read_text()) for path in sorted((lws_dir() / "crds").glob("*.yaml"))]


def lws_webhooks() -> list[dict]:
    """Upstream's webhook configurations (config/webhook at the built release) with its
    kustomize patches applied (pod hooks only for pods of a LeaderWorkerSet), pointed
    at the controller on 127.0.0.1."""
    ca_bundle = base64.b64encode((PKI / "ca.crt").read_bytes()).decode()
    documents = [d for d in yaml.safe_load_all((lws_dir() / "webhook" / "manifests.yaml").read_text()) if d]
    pod_selector = {"matchExpressions": [{"key": "leaderworkerset.sigs.k8s.io/name", "operator": "Exists"}]}
    for document in documents:
        document["metadata"]["name"] = f"lws-{document['metadata']['name']}"
        for hook in document["webhooks"]:
            path = hook["clientConfig"]["service"]["path"]
            hook["clientConfig"] = {
                "url": f"https://127.0.0.1:{ports().lws_webhook}{path}",
                "caBundle": ca_bundle,
            }
            if path.endswith("-v1-pod"):
                hook["objectSelector"] = pod_selector
    return documents


def lws_ready() -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ports().lws_health}/readyz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


# --- processes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    name: str
    argv: list[str]

    @property
    def pid_file(self) -> Path:
        return STATE / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return STATE / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
            return pid
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None

    def start(self) -> None:
        if self.pid() is not None:
            return
        with self.log_file.open("ab") as out:
            process = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.pid_file.write_text(str(process.pid))

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return
        os.killpg(pid, signal.SIGTERM)
        for _ in range(50):
            if self.pid() is None:
                break
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)


def components() -> list[Component]:
    kubeconfig = f"--kubeconfig={KUBECONFIG}"
    etcd_url = f"http://127.0.0.1:{ports().etcd}"
    peer_url = f"http://127.0.0.1:{ports().etcd + 1}"
    return [
        Component(
            "etcd",
            [
                tool("etcd"),
                "--name=local",
                f"--data-dir={STATE / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=local={peer_url}",
                "--log-level=warn",
            ],
        ),
        Component(
            "kube-apiserver",
            [
                tool("kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={ports().api}",
                f"--tls-cert-file={PKI / 'apiserver.crt'}",
                f"--tls-private-key-file={PKI / 'apiserver.key'}",
                f"--client-ca-file={PKI / 'ca.crt'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={PKI / 'sa.pub'}",
                f"--service-account-signing-key-file={PKI / 'sa.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                # Logs, exec and port-forward on the real node (scripts/real_node.py):
                # its kubelet by address (no DNS for node names here), as a client the
                # kubelet's webhook authorizes (system:kubelet-api-admin, as kubeadm binds).
                "--kubelet-preferred-address-types=InternalIP",
                f"--kubelet-client-certificate={PKI / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={PKI / 'apiserver-kubelet-client.key'}",
                f"--cert-dir={PKI}",
            ],
        ),
        Component(
            "kube-controller-manager",
            [
                tool("kube-controller-manager"),
                kubeconfig,
                "--leader-elect=false",
                "--secure-port=0",
                f"--service-account-private-key-file={PKI / 'sa.key'}",
                f"--root-ca-file={PKI / 'ca.crt'}",
                f"--cluster-signing-cert-file={PKI / 'ca.crt'}",
                f"--cluster-signing-key-file={PKI / 'ca.key'}",
                "--use-service-account-credentials=false",
            ],
        ),
        Component(
            "kube-scheduler", [tool("kube-scheduler"), kubeconfig, "--leader-elect=false", "--secure-port=0"]
        ),
        Component(
            "lws-controller",
            [tool("lws"), kubeconfig, f"--config={LWS_CONFIG}", "--zap-log-level=info"],
        ),
        Component(
            "kwok",
            [
                tool("kwok"),
                kubeconfig,
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION}=fake",
                f"--config={tool('kwok-stages.yaml')}",
                "--server-address=127.0.0.1:0",
            ],
        ),
    ]


def wait_started(what: str, ready, component: Component, timeout: float = START_TIMEOUT_SECONDS) -> None:
    """Until `ready()`; a component that exits meanwhile fails with its log's end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if component.pid() is None:
            tail = component.log_file.read_text()[-3000:] if component.log_file.exists() else ""
            raise ClusterError(f"{component.name} exited while starting; its log ends:\n{tail}")
        if ready():
            return
        time.sleep(0.5)
    raise ClusterError(f"{what} not ready after {timeout:.0f}s; see {component.log_file}")


def etcd_healthy() -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ports().etcd}/health", timeout=2) as response:
            return json.load(response).get("health") == "true"
    except OSError:
        return False


def api_ready() -> bool:
    try:
        return kubectl("get", "--raw", "/readyz").strip() == "ok"
    except ClusterError:
        return False


# --- cluster contents ---------------------------------------------------------------


def node_manifest(spec: dict) -> dict:
    """A fake node kwok manages; GPU nodes look as GPU Feature Discovery labels them."""
    labels = {"kubernetes.io/hostname": spec["name"], "kubernetes.io/os": "linux", "type": "kwok"}
    capacity = {"cpu": spec["cpu"], "memory": spec["memory"], "pods": "110"}
    taints = []
    gpu = spec.get("gpu")
    if gpu:
        labels |= {
            "nvidia.com/gpu.product": gpu["product"],
            "nvidia.com/gpu.memory": str(gpu["memoryMib"]),
            "nvidia.com/gpu.count": str(gpu["count"]),
        }
        capacity["nvidia.com/gpu"] = str(gpu["count"])
        taints.append(GPU_TAINT)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": spec["name"], "labels": labels, "annotations": {KWOK_ANNOTATION: "fake"}},
        "spec": {"taints": taints},
        "status": {"capacity": capacity, "allocatable": capacity},
    }


def crd_manifest(path: Path) -> dict:
    """A CustomResourceDefinition built from one schema file of CRD_DIRS."""
    document = json.loads(path.read_text())
    group, version = document["apiVersion"].split("/")
    kind = document["kind"]
    plural = kind.lower() + ("es" if kind.lower().endswith("s") else "s")
    metadata: dict = {"name": f"{plural}.{group}"}
    if group.endswith((".k8s.io", ".kubernetes.io")):
        # The API server refuses CRDs in Kubernetes' own groups without the approval
        # annotation; upstream's CRDs point it at the project that owns the API.
        project = document.get("source", "").split()[0]
        metadata["annotations"] = {"api-approved.kubernetes.io": f"https://{project}"}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": metadata,
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": document["openAPIV3Schema"]},
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def apply(manifests: list[dict]) -> None:
    documents = "\n---\n".join(yaml.safe_dump(m) for m in manifests)
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input_text=documents)


def install_contents() -> None:
    nodes = yaml.safe_load(NODES_FILE.read_text())["nodes"]
    real_crds = lws_crds()
    # The controller's own CRDs (scale subresource, defaults) replace schema-only ones.
    real_names = {crd["metadata"]["name"] for crd in real_crds}
    crds = [
        crd
        for directory in CRD_DIRS
        for crd in (crd_manifest(path) for path in sorted(directory.glob("*.json")))
        if crd["metadata"]["name"] not in real_names
    ]
    apply(crds + real_crds + [RUNTIME_CLASS, KUBELET_API_BINDING] + lws_webhooks())
    apply([node_manifest(node) for node in nodes])
    kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=60s")
    kubectl("wait", "--for=jsonpath={.metadata.name}=default", "serviceaccount/default", "--timeout=60s")
    log(f"{len(nodes)} nodes Ready, {len(crds) + len(real_crds)} CRDs established")


# --- commands -------------------------------------------------------------------------


def up() -> None:
    parts = components()
    started = time.monotonic()
    if all(part.pid() is not None for part in parts) and api_ready():
        # Server-side apply is idempotent: re-applying repairs a half-finished `up`.
        install_contents()
        log(f"already up ({time.monotonic() - started:.1f}s); KUBECONFIG={KUBECONFIG}")
        return
    claim_ports({part.name for part in parts if part.pid() is not None})
    make_pki()
    write_lws_config()
    etcd, apiserver, *rest = parts
    etcd.start()
    wait_started("etcd", etcd_healthy, etcd)
    apiserver.start()
    wait_started("kube-apiserver", api_ready, apiserver)
    for part in rest:
        part.start()
    install_contents()
    wait_started(
        "the LeaderWorkerSet controller", lws_ready, next(p for p in rest if p.name == "lws-controller")
    )
    log(f"up in {time.monotonic() - started:.1f}s; KUBECONFIG={KUBECONFIG}")


def down() -> None:
    import real_node

    real_node.down()
    for part in reversed(components_or_known()):
        part.stop()
    if STATE.exists():
        subprocess.run(["rm", "-rf", str(STATE)], check=True)
    log("down: nothing left running")


def components_or_known() -> list[Component]:
    """Components to stop, even when the tools are gone (pid files are enough)."""
    try:
        return components()
    except ClusterError:
        names = [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "lws-controller",
            "kwok",
        ]
        return [Component(name, []) for name in names]


def log_processes(parts: list[Component]) -> None:
    """One line per component: running (its pid) or not."""
    for part in parts:
        pid = part.pid()
        log(f"{part.name}: {'running, pid ' + str(pid) if pid else 'not running'}")


def status() -> int:
    log_processes(components_or_known())
    if not api_ready():
        log("API server: not reachable")
        return 1
    log(f"API server: ready at https://127.0.0.1:{ports().api}; KUBECONFIG={KUBECONFIG}")
    import real_node

    real_node.status()
    print(kubectl("get", "nodes", "-L", "nvidia.com/gpu.product", "-L", "nvidia.com/gpu.count"), end="")
    return 0


def up_with_real_node() -> None:
    import real_node

    up()
    real_node.up()


def main(argv: list[str]) -> int:
    commands = {("up",): up, ("up", "--real-node"): up_with_real_node, ("down",): down, ("status",): status}
    if tuple(argv) not in commands:
        print("usage: scripts/local-cluster up [--real-node] | down | status", file=sys.stderr)
        return 2
    try:
        return commands[tuple(argv)]() or 0
    except ClusterError as error:
        print(f"[local-cluster] error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
