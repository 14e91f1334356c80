#!/usr/bin/env bash
# Build the project's Go tools from the Go module proxy into a cache outside the
# repo, keyed by version, so a second run does nothing.
#
#   scripts/tools.sh            build every tool that is missing
#   scripts/tools.sh path NAME  print where NAME's binary lives (built or not)
#
# Cache root: $LLM_SERVING_TOOLS, default ~/.cache/llm-serving/tools.
set -euo pipefail

TOOLS_ROOT="${LLM_SERVING_TOOLS:-$HOME/.cache/llm-serving/tools}"
# promtool: Prometheus' own rule checker. Module versions v0.3XX.Y are Prometheus 3.XX.Y.
PROMETHEUS_MODULE_VERSION="v0.316.0"
PROMETHEUS_VERSION="3.16.0"

tool_path() {
  case "$1" in
    promtool) echo "$TOOLS_ROOT/promtool/$PROMETHEUS_MODULE_VERSION/promtool" ;;
    *) echo "unknown tool: $1" >&2; return 2 ;;
  esac
}

step() { printf '[tools] %s: %s\n' "$1" "$2"; }

fail() {
  printf '[tools] %s: FAILED at step "%s"; see the output above.\n' "$1" "$2" >&2
  exit 1
}

build_promtool() {
  local target dir started
  target="$(tool_path promtool)"
  if [ -x "$target" ]; then
    step promtool "$PROMETHEUS_MODULE_VERSION already built at $target"
    return
  fi
  command -v go >/dev/null || fail promtool "find the go toolchain (install Go 1.26)"
  dir="$(dirname "$target")"
  mkdir -p "$dir"
  started=$(date +%s)
  step promtool "building github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION (cold: several minutes)"
  CGO_ENABLED=0 GOBIN="$dir" go install -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION" \
    || fail promtool "go install"
  "$target" --version >/dev/null || fail promtool "run the built binary"
  step promtool "built in $(( $(date +%s) - started ))s: $target"
}

case "${1:-build}" in
  build) build_promtool ;;
  path) tool_path "${2:?usage: scripts/tools.sh path NAME}" ;;
  *) echo "usage: scripts/tools.sh [build | path NAME]" >&2; exit 2 ;;
esac
