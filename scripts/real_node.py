"""The local cluster's real node: a kubelet that runs containers on this machine.

Beside kwok's simulated nodes (scripts/local-cluster-nodes.yaml), `scripts/local-cluster
up --real-node` starts one node whose pods really run:

- containerd 2.x, runc and the CNI plugins, built by scripts/tools.sh from the Go
  module proxy (kubelet 1.36 refuses containerd 1.x, so Debian's containerd 1.6 is not
  used; Debian's runc 1.1.5 predates container-escape fixes). The `nvidia`
  RuntimeClass's handler is runc here.
- kubelet and kube-proxy (iptables mode) of the control plane's Kubernetes release,
  with client certificates of the local CA (system:node:<name>, system:kube-proxy).
- kube-router's NetworkPolicy controller alone (`--run-firewall`, no routing, no
  proxy, no CNI), which enforces policies with iptables and ipset; this kernel lacks
  nftables' queue statement that kube-network-policies (kind's enforcer) needs. Only
  v2.1.0 is served and security flaws are reported for it: a local test component,
  reading the API with its own read-only role, never something a stack deploys.
- Pods on a bridge (BRIDGE, POD_CIDR) that exists only on this machine: the node's
  address is the bridge's, IPv4 forwarding is on, and a FORWARD rule drops anything a
  pod sends outside the pod and Service ranges, so nothing routes off the machine.
- It stands in for seed 002's L40 workstation: GPU Feature Discovery's labels of an
  NVIDIA-L40, `nvidia.com/gpu` advertised as an extended resource (the documented way
  to advertise one without a device plugin: a patch of the node's status), and the
  GPU taint. No GPU is behind it: vLLM's CPU build serves in its containers.

The images it runs have no registry to come from: scripts/local_images.py builds them
and imports them into this node's containerd under the references stacks render.

State lives in .local/cluster/node/ (containerd's state, the kubelet's root, logs); `down`
stops every pod and process, unmounts what the kubelet and containerd mounted (a
hostPath cache is never deleted through its mount) and removes that directory.
containerd's root (its image store: content and unpacked snapshots) is kept outside
the checkout, in ~/.cache/llm-serving/containerd/<containerd version> (env
LLM_SERVING_CONTAINERD_ROOT), so the next `up` (of any checkout: one node runs per
machine) finds the images imported and unpacked instead of taking minutes to import
vLLM's again. Delete that directory to drop them.
Only one real node can run on a machine: the kubelet and kube-proxy own host-wide
cgroups and iptables chains.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

import local_images
from local_cluster import (
    GPU_TAINT,
    PKI,
    SERVICE_CIDR,
    STATE,
    ClusterError,
    Component,
    client_kubeconfig,
    kubectl,
    log,
    log_processes,
    signed_certificate,
    tool,
    wait_started,
)
from local_cluster import (
    apply as apply_manifests,
)

NODE_NAME = "local-workstation"
NODE_STATE = STATE / "node"
BRIDGE = "llmsrv0"
POD_CIDR = "10.244.0.0/24"
NODE_IP = "10.244.0.1"
# What the node advertises: one L40 workstation (seed 002). The count is what the dev
# stack's pools that run here need; capacity for CPU and memory is the machine's own.
GPU = {"product": "NVIDIA-L40", "count": 8, "memoryMib": 46068}
# The kubelet's and kube-proxy's local ports (health, metrics): loopback only.
KUBELET_PORT, KUBELET_HEALTHZ_PORT = 10250, 10248
KUBE_PROXY_HEALTHZ_PORT, KUBE_PROXY_METRICS_PORT = 10256, 10249
KUBE_ROUTER_HEALTH_PORT = 20244
# What kube-router's NetworkPolicy controller reads (cluster-wide, read-only).
KUBE_ROUTER_RBAC = [
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "llm-serving-local:kube-router"},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["namespaces", "pods", "services", "nodes", "endpoints"],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["networkpolicies"],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": ["discovery.k8s.io"],
                "resources": ["endpointslices"],
                "verbs": ["get", "list", "watch"],
            },
        ],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "llm-serving-local:kube-router"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "llm-serving-local:kube-router",
        },
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:kube-router"}],
    },
]
START_TIMEOUT_SECONDS = 120
FORWARD_GUARD = [
    "FORWARD",
    "-s",
    POD_CIDR,
    "!",
    "-d",
    POD_CIDR,
    "-m",
    "comment",
    "--comment",
    "llm-serving real node: pods reach only pods",
    "-j",
    "DROP",
]


def _path(name: str) -> Path:
    return NODE_STATE / name


def image_store() -> Path:
    """containerd's root, kept across `down` (see the module's docstring)."""
    configured = os.environ.get("LLM_SERVING_CONTAINERD_ROOT")
    if configured:
        return Path(configured)
    version = Path(tool("containerd")).parent.name
    return Path.home() / ".cache" / "llm-serving" / "containerd" / version


CONTAINERD_SOCKET = _path("containerd/containerd.sock")


# --- configuration files ------------------------------------------------------------


def containerd_config() -> str:
    """containerd's config (version 3, containerd 2.x): CRI with runc for the default
    handler and for `nvidia`, CNI from our plugins, overlayfs, our pause image."""
    runtime = {
        "runtime_type": "io.containerd.runc.v2",
        "options": {"BinaryName": tool("runc"), "SystemdCgroup": False},
    }
    config = {
        "version": 3,
        "root": str(image_store()),
        "state": str(_path("containerd/state")),
        "grpc": {"address": str(CONTAINERD_SOCKET)},
        "ttrpc": {"address": str(CONTAINERD_SOCKET) + ".ttrpc"},
        "plugins": {
            "io.containerd.cri.v1.runtime": {
                # This machine's root lacks CAP_SYS_RESOURCE, so no process may lower its
                # oom_score_adj; the kubelet asks -998 for sandboxes and -997 for
                # Guaranteed pods. Clamp them to containerd's own score (as rootless does).
                "restrict_oom_score_adj": True,
                "containerd": {
                    "default_runtime_name": "runc",
                    "runtimes": {"runc": runtime, "nvidia": runtime},
                },
                "cni": {"bin_dirs": [str(Path(tool("cni-plugins")).parent)], "conf_dir": str(_path("cni"))},
            },
            "io.containerd.cri.v1.images": {
                "snapshotter": "overlayfs",
                # The sandbox image: built from the Kubernetes release's own pause.c.
                "pinned_images": {"sandbox": local_images.PAUSE_REF},
            },
            "io.containerd.grpc.v1.cri": {
                "stream_server_address": "127.0.0.1",
                "stream_server_port": "0",
            },
        },
    }
    return _toml(config)


def _toml(table: dict, prefix: str = "") -> str:
    """TOML of nested tables of scalars and lists (all containerd's config needs)."""
    scalars, tables = [], []
    for key, value in table.items():
        name = f"{prefix}.'{key}'" if prefix else f"'{key}'"
        if isinstance(value, dict):
            tables.append(f"\n[{name}]\n" + _toml(value, name))
        else:
            scalars.append(f"{key} = {json.dumps(value)}\n")
    return "".join(scalars) + "".join(tables)


def cni_config() -> dict:
    """A bridge network on POD_CIDR: no masquerade (pods never leave the machine)."""
    return {
        "cniVersion": "1.0.0",
        "name": "llm-serving-local",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(_path("cni-ipam")),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def kubelet_config() -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # This machine mounts cgroup v1; kubelet >= 1.35 refuses it unless told.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "containerRuntimeEndpoint": f"unix://{CONTAINERD_SOCKET}",
        "address": NODE_IP,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": KUBELET_HEALTHZ_PORT,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(PKI / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "clusterDomain": "cluster.local",
        "podLogsDir": str(_path("pod-logs")),
        "failSwapOn": False,
        "registerWithTaints": [GPU_TAINT],
        # Imported images cannot be pulled again: never garbage-collect them.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "256Mi", "nodefs.available": "2%", "imagefs.available": "2%"},
        "maxPods": 32,
        "serializeImagePulls": False,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
    }


def kube_proxy_config() -> dict:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(_path("kube-proxy.kubeconfig"))},
        "mode": "iptables",
        "clusterCIDR": POD_CIDR,
        "hostnameOverride": NODE_NAME,
        "bindAddress": NODE_IP,
        "healthzBindAddress": f"127.0.0.1:{KUBE_PROXY_HEALTHZ_PORT}",
        "metricsBindAddress": f"127.0.0.1:{KUBE_PROXY_METRICS_PORT}",
        # Leave the kernel's conntrack settings alone (a VM may not allow writing them).
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
        "nodePortAddresses": [f"{NODE_IP}/32"],
    }


def node_labels() -> dict[str, str]:
    """GPU Feature Discovery's labels of the workstation's GPUs, and our own marker."""
    return {
        "nvidia.com/gpu.product": GPU["product"],
        "nvidia.com/gpu.memory": str(GPU["memoryMib"]),
        "nvidia.com/gpu.count": str(GPU["count"]),
        "llm-serving.dev/real-node": "true",
    }


def write_files() -> None:
    for directory in ("containerd", "cni", "cni-ipam", "kubelet", "pod-logs"):
        _path(directory).mkdir(parents=True, exist_ok=True)
    if not (PKI / "kubelet.crt").exists():
        signed_certificate(
            "kubelet", f"/O=system:nodes/CN=system:node:{NODE_NAME}", "extendedKeyUsage=clientAuth\n"
        )
    if not (PKI / "kube-proxy.crt").exists():
        signed_certificate("kube-proxy", "/CN=system:kube-proxy", "extendedKeyUsage=clientAuth\n")
    if not (PKI / "kube-router.crt").exists():
        signed_certificate("kube-router", "/CN=system:kube-router", "extendedKeyUsage=clientAuth\n")
    files = {
        "containerd/config.toml": containerd_config(),
        "cni/10-llm-serving.conflist": json.dumps(cni_config(), indent=2),
        "kubelet-config.yaml": yaml.safe_dump(kubelet_config()),
        "kube-proxy-config.yaml": yaml.safe_dump(kube_proxy_config()),
        "kubelet.kubeconfig": yaml.safe_dump(client_kubeconfig("kubelet")),
        "kube-proxy.kubeconfig": yaml.safe_dump(client_kubeconfig("kube-proxy")),
        "kube-router.kubeconfig": yaml.safe_dump(client_kubeconfig("kube-router")),
    }
    for name, text in files.items():
        # Unchanged files are left alone: kube-proxy exits when its config file changes.
        if not _path(name).exists() or _path(name).read_text() != text:
            _path(name).write_text(text)


# --- host networking ---------------------------------------------------------------


def _host(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(list(argv), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise ClusterError(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return result


def prepare_host() -> None:
    """The pod bridge with the node's address, forwarding on and the guard that keeps
    pod traffic on this machine, and bridged traffic through iptables (kube-proxy's
    Service rules and NetworkPolicy see pod-to-pod packets)."""
    for command in ("ip", "iptables", "ipset"):
        if shutil.which(command) is None:
            raise ClusterError(
                f"{command} is missing; run `make node-packages` (Debian's iproute2, iptables, ipset)"
            )
    if _host("ip", "link", "show", BRIDGE, check=False).returncode != 0:
        _host("ip", "link", "add", BRIDGE, "type", "bridge")
    if NODE_IP not in _host("ip", "-4", "addr", "show", BRIDGE).stdout:
        _host("ip", "addr", "add", f"{NODE_IP}/24", "dev", BRIDGE)
    _host("ip", "link", "set", BRIDGE, "up")
    if not forward_guard_installed():
        # ClusterIP traffic is DNAT-ed to a pod in PREROUTING, before FORWARD: the guard
        # sees a pod's address and lets Services work.
        _host("iptables", "-I", *FORWARD_GUARD)
    Path("/proc/sys/net/ipv4/ip_forward").write_text("1\n")
    Path("/proc/sys/net/bridge/bridge-nf-call-iptables").write_text("1\n")


def forward_guard_installed() -> bool:
    return _host("iptables", "-C", *FORWARD_GUARD, check=False).returncode == 0


def reset_host() -> None:
    _host("iptables", "-D", *FORWARD_GUARD, check=False)
    _host("ip", "link", "del", BRIDGE, check=False)


# --- processes ----------------------------------------------------------------------


def components() -> list[Component]:
    tools_path = f"{Path(tool('containerd')).parent}:{os.environ.get('PATH', '')}"
    return [
        Component(
            "containerd",
            ["env", f"PATH={tools_path}", tool("containerd"), f"--config={_path('containerd/config.toml')}"],
        ),
        Component(
            "kubelet",
            [
                "env",
                f"PATH={tools_path}",
                tool("kubelet"),
                f"--config={_path('kubelet-config.yaml')}",
                f"--kubeconfig={_path('kubelet.kubeconfig')}",
                f"--root-dir={_path('kubelet')}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={NODE_IP}",
                "--node-labels=" + ",".join(f"{key}={value}" for key, value in node_labels().items()),
                "--v=1",
            ],
        ),
        Component(
            "kube-proxy",
            [tool("kube-proxy"), f"--config={_path('kube-proxy-config.yaml')}"],
        ),
        Component(
            "kube-router",
            [
                tool("kube-router"),
                f"--kubeconfig={_path('kube-router.kubeconfig')}",
                f"--hostname-override={NODE_NAME}",
                "--run-firewall=true",
                "--run-router=false",
                "--run-service-proxy=false",
                "--enable-cni=false",
                "--enable-ipv6=false",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--health-port={KUBE_ROUTER_HEALTH_PORT}",
                "--metrics-port=0",
            ],
        ),
    ]


def containerd_ready() -> bool:
    return (
        CONTAINERD_SOCKET.exists()
        and _host(tool("ctr"), f"--address={CONTAINERD_SOCKET}", "version", check=False).returncode == 0
    )


def is_ready(node: dict) -> bool:
    """A Node object (as the API returns it) whose Ready condition is True."""
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", []))


def node_ready() -> bool:
    try:
        return is_ready(json.loads(kubectl("get", "node", NODE_NAME, "-o", "json")))
    except ClusterError:
        return False


def kube_router_ready() -> bool:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{KUBE_ROUTER_HEALTH_PORT}/healthz", timeout=2
        ) as response:
            return response.status == 200
    except OSError:
        return False


def advertise_gpus() -> None:
    """nvidia.com/gpu in the node's capacity, as the device plugin would report it."""
    patch = [{"op": "add", "path": "/status/capacity/nvidia.com~1gpu", "value": str(GPU["count"])}]
    kubectl("patch", "node", NODE_NAME, "--subresource=status", "--type=json", f"-p={json.dumps(patch)}")


def other_kubelet() -> str | None:
    """A kubelet of another checkout (or system) on this machine, which ours would fight."""
    own = {part.pid() for part in components_or_known()}
    for line in _host("pgrep", "-a", "kubelet", check=False).stdout.splitlines():
        pid, _, command = line.partition(" ")
        if int(pid) not in own and "/kubelet" in command.split()[0]:
            return line
    return None


def up(images: list[str] | None = None) -> None:
    """Start the node (idempotent) with `images` imported (default: every image of
    scripts/local_images.py; tests that need no vLLM pass the small ones)."""
    started = time.monotonic()
    other = other_kubelet()
    if other:
        raise ClusterError(
            f"another kubelet runs on this machine ({other}); stop it first: one real node per machine"
        )
    write_files()
    prepare_host()
    containerd, kubelet, kube_proxy, kube_router = components()
    containerd.start()
    wait_started("containerd", containerd_ready, containerd, START_TIMEOUT_SECONDS)
    import_images(images)
    kubelet.start()
    kube_proxy.start()
    wait_started(f"node {NODE_NAME}", node_ready, kubelet, START_TIMEOUT_SECONDS)
    advertise_gpus()
    apply_manifests(KUBE_ROUTER_RBAC)
    kube_router.start()
    wait_started(
        "kube-router's NetworkPolicy controller", kube_router_ready, kube_router, START_TIMEOUT_SECONDS
    )
    log(
        f"real node {NODE_NAME} Ready in {time.monotonic() - started:.1f}s "
        f"(pods on {POD_CIDR}, bridge {BRIDGE})"
    )


def import_images(images: list[str] | None) -> None:
    """The images stacks render, built here (no registry) and imported once; the
    sandbox image always."""
    refs = list(images or local_images.REFS)
    if local_images.PAUSE_REF not in refs:
        refs.append(local_images.PAUSE_REF)
    try:
        local_images.import_into_containerd(tool("ctr"), str(CONTAINERD_SOCKET), refs)
    except local_images.BuildError as error:
        raise ClusterError(f"images: {error}") from None


def components_or_known() -> list[Component]:
    try:
        return components()
    except ClusterError:
        return [Component(name, []) for name in ("containerd", "kubelet", "kube-proxy", "kube-router")]


def down() -> None:
    """Every pod's containers stopped, every process stopped, every mount under the node's
    state removed (a hostPath's bind mount is unmounted, never deleted through), then
    the state. Refuses to delete while anything is still mounted there."""
    parts = components_or_known()
    by_name = {part.name: part for part in parts}
    by_name["kube-router"].stop()
    by_name["kube-proxy"].stop()
    by_name["kubelet"].stop()
    if by_name["containerd"].pid() is not None:
        _stop_all_containers()
    by_name["containerd"].stop()
    _kill_leftover_shims()
    _unmount_under(NODE_STATE)
    _unmount_under(image_store())
    _remove_rules()
    reset_host()
    # The Node object would stay NotReady, and the scheduler would still weigh it (with
    # the control plane already down, nothing remembers the node).
    with contextlib.suppress(ClusterError):
        kubectl("delete", "node", NODE_NAME, "--ignore-not-found", "--wait=false")
    if NODE_STATE.exists():
        shutil.rmtree(NODE_STATE)


def crictl(*args: str, check: bool = True) -> str:
    return _host(
        tool("crictl"), f"--runtime-endpoint=unix://{CONTAINERD_SOCKET}", "--timeout=30s", *args, check=check
    ).stdout


def container_memory() -> dict[str, int]:
    """Working-set memory (bytes) of each running container on the node, by
    `<namespace>/<pod>/<container>`, as the kubelet's eviction and `kubectl top` count it
    (crictl stats through the CRI)."""
    stats = json.loads(crictl("stats", "-o", "json") or "{}").get("stats", [])
    memory = {}
    for entry in stats:
        attributes = entry["attributes"]
        labels = attributes.get("labels", {})
        key = "/".join(
            (
                labels.get("io.kubernetes.pod.namespace", "?"),
                labels.get("io.kubernetes.pod.name", "?"),
                attributes.get("metadata", {}).get("name", "?"),
            )
        )
        working_set = entry.get("memory", {}).get("workingSetBytes", {}).get("value", 0)
        memory[key] = int(working_set)
    return memory


def _stop_all_containers() -> None:
    """Every pod sandbox stopped and removed through the CRI, so containerd also tears
    down their network namespaces and releases their addresses."""
    for sandbox in crictl("pods", "-q", check=False).split():
        crictl("stopp", sandbox, check=False)
        crictl("rmp", "--force", sandbox, check=False)


def _remove_rules() -> None:
    """The iptables chains and ipsets the kubelet, kube-proxy and kube-router made (all
    named KUBE-*; kube-router's own --cleanup-config leaves its chains and then
    crashes on this kernel's missing IPVS). Runs only after our node ran here, and
    only one kubelet may run on a machine (see up), so these are ours."""
    with contextlib.suppress(ClusterError):
        _host(tool("kube-proxy"), "--cleanup", check=False)
    for command in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            _remove_chains(command, table)
    for name in _host("ipset", "list", "-n", check=False).stdout.split():
        if name.startswith(("KUBE-", "kube-router-")):
            _host("ipset", "destroy", name, check=False)


def _remove_chains(command: str, table: str) -> None:
    """Every KUBE-* chain of `table`, and the rules elsewhere that jump to one."""
    rules = _host(command, "-t", table, "-S", check=False).stdout.splitlines()
    ours = [line.split()[1] for line in rules if line.startswith("-N KUBE-")]
    for line in rules:
        words = shlex.split(line)
        if words[:1] == ["-A"] and words[1] not in ours and any(w in ours for w in words):
            _host(command, "-t", table, "-D", *words[1:], check=False)
    for action in ("-F", "-X"):
        for chain in ours:
            _host(command, "-t", table, action, chain, check=False)


def _kill_leftover_shims() -> None:
    """The runc shims of our containerd (their command names our state directory)."""
    for line in _host("pgrep", "-a", "-f", "containerd-shim-runc-v2", check=False).stdout.splitlines():
        pid, _, command = line.partition(" ")
        if str(NODE_STATE) in command or str(CONTAINERD_SOCKET) in command:
            _host("kill", "-9", pid, check=False)


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve()) + "/"
    points = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point.startswith(prefix):
            points.append(point)
    return points


def _unmount_under(root: Path) -> None:
    if not root.exists():
        return
    for _ in range(5):
        points = _mounts_under(root)
        if not points:
            return
        for point in sorted(points, key=len, reverse=True):
            _host("umount", "-l", point, check=False)
        time.sleep(0.2)
    raise ClusterError(
        f"still mounted under {root} after unmounting: {_mounts_under(root)[:3]}; not deleting it"
    )


def status() -> None:
    log_processes(components_or_known())


def main(argv: list[str]) -> int:
    """scripts/real_node.py up [--images REF,REF] | down | status (scripts/local-cluster
    up --real-node starts the control plane first, then this with every image)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--images", help="comma-separated image references to import (default: all)")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            up(args.images.split(",") if args.images else None)
        elif args.command == "down":
            down()
        else:
            status()
    except ClusterError as error:
        print(f"[real-node] error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
