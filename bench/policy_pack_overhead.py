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

import functools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT), str(ROOT / "bench")]

from alternating import alternate, main_for_stacks, stack_file_of  # noqa: E402
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
    stack_file = stack_file_of(stack)
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
        without = functools.partial(preview_seconds, base, env, pack=False)
        with_pack = functools.partial(preview_seconds, base, env, pack=True)
        plain, creates, checked, _ = alternate(without, with_pack, runs, warm_up=with_pack)
    print(
        f"{name:<20} objects {creates:>3}  preview {plain:6.2f} s  with the pack {checked:6.2f} s  "
        f"adds {checked - plain:+.2f} s ({checked / plain:.2f}x), median of {runs}"
    )


if __name__ == "__main__":
    main_for_stacks(__doc__.split("\n")[0], bench, DEFAULT_STACKS, default_runs=3)
