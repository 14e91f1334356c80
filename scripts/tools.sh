#!/usr/bin/env bash
# Build the project's Go tools from the Go module proxy into a cache outside the
# repo, keyed by version, so a second run does nothing.
#
#   scripts/tools.sh [build] [NAME...]   build the named tools (default: all) if missing
#   scripts/tools.sh path NAME           print where NAME's binary lives (built or not)
#
# Tools: promtool (Prometheus' rule checker), kube-apiserver, kube-controller-manager,
# kube-scheduler and kubectl (one Kubernetes release), etcd, kwok, and the Pulumi
# engine: the CLI, its Python language host and the kubernetes and random resource
# plugins, and the LeaderWorkerSet controller (sigs.k8s.io/lws) that multi-node pools
# need, and the Gateway API Inference Extension's endpoint picker (epp), whose flag
# parser the tests run.
# Bench-only tools (never built by `build` without names, so not by `make test`):
# helm, for bench/deploy_to_ready.py's `helm install --wait` comparison.
# Real-node tools (built by `make node-tools`, not by `build` without names): kubelet
# and kube-proxy, containerd, runc, the CNI plugins, crictl and kube-router
# (scripts/real_node.py says what each is for).
# Cache root: $LLM_SERVING_TOOLS, default ~/.cache/llm-serving/tools. Wrapper modules
# for projects whose go.mod has local replace lines are generated there at build time.
set -euo pipefail

TOOLS_ROOT="${LLM_SERVING_TOOLS:-$HOME/.cache/llm-serving/tools}"
PROMETHEUS_MODULE_VERSION="v0.316.0" # module v0.3XX.Y is Prometheus 3.XX.Y
PROMETHEUS_VERSION="3.16.0"
KUBERNETES_VERSION="1.36.2"
ETCD_VERSION="3.6.14"
KWOK_VERSION="0.8.0"
# The Pulumi engine, at the versions the module proxy serves (see README "Running
# the engine"): pkg/v3 only at a few releases; the Python language host only as
# the in-module package of sdk/v3@v3.68.0 (later releases moved it into a module
# of its own that the proxy does not serve); the kubernetes provider only at one
# master commit between its 4.24.1 and 4.25.0 releases, installed as 4.24.1 (the
# pinned Python SDK) since it is a superset of it.
PULUMI_VERSION="3.259.0"
PYTHON_HOST_VERSION="3.68.0"
K8S_PROVIDER_MODULE_VERSION="v4.0.0-20260115033456-f47bc2d6f199"
K8S_PROVIDER_VERSION="4.24.1"
# The random provider: the Terraform provider at one commit, bridged by
# pulumi-terraform-bridge with our configuration (scripts/pulumi-resource-random),
# installed as the version the pinned pulumi-random SDK requests.
RANDOM_PROVIDER_VERSION="4.21.4"
# The LeaderWorkerSet controller; keep equal to LWS_CHART_VERSION in config/release.py.
LWS_VERSION="0.9.0"
# The endpoint picker; keep equal to the EPP image tag in config/release.py.
GAIE_VERSION="1.5.0"
# The real node of the local cluster (scripts/real_node.py): kubelet and kube-proxy of
# KUBERNETES_VERSION, containerd 2.x and the CNI plugins. Built on demand by
# `make node-tools` (or scripts/tools.sh build NAME), not by default.
CONTAINERD_VERSION="2.4.2"
CNI_PLUGINS_VERSION="1.10.0"
CRI_TOOLS_VERSION="1.37.0"
# kube-router's NetworkPolicy controller (iptables and ipset, which this kernel has;
# kube-network-policies needs nftables' queue statement, which it lacks). v2.1.0 is
# the only release the proxy serves and security flaws are reported for it: it is a
# local test component only, never part of what the stacks deploy.
KUBE_ROUTER_VERSION="2.1.0"
# runc from its module, with seccomp (cgo, Debian's libseccomp-dev): Debian's 1.1.5
# predates fixes for container escapes (CVE-2024-21626) and reports init failures poorly.
RUNC_VERSION="1.5.3"
NODE_TOOLS="kubelet containerd runc cni-plugins crictl kube-router"
ALL_TOOLS="promtool kubernetes etcd kwok pulumi pulumi-language-python pulumi-resource-kubernetes pulumi-resource-random lws epp"
HELM_VERSION="3.22.0"
BENCH_TOOLS="helm"
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

tool_dir() {
  case "$1" in
    promtool) echo "$TOOLS_ROOT/promtool/$PROMETHEUS_MODULE_VERSION" ;;
    kubernetes | kube-apiserver | kube-controller-manager | kube-scheduler | kubectl)
      echo "$TOOLS_ROOT/kubernetes/v$KUBERNETES_VERSION" ;;
    etcd) echo "$TOOLS_ROOT/etcd/v$ETCD_VERSION" ;;
    kubelet | kube-proxy) echo "$TOOLS_ROOT/kubelet/v$KUBERNETES_VERSION" ;;
    containerd | ctr | containerd-shim-runc-v2) echo "$TOOLS_ROOT/containerd/v$CONTAINERD_VERSION" ;;
    cni-plugins) echo "$TOOLS_ROOT/cni-plugins/v$CNI_PLUGINS_VERSION" ;;
    crictl) echo "$TOOLS_ROOT/crictl/v$CRI_TOOLS_VERSION" ;;
    runc) echo "$TOOLS_ROOT/runc/v$RUNC_VERSION" ;;
    kube-router) echo "$TOOLS_ROOT/kube-router/v$KUBE_ROUTER_VERSION" ;;
    kwok | kwok-stages.yaml) echo "$TOOLS_ROOT/kwok/v$KWOK_VERSION" ;;
    pulumi) echo "$TOOLS_ROOT/pulumi/v$PULUMI_VERSION" ;;
    pulumi-language-python | pulumi-language-python-exec)
      echo "$TOOLS_ROOT/pulumi-language-python/v$PYTHON_HOST_VERSION" ;;
    pulumi-resource-kubernetes) echo "$TOOLS_ROOT/pulumi-resource-kubernetes/v$K8S_PROVIDER_VERSION" ;;
    helm) echo "$TOOLS_ROOT/helm/v$HELM_VERSION" ;;
    pulumi-resource-random) echo "$TOOLS_ROOT/pulumi-resource-random/v$RANDOM_PROVIDER_VERSION" ;;
    lws | lws-controller | lws-crds) echo "$TOOLS_ROOT/lws/v$LWS_VERSION" ;;
    epp) echo "$TOOLS_ROOT/epp/v$GAIE_VERSION" ;;
    *) echo "unknown tool: $1" >&2; return 2 ;;
  esac
}

tool_path() {
  case "$1" in
    kubernetes) echo "$(tool_dir "$1")/kube-apiserver" ;;
    lws) echo "$(tool_dir "$1")/lws-controller" ;;
    cni-plugins) echo "$(tool_dir "$1")/bridge" ;;
    *) echo "$(tool_dir "$1")/$1" ;;
  esac
}

step() { printf '[tools] %s: %s\n' "$1" "$2"; }

fail() {
  printf '[tools] %s: FAILED at step "%s"; see the output above.\n' "$1" "$2" >&2
  exit 1
}

# Runs a build function unless its marker binary exists; reports time taken.
build_once() {
  local name="$1" version="$2" marker started lock
  marker="$(tool_path "$name")"
  if [ -x "$marker" ]; then
    step "$name" "$version already built in $(tool_dir "$name")"
    return
  fi
  command -v go >/dev/null || fail "$name" "find the go toolchain (install Go 1.26)"
  mkdir -p "$(tool_dir "$name")"
  # One build of a tool version at a time: two (`make test` while `make up` runs)
  # would share its work directory, and the second's clean-up pulls it from under
  # the first. The later one waits, then finds the tool built. The lock goes with
  # this subshell (build_all runs each build in one).
  exec {lock}>"$(tool_dir "$name").lock"
  if ! flock -n "$lock"; then
    step "$name" "another build of $version is running; waiting for it"
    flock "$lock"
  fi
  if [ -x "$marker" ]; then
    step "$name" "$version built meanwhile in $(tool_dir "$name")"
    return
  fi
  started=$(date +%s)
  step "$name" "building $version (cold: several minutes)"
  "build_$name"
  [ -x "$marker" ] || fail "$name" "produce $marker"
  step "$name" "built in $(( $(date +%s) - started ))s"
}

build_promtool() {
  step promtool "go install github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION"
  CGO_ENABLED=0 GOBIN="$(tool_dir promtool)" go install -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION" || fail promtool "go install"
}

# k8s.io/kubernetes requires its staging modules at v0.0.0 through ./staging replace
# lines; the wrapper replaces each with its published v0.MINOR.PATCH release.
# Usage: kubernetes_wrapper TOOL COMMAND... (in an empty directory); then
# kubernetes_build TOOL OUTPUT PACKAGE... compiles with the release's version stamped.
kubernetes_wrapper() {
  local tool="$1" minor patch mod staged command
  shift
  minor="$(echo "$KUBERNETES_VERSION" | cut -d. -f2)"
  patch="$(echo "$KUBERNETES_VERSION" | cut -d. -f3)"
  step "$tool" "generate the wrapper module"
  go mod init "local/$tool-tools" >/dev/null 2>&1 || fail "$tool" "go mod init"
  go mod edit -go=1.26.0 -require="k8s.io/kubernetes@v$KUBERNETES_VERSION"
  mod="$(go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  [ -f "$mod" ] || fail "$tool" "download k8s.io/kubernetes@v$KUBERNETES_VERSION"
  for staged in $(sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/.*#\1#p' "$mod"); do
    go mod edit -replace="$staged=$staged@v0.$minor.$patch"
  done
  grep '^godebug' "$mod" >>go.mod || true
  for command in "$@"; do
    go mod edit -tool="k8s.io/kubernetes/cmd/$command"
  done
  step "$tool" "resolve modules"
  go mod tidy || fail "$tool" "go mod tidy"
}

kubernetes_build() {
  local tool="$1" output="$2" minor ldflags package
  shift 2
  minor="$(echo "$KUBERNETES_VERSION" | cut -d. -f2)"
  # Without these the server reports v0.0.0 and clients (the Pulumi provider
  # among them) refuse it.
  ldflags="-s -w"
  for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $package.gitVersion=v$KUBERNETES_VERSION -X $package.gitMajor=1"
    ldflags="$ldflags -X $package.gitMinor=$minor -X $package.gitTreeState=clean"
  done
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$output" "$@" || fail "$tool" "go build $*"
}

build_kubernetes() {
  local dir
  dir="$(tool_dir kubernetes)/src"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  kubernetes_wrapper kubernetes kube-apiserver kube-controller-manager kube-scheduler kubectl
  step kubernetes "compile kube-apiserver, kube-controller-manager, kube-scheduler, kubectl"
  # kube-apiserver last: it is the marker that the whole set is built.
  kubernetes_build kubernetes .. k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  kubernetes_build kubernetes ../kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
  cd - >/dev/null && rm -rf "$dir"
}

# The real node's kubelet and kube-proxy, of the same release as the control plane.
build_kubelet() {
  local dir
  dir="$(tool_dir kubelet)/src"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  kubernetes_wrapper kubelet kubelet kube-proxy
  step kubelet "compile kube-proxy, kubelet"
  kubernetes_build kubelet ../kube-proxy k8s.io/kubernetes/cmd/kube-proxy
  kubernetes_build kubelet ../kubelet k8s.io/kubernetes/cmd/kubelet
  cd - >/dev/null && rm -rf "$dir"
}

# containerd 2.x (the kubelet of 1.36 refuses containerd 1.x, Debian's), built in the
# downloaded module with its own go.sum; without cgo the btrfs snapshotter is left
# out (the node uses overlayfs).
build_containerd() {
  local dir source
  dir="$(tool_dir containerd)"
  step containerd "download github.com/containerd/containerd/v2@v$CONTAINERD_VERSION"
  source="$(go mod download -json "github.com/containerd/containerd/v2@v$CONTAINERD_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$source" ] || fail containerd "download github.com/containerd/containerd/v2@v$CONTAINERD_VERSION"
  step containerd "compile ctr, containerd-shim-runc-v2, containerd"
  # containerd last: it is the marker that the set is built.
  (cd "$source" && CGO_ENABLED=0 go build -trimpath -tags no_btrfs \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=v$CONTAINERD_VERSION" \
    -o "$dir/" ./cmd/ctr ./cmd/containerd-shim-runc-v2 &&
    CGO_ENABLED=0 go build -trimpath -tags no_btrfs \
      -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=v$CONTAINERD_VERSION" \
      -o "$dir/containerd" ./cmd/containerd) || fail containerd "go build"
}

# runc, built in the downloaded module (its nsenter is C: cgo) with seccomp support.
build_runc() {
  local dir source
  dir="$(tool_dir runc)"
  step runc "download github.com/opencontainers/runc@v$RUNC_VERSION"
  source="$(go mod download -json "github.com/opencontainers/runc@v$RUNC_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$source" ] || fail runc "download github.com/opencontainers/runc@v$RUNC_VERSION"
  pkg-config --exists libseccomp || fail runc "find libseccomp (apt-get install libseccomp-dev pkg-config)"
  step runc "compile runc"
  (cd "$source" && CGO_ENABLED=1 go build -trimpath -tags seccomp \
    -ldflags "-s -w -X main.version=$RUNC_VERSION" -o "$dir/runc" .) || fail runc "go build"
}

# crictl, the CRI client the real node's `down` stops and removes pod sandboxes with
# (so containerd tears their network namespaces and addresses down).
build_crictl() {
  step crictl "go install sigs.k8s.io/cri-tools/cmd/crictl@v$CRI_TOOLS_VERSION"
  CGO_ENABLED=0 GOBIN="$(tool_dir crictl)" go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/cri-tools/cmd/crictl@v$CRI_TOOLS_VERSION" || fail crictl "go install"
}

# kube-router, built in the downloaded module with its own go.sum; the real node runs
# only its NetworkPolicy controller (--run-firewall).
build_kube-router() {
  local dir source
  dir="$(tool_dir kube-router)"
  step kube-router "download github.com/cloudnativelabs/kube-router/v2@v$KUBE_ROUTER_VERSION"
  source="$(go mod download -json "github.com/cloudnativelabs/kube-router/v2@v$KUBE_ROUTER_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$source" ] || fail kube-router "download github.com/cloudnativelabs/kube-router/v2@v$KUBE_ROUTER_VERSION"
  step kube-router "compile kube-router"
  (cd "$source" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=v$KUBE_ROUTER_VERSION" \
    -o "$dir/kube-router" ./cmd/kube-router) || fail kube-router "go build"
}

# The CNI plugins the real node's bridge network uses.
build_cni-plugins() {
  local dir source
  dir="$(tool_dir cni-plugins)"
  step cni-plugins "download github.com/containernetworking/plugins@v$CNI_PLUGINS_VERSION"
  source="$(go mod download -json "github.com/containernetworking/plugins@v$CNI_PLUGINS_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$source" ] || fail cni-plugins "download github.com/containernetworking/plugins@v$CNI_PLUGINS_VERSION"
  step cni-plugins "compile loopback, host-local, portmap, bridge"
  # bridge last: it is the marker that the set is built.
  (cd "$source" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir/" \
    ./plugins/main/loopback ./plugins/ipam/host-local ./plugins/meta/portmap &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir/bridge" ./plugins/main/bridge) ||
    fail cni-plugins "go build"
}

# etcd's server module replaces its sibling modules with ../ paths; the wrapper
# requires each at the release instead.
build_etcd() {
  local dir module
  dir="$(tool_dir etcd)/src"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  step etcd "generate the wrapper module"
  go mod init local/etcd-tools >/dev/null 2>&1 || fail etcd "go mod init"
  go mod edit -go=1.26.0
  for module in server api client/pkg client pkg; do
    go mod edit -require="go.etcd.io/etcd/$module/v3@v$ETCD_VERSION"
  done
  go mod edit -tool=go.etcd.io/etcd/server/v3
  step etcd "resolve modules"
  go mod tidy || fail etcd "go mod tidy"
  step etcd "compile"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o ../etcd go.etcd.io/etcd/server/v3 || fail etcd "go build"
  cd - >/dev/null && rm -rf "$dir"
}

# kwok runs without stages only if given some: the fast node and pod stages make
# fake nodes Ready and mark their pods Running/Ready (Job pods Succeeded).
build_kwok() {
  local dir stages source
  dir="$(tool_dir kwok)"
  step kwok "go install sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
  CGO_ENABLED=0 GOBIN="$dir" go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION" \
    "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" || fail kwok "go install"
  source="$(go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$source" ] || fail kwok "find the stage definitions"
  stages="$dir/kwok-stages.yaml"
  : >"$stages"
  for file in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    { echo "---"; cat "$source/kustomize/stage/$file"; } >>"$stages" || fail kwok "copy stage $file"
  done
}

build_pulumi() {
  local dir
  dir="$(tool_dir pulumi)/src"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  step pulumi "generate the wrapper module"
  go mod init local/pulumi-cli >/dev/null 2>&1 || fail pulumi "go mod init"
  # pkg/v3's go.mod replaces atotto/clipboard with this fork; replace lines of a
  # dependency do not apply to us, so the wrapper repeats it.
  go mod edit -go=1.26.0 \
    -replace=github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e \
    -require="github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" \
    -require="github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" \
    -tool=github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  step pulumi "resolve modules"
  go mod tidy || fail pulumi "go mod tidy"
  step pulumi "compile"
  CGO_ENABLED=0 go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    -o ../pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi || fail pulumi "go build"
  cd - >/dev/null && rm -rf "$dir"
}

# The 3.68 host runs today's SDK (checked: config, secrets, outputs); it does not
# read Pulumi.yaml's virtualenv option, so scripts/pulumi puts the venv first on
# PATH. Its exec script comes from the CLI's release, matching the SDK's API.
build_pulumi-language-python() {
  local dir exec_source
  dir="$(tool_dir pulumi-language-python)/src"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  step pulumi-language-python "generate the wrapper module"
  go mod init local/pulumi-language-python >/dev/null 2>&1 || fail pulumi-language-python "go mod init"
  # x/text: 3.68's tree predates the API change in later x/text releases.
  go mod edit -go=1.26.0 -replace=golang.org/x/text=golang.org/x/text@v0.3.6 \
    -require="github.com/pulumi/pulumi/sdk/v3@v$PYTHON_HOST_VERSION" \
    -tool=github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python
  step pulumi-language-python "resolve modules"
  go mod tidy || fail pulumi-language-python "go mod tidy"
  step pulumi-language-python "compile"
  CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PYTHON_HOST_VERSION" \
    -o ../pulumi-language-python.tmp github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python ||
    fail pulumi-language-python "go build"
  step pulumi-language-python "copy pulumi-language-python-exec from sdk/v3@v$PULUMI_VERSION"
  exec_source="$(go mod download -json "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/python/cmd/pulumi-language-python-exec"
  [ -f "$exec_source" ] || fail pulumi-language-python "find $exec_source"
  install -m 0755 "$exec_source" ../pulumi-language-python-exec
  mv ../pulumi-language-python.tmp ../pulumi-language-python
  cd - >/dev/null && rm -rf "$dir"
}

# The provider's main package embeds two generated files; the wrapper copies the
# package and generates them from the schema the module ships. Two of its modules
# are missing from sum.golang.org (the provider, pkg/v3@v3.215.0 and cloud-ready-checks),
# so their hashes are pinned in
# scripts/pulumi-resource-kubernetes.sum and checked here instead.
build_pulumi-resource-kubernetes() {
  local dir module source
  dir="$(tool_dir pulumi-resource-kubernetes)/src"
  module="github.com/pulumi/pulumi-kubernetes/provider/v4"
  rm -rf "$dir" && mkdir -p "$dir/cmd/pulumi-resource-kubernetes" && cd "$dir"
  step pulumi-resource-kubernetes "generate the wrapper module"
  go mod init local/pulumi-resource-kubernetes >/dev/null 2>&1 || fail pulumi-resource-kubernetes "go mod init"
  go mod edit -go=1.26.0 -require="$module@$K8S_PROVIDER_MODULE_VERSION"
  export GONOSUMDB="github.com/pulumi/pulumi-kubernetes/provider,github.com/pulumi/cloud-ready-checks,github.com/pulumi/pulumi/pkg"
  step pulumi-resource-kubernetes "download $module@$K8S_PROVIDER_MODULE_VERSION"
  source="$(go mod download -json "$module@$K8S_PROVIDER_MODULE_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/cmd/pulumi-resource-kubernetes"
  [ -f "$source/main.go" ] || fail pulumi-resource-kubernetes "download $module"
  cp "$source"/*.go cmd/pulumi-resource-kubernetes/ && chmod u+w cmd/pulumi-resource-kubernetes/*
  rm -f cmd/pulumi-resource-kubernetes/*_test.go
  step pulumi-resource-kubernetes "generate schema-embed.json"
  python3 - "$source" "$K8S_PROVIDER_VERSION" <<'PY' || fail pulumi-resource-kubernetes "generate schema-embed.json"
import json, os, sys
source, version = sys.argv[1], sys.argv[2]
schema = json.load(open(os.path.join(source, "schema.json")))
schema["version"] = version
json.dump(schema, open("cmd/pulumi-resource-kubernetes/schema-embed.json", "w"), separators=(",", ":"))
mapping_path = os.path.join(source, "terraform-mapping.json")
mapping = json.load(open(mapping_path)) if os.path.exists(mapping_path) else {}
json.dump(mapping, open("cmd/pulumi-resource-kubernetes/terraform-mapping-embed.json", "w"), separators=(",", ":"))
PY
  step pulumi-resource-kubernetes "resolve modules"
  go mod tidy || fail pulumi-resource-kubernetes "go mod tidy"
  step pulumi-resource-kubernetes "check the pinned hashes of modules sum.golang.org lacks"
  grep -F -f <(grep -v '^#' "$SCRIPTS_DIR/pulumi-resource-kubernetes.sum") go.sum |
    cmp -s - <(grep -v '^#' "$SCRIPTS_DIR/pulumi-resource-kubernetes.sum") ||
    fail pulumi-resource-kubernetes "hashes differ from scripts/pulumi-resource-kubernetes.sum"
  step pulumi-resource-kubernetes "compile (cold: about 15 minutes on 2 cores)"
  CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X $module/pkg/version.Version=$K8S_PROVIDER_VERSION" \
    -o ../pulumi-resource-kubernetes ./cmd/pulumi-resource-kubernetes || fail pulumi-resource-kubernetes "go build"
  cd - >/dev/null && rm -rf "$dir"
}

build_helm() {
  step helm "go install helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
  CGO_ENABLED=0 GOBIN="$(tool_dir helm)" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" || fail helm "go install"
}

# The module in scripts/pulumi-resource-random (its go.sum pins every hash) is
# copied to the cache; its schema generator runs first and writes the schema and
# bridge metadata that the plugin then embeds.
build_pulumi-resource-random() {
  local dir ldflags
  dir="$(tool_dir pulumi-resource-random)/src"
  ldflags="-s -w -X main.version=$RANDOM_PROVIDER_VERSION"
  rm -rf "$dir" && mkdir -p "$dir" && cp -R "$SCRIPTS_DIR/pulumi-resource-random/." "$dir/" && cd "$dir"
  step pulumi-resource-random "compile the schema generator (pulumi-tfgen-random)"
  CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$ldflags" -o pulumi-tfgen-random \
    ./cmd/pulumi-tfgen-random || fail pulumi-resource-random "go build pulumi-tfgen-random"
  step pulumi-resource-random "generate schema.json and bridge-metadata.json"
  ./pulumi-tfgen-random schema --out cmd/pulumi-resource-random --skip-docs --skip-examples ||
    fail pulumi-resource-random "pulumi-tfgen-random schema"
  step pulumi-resource-random "compile the plugin"
  CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$ldflags" -o ../pulumi-resource-random.tmp \
    ./cmd/pulumi-resource-random || fail pulumi-resource-random "go build pulumi-resource-random"
  cp cmd/pulumi-resource-random/schema.json ../schema.json
  mv ../pulumi-resource-random.tmp ../pulumi-resource-random
  cd - >/dev/null && rm -rf "$dir"
}

# The controller is the module's ./cmd package (the binary would be named "cmd"),
# built in the downloaded module with its own go.sum; its CRDs (LeaderWorkerSet,
# DisaggregatedSet) and webhook configurations are copied beside it for the local
# cluster to apply.
build_lws() {
  local dir source
  dir="$(tool_dir lws)"
  step lws "download sigs.k8s.io/lws@v$LWS_VERSION"
  source="$(go mod download -json "sigs.k8s.io/lws@v$LWS_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$source" ] || fail lws "download sigs.k8s.io/lws@v$LWS_VERSION"
  rm -rf "$dir/crds" "$dir/webhook" && mkdir -p "$dir/crds" "$dir/webhook"
  cp "$source"/config/crd/bases/*.yaml "$dir/crds/" || fail lws "copy the CRDs"
  cp "$source"/config/webhook/manifests.yaml "$source"/config/webhook/*-patch.yaml "$dir/webhook/" ||
    fail lws "copy the webhook configurations"
  chmod -R u+w "$dir/crds" "$dir/webhook"
  step lws "compile the controller"
  (cd "$source" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/lws/pkg/version.GitVersion=v$LWS_VERSION" \
    -o "$dir/lws-controller" ./cmd) || fail lws "go build"
}

# The endpoint picker (cmd/epp of sigs.k8s.io/gateway-api-inference-extension), built
# in the downloaded module with its own go.sum, like the LWS controller.
build_epp() {
  local dir source
  dir="$(tool_dir epp)"
  step epp "download sigs.k8s.io/gateway-api-inference-extension@v$GAIE_VERSION"
  source="$(go mod download -json "sigs.k8s.io/gateway-api-inference-extension@v$GAIE_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$source" ] || fail epp "download sigs.k8s.io/gateway-api-inference-extension@v$GAIE_VERSION"
  step epp "compile the endpoint picker"
  # The module ships a go.work naming sibling modules the module zip lacks.
  (cd "$source" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir/epp" ./cmd/epp) ||
    fail epp "go build"
}

# Builds the named tools, BUILD_JOBS at a time (default 2). A cold build spends much
# of its time downloading modules and linking, single-threaded, so two builds side by
# side on 2 cores take far less wall time than one after the other. Each build's
# output is prefixed with its name; the first failure is reported after all finish.
build_all() {
  local jobs="${LLM_SERVING_BUILD_JOBS:-2}" name status_dir failed
  status_dir="$(mktemp -d)"
  for name in "$@"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    (
      # errexit stays on inside the build; the trap records how the subshell ended.
      trap 'echo $? >"$status_dir/$name"' EXIT
      build_once "$name" "$(version_of "$name")" 2>&1 | sed -u "s/^go: /[tools] $name: go: /"
    ) &
  done
  wait
  failed="$( (grep -lv '^0$' "$status_dir"/* || true) | xargs -rn1 basename | tr '\n' ' ')"
  rm -rf "$status_dir"
  [ -z "$failed" ] || { echo "[tools] FAILED: $failed(see their lines above)" >&2; exit 1; }
}

version_of() {
  case "$1" in
    promtool) echo "$PROMETHEUS_MODULE_VERSION" ;;
    kubernetes) echo "v$KUBERNETES_VERSION" ;;
    etcd) echo "v$ETCD_VERSION" ;;
    kubelet) echo "v$KUBERNETES_VERSION" ;;
    containerd) echo "v$CONTAINERD_VERSION" ;;
    cni-plugins) echo "v$CNI_PLUGINS_VERSION" ;;
    crictl) echo "v$CRI_TOOLS_VERSION" ;;
    runc) echo "v$RUNC_VERSION" ;;
    kube-router) echo "v$KUBE_ROUTER_VERSION" ;;
    kwok) echo "v$KWOK_VERSION" ;;
    pulumi) echo "v$PULUMI_VERSION" ;;
    pulumi-language-python) echo "v$PYTHON_HOST_VERSION" ;;
    pulumi-resource-kubernetes) echo "v$K8S_PROVIDER_VERSION ($K8S_PROVIDER_MODULE_VERSION)" ;;
    helm) echo "v$HELM_VERSION" ;;
    pulumi-resource-random) echo "v$RANDOM_PROVIDER_VERSION" ;;
    lws) echo "v$LWS_VERSION" ;;
    epp) echo "v$GAIE_VERSION" ;;
  esac
}

command="${1:-build}"
case "$command" in
  build)
    shift || true
    names="${*:-$ALL_TOOLS}"
    for name in $names; do
      case " $ALL_TOOLS $NODE_TOOLS $BENCH_TOOLS " in
        *" $name "*) ;;
        *) echo "unknown tool: $name (tools: $ALL_TOOLS; real node: $NODE_TOOLS; bench-only: $BENCH_TOOLS)" >&2; exit 2 ;;
      esac
    done
    build_all $names
    ;;
  path) tool_path "${2:?usage: scripts/tools.sh path NAME}" ;;
  *) echo "usage: scripts/tools.sh [build [NAME...] | path NAME]" >&2; exit 2 ;;
esac
