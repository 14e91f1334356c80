"""What the policy pack (policy/) adds to a preview, per stack.

Each stack is previewed by the real engine in render mode (no cluster, as
scripts/render.py runs it), alternately without and with `--policy-pack policy`,
RUNS times each; prints the median seconds of both, the difference and the objects
the preview registered. The first preview of a stack (plugin start-up, bytecode) is a
warm-up and not counted.

Usage: .venv/bin/python bench/policy_pack_overhead.py [--runs N] [STACK|STACK_FILE ...]
       (default: dev prod examples/pd-gateway.yaml, 3 runs)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]

from render import HF_TOKEN_KEY, PULUMI, engine_env, render_config  # noqa: E402

from local_target import ensure_stack  # noqa: E402

PACK = ROOT / "policy" / "analyzer"
DEFAULT_STACKS = ["dev", "prod", "examples/pd-gateway.yaml"]


def preview_seconds(base: list[str], env: dict[str, str], pack: bool) -> tuple[float, int]:
    command = [PULUMI, "preview", *base, "--json"] + (["--policy-pack", str(PACK)] if pack else [])
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"[bench] preview failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    creates = json.loads(result.stdout).get("changeSummary", {}).get("create", 0)
    return elapsed, creates


def bench(stack: str, runs: int) -> None:
    stack_file = ROOT / stack if stack.endswith(".yaml") else ROOT / f"Pulumi.{stack}.yaml"
    name = stack_file.stem.removeprefix("Pulumi.")
    with tempfile.TemporaryDirectory(prefix="llm-serving-policy-bench-") as tmp:
        work = Path(tmp)
        (work / "state").mkdir()
        config_file = work / f"Pulumi.{name}.yaml"
        config_file.write_text(yaml.safe_dump(render_config(stack_file, work / "out", config_file)))
        env = engine_env(work)
        ensure_stack(name, env)
        base = ["-s", name, "--config-file", str(config_file)]
        subprocess.run(
            [PULUMI, "config", "set", "--secret", f"llm-serving:{HF_TOKEN_KEY}", "bench-placeholder", *base],
            check=True,
            env=env,
            capture_output=True,
        )
        preview_seconds(base, env, pack=True)  # warm-up
        without, with_pack = [], []
        for _ in range(runs):
            seconds, creates = preview_seconds(base, env, pack=False)
            without.append(seconds)
            seconds, _ = preview_seconds(base, env, pack=True)
            with_pack.append(seconds)
    plain, checked = statistics.median(without), statistics.median(with_pack)
    print(
        f"{name:<20} objects {creates:>3}  preview {plain:6.2f} s  with the pack {checked:6.2f} s  "
        f"adds {checked - plain:+.2f} s ({checked / plain:.2f}x), median of {runs}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("stacks", nargs="*", default=DEFAULT_STACKS)
    args = parser.parse_args()
    if not 1 <= args.runs <= 20:
        raise SystemExit("[bench] --runs must be between 1 and 20")
    for stack in args.stacks:
        bench(stack, args.runs)


if __name__ == "__main__":
    main()
