"""`make promote FROM=dev TO=prod`: copy the release keys from one stack file to another.

Release keys (images, model revisions, chart versions) live in one section,
`llm-serving:release` (config/release.py). Promotion copies exactly that section,
comments included, into the target stack file, and touches nothing else of it. Then
it prints the change to the file and the target's `pulumi preview --diff`; the
reviewed file goes through a pull request like any change (docs/team-workflow.md).

It refuses when the source stack has un-applied changes, i.e. when the config of its
last update (`pulumi stack history`) differs from its file: what is promoted must be
what was deployed and verified there, not what someone edited since. Secret values
are compared by presence only (they are never decrypted here).

Rollback is a promotion from history: `--version N` (make promote FROM=prod TO=prod
FROM_UPDATE=N) takes the release keys from the config update N of FROM ran with (see
`pulumi stack history -s FROM`), which must have succeeded.

The engine is scripts/pulumi (state backend from PULUMI_BACKEND_URL, else the local
one); set PULUMI_CLI to use another `pulumi`.

Usage: python scripts/promote.py FROM TO [--version N] [--project DIR] [--no-preview]
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
RELEASE_KEY = "llm-serving:release"


class PromotionRefused(Exception):
    """The source stack is not in a state whose release may be promoted."""


def pulumi_cli() -> list[str]:
    return [os.environ.get("PULUMI_CLI", str(ROOT / "scripts" / "pulumi"))]


def stack_file(project: Path, stack: str) -> Path:
    path = project / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise PromotionRefused(f"no stack file {path.name} in {project}")
    return path


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, order and quoting survive
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load(path: Path) -> Any:
    return _yaml().load(path.read_text()) or {}


def plain(value: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists (for comparison)."""
    return json.loads(json.dumps(value))


def as_engine_value(value: Any) -> Any:
    """A stack file value as `pulumi stack history --json` reports it: objects as
    objects, scalars as the strings Pulumi config stores."""
    if isinstance(value, (dict, list)):
        return plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def update_config(project: Path, stack: str, version: int | None = None) -> dict[str, Any]:
    """The config of the stack's update `version` (default: its last update or destroy),
    if that update succeeded; else refuses."""
    result = subprocess.run(
        [*pulumi_cli(), "stack", "history", "--json", "-s", stack, "--cwd", str(project)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise PromotionRefused(f"cannot read the history of stack {stack}: {result.stderr.strip()}")
    history = numbered(json.loads(result.stdout or "[]"))
    applied = [(number, entry) for number, entry in history if entry["kind"] in ("update", "destroy")]
    if not applied:
        raise PromotionRefused(f"stack {stack} has never been applied: run `pulumi up -s {stack}` first")
    if version is None:
        number, entry = applied[0]
    else:
        matching = [(number, entry) for number, entry in applied if number == version]
        if not matching:
            raise PromotionRefused(
                f"stack {stack} has no update #{version} (see `pulumi stack history -s {stack}`)"
            )
        number, entry = matching[0]
    if entry["kind"] != "update" or entry.get("result") != "succeeded":
        raise PromotionRefused(
            f"{entry['kind']} #{number} of stack {stack} did not succeed or removed the stack "
            f"({entry.get('result', 'in progress')}): only a successful update's release can be promoted"
        )
    return entry["config"]


def numbered(history: list[dict]) -> list[tuple[int, dict]]:
    """History entries (newest first, as every backend lists them) with their update
    numbers. Pulumi Cloud numbers updates (`version`); the file and object-store
    backends report 0, so there entries are numbered by position, 1 being the oldest."""
    if history and all(entry["version"] == 0 for entry in history):
        return [(len(history) - index, entry) for index, entry in enumerate(history)]
    return [(entry["version"], entry) for entry in history]


def unapplied_keys(file_config: dict, applied: dict) -> list[str]:
    """Config keys whose value in the file differs from the last update's."""
    differing = []
    for key in sorted(set(file_config) | set(applied)):
        in_file, deployed = file_config.get(key), applied.get(key)
        if in_file is None or deployed is None:
            if (in_file is None) != (deployed is None):
                differing.append(key)
            continue
        if deployed["secret"]:
            # Only its presence can be compared without decrypting.
            if not (isinstance(in_file, dict) and "secure" in in_file):
                differing.append(key)
            continue
        value = deployed.get("objectValue", deployed.get("value"))
        if as_engine_value(in_file) != value:
            differing.append(key)
    return differing


def promoted_text(release: Any, target: Path) -> str:
    """The target file with its release section replaced by `release` (None: removed)."""
    document = load(target)
    config = document.setdefault("config", {})
    if release is None:
        config.pop(RELEASE_KEY, None)
    else:
        config[RELEASE_KEY] = release
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


def release_to_promote(project: Path, source_stack: str, version: int | None) -> tuple[Any, str]:
    """The release section to copy, and where it comes from."""
    if version is not None:
        entry = update_config(project, source_stack, version).get(RELEASE_KEY)
        release = None if entry is None else entry.get("objectValue")
        return release, f"update #{version} of stack {source_stack}"
    source = stack_file(project, source_stack)
    differing = unapplied_keys(load(source).get("config", {}), update_config(project, source_stack))
    if differing:
        raise PromotionRefused(
            f"stack {source_stack} has un-applied changes: {', '.join(differing)} in {source.name} "
            f"differ from its last update; apply them (`pulumi up -s {source_stack}`) or revert them first"
        )
    return load(source).get("config", {}).get(RELEASE_KEY), source.name


def promote(
    project: Path, source_stack: str, target_stack: str, version: int | None = None, preview: bool = True
) -> int:
    target = stack_file(project, target_stack)
    release, origin = release_to_promote(project, source_stack, version)
    before = target.read_text()
    after = promoted_text(release, target)
    diff = list(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"a/{target.name}",
            f"b/{target.name}",
        )
    )
    if not diff:
        print(f"[promote] {target.name} already has the release of {origin}: nothing to change")
    else:
        target.write_text(after)
        print(f"[promote] {RELEASE_KEY} copied from {origin} to {target.name}:")
        sys.stdout.writelines(diff)
    if not preview:
        return 0
    print(f"[promote] pulumi preview -s {target_stack}:", flush=True)
    result = subprocess.run([*pulumi_cli(), "preview", "--diff", "-s", target_stack, "--cwd", str(project)])
    if result.returncode != 0 and diff:
        target.write_text(before)
        print(f"[promote] the preview of {target_stack} failed: {target.name} restored", file=sys.stderr)
    return result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", metavar="FROM")
    parser.add_argument("target", metavar="TO")
    parser.add_argument("--version", type=int, help="take the release keys of this update of FROM")
    parser.add_argument("--project", type=Path, default=ROOT, help="directory of Pulumi.yaml and stack files")
    parser.add_argument("--no-preview", dest="preview", action="store_false")
    args = parser.parse_args()
    if args.source == args.target and args.version is None:
        raise SystemExit("[promote] FROM and TO must be different stacks (or give FROM_UPDATE to roll back)")
    try:
        sys.exit(promote(args.project.resolve(), args.source, args.target, args.version, args.preview))
    except PromotionRefused as refusal:
        raise SystemExit(f"[promote] refused: {refusal}") from None


if __name__ == "__main__":
    main()
