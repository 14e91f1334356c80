"""Program evaluation against the SDK's floor, per stack: how much our program costs
beyond registering the same resources with the same SDK.

For each stack, in fresh processes under the same Pulumi mocks (tests/harness.py):
  1. our program: __main__.py on the stack file (config checks, sizing, components);
  2. the floor: bench/floor_program.py, which imports the same pulumi_kubernetes
     modules and registers exactly the custom resources our program registered (the
     same types, names and inputs, recorded from a run of 1) as plain
     `pulumi.CustomResource`s, with no config, no components and no checks.
Each is timed from process start to exit, RUNS times, alternating; prints the medians,
the ratio, and the resources each registered. Issue 22's goal is a ratio of 1.25.

Usage: .venv/bin/python bench/evaluation_floor.py [--runs N] [STACK|STACK_FILE ...]
       (default: dev prod examples/seed-000-replicas.yaml, 5 runs)
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

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from harness import run_program, stack_file_config  # noqa: E402

FLOOR_PROGRAM = ROOT / "bench" / "floor_program.py"
DEFAULT_STACKS = ["dev", "prod", "examples/seed-000-replicas.yaml"]
# One fresh process: the harness, then one program run under its mocks.
RUN = """
import json, os, sys
from pathlib import Path
sys.path[:0] = [{tests!r}, {root!r}]
from harness import run_program, stack_file_config
program = os.environ.get("FLOOR_PROGRAM")
run = run_program(stack_file_config(Path({stack_file!r})), program=Path(program) if program else None)
print(len([r for r in run.resources if r.type.startswith("kubernetes:")]))
"""


def timed(stack_file: Path, env: dict[str, str]) -> tuple[float, int]:
    code = RUN.format(tests=str(ROOT / "tests"), root=str(ROOT), stack_file=str(stack_file))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=True
    )
    return time.monotonic() - started, int(result.stdout.strip().splitlines()[-1])


def bench(argument: str, runs: int) -> None:
    stack_file = ROOT / argument if argument.endswith(".yaml") else ROOT / f"Pulumi.{argument}.yaml"
    recorded = run_program(stack_file_config(stack_file))
    registrations = [
        {"type": r.type, "name": r.name, "inputs": r.inputs}
        for r in recorded.resources
        if r.type.startswith("kubernetes:")
    ]
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "registrations.json"
        path.write_text(json.dumps(registrations))
        base = {**__import__("os").environ, "FLOOR_REGISTRATIONS": str(path)}
        ours_env = {k: v for k, v in base.items() if k != "FLOOR_PROGRAM"}
        floor_env = {**base, "FLOOR_PROGRAM": str(FLOOR_PROGRAM)}
        timed(stack_file, ours_env)  # warm-up: bytecode, page cache
        ours, floor = [], []
        for _ in range(runs):
            seconds, ours_count = timed(stack_file, ours_env)
            ours.append(seconds)
            seconds, floor_count = timed(stack_file, floor_env)
            floor.append(seconds)
    ours_median, floor_median = statistics.median(ours), statistics.median(floor)
    name = stack_file.stem.removeprefix("Pulumi.")
    print(
        f"{name:<22} resources {ours_count:>3}/{floor_count:<3} program {ours_median:5.2f} s  "
        f"floor {floor_median:5.2f} s  ratio {ours_median / floor_median:.2f} (median of {runs})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("stacks", nargs="*", default=DEFAULT_STACKS)
    args = parser.parse_args()
    if not 1 <= args.runs <= 20:
        raise SystemExit("[bench] --runs must be between 1 and 20")
    for stack in args.stacks:
        bench(stack, args.runs)


if __name__ == "__main__":
    main()
