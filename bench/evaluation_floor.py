"""Program evaluation against the SDK's floor, per stack: how much our program costs
beyond registering the same resources with the same SDK.

For each stack, in fresh processes under the same Pulumi mocks (tests/harness.py):
  1. our program: __main__.py on the stack file (config checks, sizing, components);
  2. the floor: bench/floor_program.py, which imports the same pulumi_kubernetes
     modules and registers exactly the custom resources our program registered (the
     same types, names and inputs, recorded from a run of 1) as plain
     `pulumi.CustomResource`s, with no config, no components and no checks.
Each is timed from process start to exit, RUNS times, alternating (bench/alternating.py); prints the medians,
the ratio, and the resources each registered. Issue 22's goal is a ratio of 1.25.

Usage: .venv/bin/python bench/evaluation_floor.py [--runs N] [STACK|STACK_FILE ...]
       (default: dev prod examples/seed-000-replicas.yaml, 5 runs)
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT), str(ROOT / "bench")]

from alternating import alternate, main_for_stacks, stack_file_of  # noqa: E402

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
    stack_file = stack_file_of(argument)
    recorded = run_program(stack_file_config(stack_file))
    registrations = [
        {"type": r.type, "name": r.name, "inputs": r.inputs}
        for r in recorded.resources
        if r.type.startswith("kubernetes:")
    ]
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "registrations.json"
        path.write_text(json.dumps(registrations))
        base = {**os.environ, "FLOOR_REGISTRATIONS": str(path)}
        ours_env = {k: v for k, v in base.items() if k != "FLOOR_PROGRAM"}
        floor_env = {**base, "FLOOR_PROGRAM": str(FLOOR_PROGRAM)}
        ours = functools.partial(timed, stack_file, ours_env)
        floor = functools.partial(timed, stack_file, floor_env)
        ours_median, ours_count, floor_median, floor_count = alternate(ours, floor, runs, warm_up=ours)
    name = stack_file.stem.removeprefix("Pulumi.")
    print(
        f"{name:<22} resources {ours_count:>3}/{floor_count:<3} program {ours_median:5.2f} s  "
        f"floor {floor_median:5.2f} s  ratio {ours_median / floor_median:.2f} (median of {runs})"
    )


if __name__ == "__main__":
    main_for_stacks(__doc__.split("\n")[0], bench, DEFAULT_STACKS, default_runs=5)
