"""`make pr-comment`: the pull-request comment of one stack, as Markdown.

What a reviewer needs from one stack's preview, in one comment: the preview's summary
(what it creates, changes and deletes, and the policy pack's verdict), the capacity
table (each pool's GPU memory per GPU term by term, KV tokens and full-length
sequences per pod: the CapacityReport preview prints, config/capacity.py), links to
both pictures of `make diagram` (uploaded by the workflow as an artifact), and the
full preview folded away.

With `--post PR`, it is posted to that pull request through GitHub's REST API
($GITHUB_API_URL, $GITHUB_REPOSITORY, $GH_TOKEN, as GitHub Actions sets them), or the
comment posted before is edited: found by the marker on its first line, so each stack
keeps one comment however often the branch is pushed.

`--preview` is a file, or `env:NAME` for the text in an environment variable (the
workflow passes the pulumi action's output that way).

Usage: python scripts/pr_comment.py STACK|STACK_FILE --preview FILE|env:NAME
           [--pictures-url URL] [--out FILE] [--post PR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "tests")]

from config.capacity import CapacityReport  # noqa: E402
from diagram import load_stack, stack_file_of  # noqa: E402
from diagram_capacity import capacity_terms  # noqa: E402

# GitHub refuses comments above 65536 characters; the folded preview gives way first.
MAX_COMMENT_CHARS = 60000
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def marker(stack: str) -> str:
    """The comment's first line, by which the workflow finds it again."""
    return f"<!-- llm-serving preview: {stack} -->"


def preview_summary(preview: str) -> list[str]:
    """The lines a reviewer reads first: the `Resources:` block and the policy report."""
    lines = _ANSI.sub("", preview).splitlines()
    summary: list[str] = []
    for heading in ("Policies:", "Resources:"):
        if heading not in [line.strip() for line in lines]:
            continue
        start = [line.strip() for line in lines].index(heading)
        block = [lines[start].strip()]
        for line in lines[start + 1 :]:
            if not line.strip() or not line.startswith(" "):
                break
            block.append(line.rstrip())
        summary += block
    return summary


def capacity_table(report: CapacityReport) -> list[str]:
    """One Markdown row per pool, GiB per GPU as preview sums them."""
    rows = [
        "| pool | GPU | pods x GPUs | weights | activation | non-torch | LoRA slots + overheadGib | KV cache "
        "| KV tokens per pod | full-length sequences per pod |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for capacity in report.pools.values():
        gib = {term: value for term, _, _, value in capacity_terms(capacity)}
        rows.append(
            f"| {capacity.pool} | {capacity.gpu_product} | {capacity.pods} x {capacity.gpus_per_pod} "
            f"| {gib['weights']:.2f} | {gib['activation']:.2f} | {gib['non_torch']:.2f} "
            f"| {gib.get('lora', 0) + gib.get('margin', 0):.2f} | {gib['kv_cache']:.2f} "
            f"| {capacity.kv_cache_tokens_per_pod:,} "
            f"| {capacity.max_concurrent_full_sequences} of {capacity.max_model_len:,} tokens |"
        )
    return rows


def comment(stack: str, report: CapacityReport, preview: str, pictures_url: str | None) -> str:
    pictures = (
        f"[topology and capacity pictures]({pictures_url}) (SVG and PNG, artifact `diagrams-{stack}`)"
        if pictures_url
        else f"`make diagram STACK={stack}` draws the topology and capacity pictures"
    )
    head = [
        marker(stack),
        f"### `{stack}`: pulumi preview",
        "",
        "```",
        *(preview_summary(preview) or ["(the preview printed no summary; see the full preview)"]),
        "```",
        "",
        f"**Capacity** ({report.total_gpus} GPUs; GiB per GPU as vLLM sums it):",
        "",
        *capacity_table(report),
        "",
        f"**Pictures**: {pictures}.",
        "",
    ]
    text = "\n".join(head)
    folded = _ANSI.sub("", preview)
    room = MAX_COMMENT_CHARS - len(text) - 200
    if len(folded) > room:
        folded = "(cut to its last part)\n" + folded[-room:]
    return text + "\n".join(
        ["<details><summary>Full preview</summary>", "", "```", folded, "```", "</details>", ""]
    )


def _github(method: str, path: str, body: dict | None = None) -> object:
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    request = urllib.request.Request(
        f"{api}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {os.environ['GH_TOKEN']}",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def post(stack: str, text: str, pull_request: int) -> str:
    """Edit this stack's comment on the pull request, or post it; returns its URL."""
    repository = os.environ["GITHUB_REPOSITORY"]
    comments: list = []
    for page in range(1, 21):  # 100 per page; a pull request with 2000 comments is far out
        batch = _github("GET", f"/repos/{repository}/issues/{pull_request}/comments?per_page=100&page={page}")
        comments += batch  # type: ignore[operator]
        if len(batch) < 100:  # type: ignore[arg-type]
            break
    ours = [c for c in comments if c.get("body", "").startswith(marker(stack))]
    if ours:
        comment = _github("PATCH", f"/repos/{repository}/issues/comments/{ours[0]['id']}", {"body": text})
    else:
        comment = _github("POST", f"/repos/{repository}/issues/{pull_request}/comments", {"body": text})
    return comment["html_url"]  # type: ignore[index]


def read_preview(source: str) -> str:
    if source.startswith("env:"):
        return os.environ.get(source[len("env:") :], "")
    return Path(source).read_text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stack")
    parser.add_argument(
        "--preview", required=True, help="the text output of pulumi preview: FILE or env:NAME"
    )
    parser.add_argument("--pictures-url")
    parser.add_argument("--out", type=Path, help="default: standard output")
    parser.add_argument("--post", type=int, metavar="PR", help="post it to this pull request")
    args = parser.parse_args(argv)
    inputs = load_stack(stack_file_of(args.stack))
    text = comment(inputs.name, inputs.report, read_preview(args.preview), args.pictures_url or None)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(args.out)
    elif not args.post:
        sys.stdout.write(text)
    if args.post:
        print(post(inputs.name, text, args.post))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
