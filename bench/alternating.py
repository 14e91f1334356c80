"""What the benches that compare two ways of doing one thing share: the command line
(stacks and a run count) and timing both ways alternately after a warm-up, so load
on the machine falls on both alike."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
Result = TypeVar("Result")


def stack_file_of(argument: str) -> Path:
    """`dev` -> Pulumi.dev.yaml; a path such as examples/pd-gateway.yaml as it is."""
    return ROOT / argument if argument.endswith(".yaml") else ROOT / f"Pulumi.{argument}.yaml"


def alternate(
    first: Callable[[], tuple[float, Result]],
    second: Callable[[], tuple[float, Result]],
    runs: int,
    warm_up: Callable[[], object],
) -> tuple[float, Result, float, Result]:
    """Median seconds and last result of each, timed alternately `runs` times after one
    untimed `warm_up` (bytecode, page cache, plugin start-up)."""
    warm_up()
    first_seconds, second_seconds = [], []
    for _ in range(runs):
        seconds, first_result = first()
        first_seconds.append(seconds)
        seconds, second_result = second()
        second_seconds.append(seconds)
    return statistics.median(first_seconds), first_result, statistics.median(second_seconds), second_result


def main_for_stacks(
    description: str, bench: Callable[[str, int], None], default_stacks: list[str], default_runs: int
) -> None:
    """`[--runs N] [STACK|STACK_FILE ...]`, then `bench(stack, runs)` for each."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=default_runs)
    parser.add_argument("stacks", nargs="*", default=default_stacks)
    args = parser.parse_args()
    if not 1 <= args.runs <= 20:
        raise SystemExit("[bench] --runs must be between 1 and 20")
    for stack in args.stacks:
        bench(stack, args.runs)
