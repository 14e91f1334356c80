"""The policy pack on a peer's chart and on our program, the same pods side by side.

For each stack, production-stack's chart (bench/production-stack/, pinned commit) is
rendered by `helm template` with values that give the same pods as our program
(`production_stack_values`, as bench/deploy_to_ready.py deploys it), and both object
sets are previewed through the engine with the pack (tests/replay.py). Prints, per
policy, the violations each reports: what a platform team holding both to the same
rules would be told. helm is the bench-only build of scripts/tools.sh (`scripts/tools.sh
build helm`).

Usage: .venv/bin/python bench/policy_pack_peers.py [STACK|STACK_FILE ...]
       (default: dev prod)
"""

from __future__ import annotations

import collections
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / p) for p in ("tests", "scripts", "", "bench", "policy")]

from deploy_to_ready import CHART, production_stack_values, stack_file_and_name  # noqa: E402

from harness import run_program, stack_file_config  # noqa: E402
from llm_serving_policy import ALL_POLICIES  # noqa: E402
from local_cluster import tool  # noqa: E402
from replay import replay_preview  # noqa: E402


def helm_objects(values: dict, namespace: str, work: Path) -> list[dict]:
    (work / "values.yaml").write_text(yaml.safe_dump(values))
    rendered = subprocess.run(
        [tool("helm"), "template", "ps", str(CHART), "-n", namespace, "-f", str(work / "values.yaml")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    objects = [o for o in yaml.safe_load_all(rendered) if o]
    for obj in objects:
        obj.setdefault("metadata", {}).setdefault("namespace", namespace)
    return objects


def report(objects: list[dict], work: Path) -> collections.Counter:
    preview = replay_preview(objects, work)
    if "llm-serving-kubernetes" not in preview.output:
        raise SystemExit(f"[bench] the pack did not run:\n{preview.output[-3000:]}")
    return collections.Counter(policy for _, policy in preview.policies())


def main() -> None:
    for argument in sys.argv[1:] or ["dev", "prod"]:
        stack_file, stack = stack_file_and_name(argument)
        ours = run_program(stack_file_config(stack_file)).manifests()
        with tempfile.TemporaryDirectory() as ours_work, tempfile.TemporaryDirectory() as peer_work:
            peer = helm_objects(production_stack_values(ours), f"llm-serving-{stack}", Path(peer_work))
            counts = {
                "llm-serving": report(ours, Path(ours_work)),
                "production-stack": report(peer, Path(peer_work)),
            }
        print(f"{stack}: {len(ours)} objects from llm-serving, {len(peer)} from production-stack's chart")
        print(f"  {'policy':<40} {'llm-serving':>12} {'production-stack':>17}")
        for policy in ALL_POLICIES:
            print(
                f"  {policy.name:<40} {counts['llm-serving'][policy.name]:>12} "
                f"{counts['production-stack'][policy.name]:>17}"
            )


if __name__ == "__main__":
    main()
