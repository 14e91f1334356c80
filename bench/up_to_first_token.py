"""Time `make up` to the first answered token on the local cluster's real node.

Runs, from a stopped cluster, the steps `make up` runs and times each:
  1. the control plane (scripts/local-cluster up);
  2. the real node (containerd, image import, kubelet, kube-proxy, kube-router);
  3. `pulumi up --refresh -s STACK` of the local target's config with the policy pack,
     as `make up` runs it (the engine waits until the vLLM pod on the real node is
     Ready: vLLM's start, torch.compile included);
  4. scripts/smoke.py: one streaming chat completion through the pool's Service,
     whose time to the first token it reports.
Then prints each phase's seconds and the total, and the working-set memory of every
container on the real node once the answer is in (crictl stats).

--cold-images builds the images again into an empty image cache (a temporary
LLM_SERVING_IMAGES: Debian base, wheels, vLLM's and the router's images) and imports
them into an empty containerd image store (a temporary LLM_SERVING_CONTAINERD_ROOT),
instead of reusing ~/.cache/llm-serving; the Go tools and virtualenvs stay warm (their
cold build is what `.ci/run` on a fresh machine measures). Warm, the node's image store
(kept across `down`) already holds the images. The cluster is stopped before and after
(`scripts/local-cluster down`).

Needs root and the tools `make up` builds. Usage:
    .venv/bin/python bench/up_to_first_token.py [--stack dev] [--cold-images]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import real_node  # noqa: E402

LOCAL_CLUSTER = ROOT / "scripts" / "local-cluster"
PYTHON = ROOT / ".venv" / "bin" / "python"


def timed(label: str, argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{label} failed after {seconds:.0f}s:\n{(result.stdout + result.stderr)[-3000:]}")
    print(f"{label:<40} {seconds:8.1f} s", flush=True)
    return seconds, result.stdout + result.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--cold-images", action="store_true")
    args = parser.parse_args()
    env = dict(os.environ)
    scratch = None
    if args.cold_images:
        scratch = tempfile.TemporaryDirectory(prefix="llm-serving-images-")
        env["LLM_SERVING_IMAGES"] = str(Path(scratch.name) / "images")
        env["LLM_SERVING_CONTAINERD_ROOT"] = str(Path(scratch.name) / "containerd")
    subprocess.run([str(LOCAL_CLUSTER), "down"], cwd=ROOT, check=True, capture_output=True)
    phases = {}
    try:
        phases["control plane"], _ = timed(
            "control plane (local-cluster up)", [str(LOCAL_CLUSTER), "up"], env
        )
        phases["real node"], _ = timed(
            "real node (images, kubelet, policy)", [str(PYTHON), "scripts/real_node.py", "up"], env
        )
        config = subprocess.run(
            [str(PYTHON), "scripts/local_target.py", args.stack],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        up = [
            str(ROOT / "scripts" / "pulumi"),
            "up",
            "-s",
            args.stack,
            "--yes",
            "--refresh",
            "--config-file",
            config,
        ]
        up_env = {**env, "KUBECONFIG": str(ROOT / ".local" / "cluster" / "kubeconfig")}
        phases["pulumi up"], _ = timed("pulumi up (until the pod is Ready)", up, up_env)
        phases["smoke"], output = timed(
            "first answer (scripts/smoke.py)", [str(PYTHON), "scripts/smoke.py", args.stack], env
        )
        memory = real_node.container_memory()
    finally:
        subprocess.run([str(LOCAL_CLUSTER), "down"], cwd=ROOT, capture_output=True)
        if scratch is not None:
            scratch.cleanup()
    first_token = re.search(r"first token after ([0-9.]+)s", output)
    total = sum(phases.values())
    print(f"{'total, up to the answer':<40} {total:8.1f} s ({'cold' if args.cold_images else 'warm'} images)")
    if first_token:
        print(f"{'time to first token of the request':<40} {float(first_token.group(1)):8.3f} s")
    print("working-set memory on the real node after the answer:")
    for container, working_set in sorted(memory.items(), key=lambda item: -item[1]):
        print(f"  {container:<70} {working_set / 2**20:8.0f} MiB")
    print(f"  {'all containers':<70} {sum(memory.values()) / 2**20:8.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
