"""Relative links in README.md and docs/*.md resolve: the file or directory exists, and
an anchor names a heading of the linked Markdown file (GitHub's slugs).

Links inside fenced code blocks and external links (http, https, mailto) are ignored.
Stdlib and pytest only: no Pulumi, no project imports.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# [text](target) or [text](target "title"); the text may span lines, images included.
LINK = re.compile(
    r"!?\[(?P<text>(?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?(?P<target>[^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)"
)
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(?P<title>.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, ...


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line outside fenced code blocks."""
    out, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)[0] * len(match.group(1))
            continue
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) <= {fence[0]}:
                fence = None
            continue
        out.append((number, line))
    return out


def slugify(title: str) -> str:
    """GitHub's heading anchor: markup dropped, lowercase, punctuation but - and _
    removed, each space a -."""
    title = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", title)  # links keep their text
    title = title.replace("`", "").replace("*", "")
    title = title.strip().lower()
    title = re.sub(r"[^\w\- ]", "", title)
    return title.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file; repeated titles get -1, -2, ..."""
    seen: dict[str, int] = {}
    result = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        slug = slugify(match.group("title"))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def links(path: Path) -> list[tuple[int, str, str]]:
    """(line number, text, target) of every Markdown link outside code."""
    lines = prose_lines(path.read_text(encoding="utf-8"))
    # Rejoin consecutive prose lines (link text may wrap); remember where each starts.
    text = "\n".join(line for _, line in lines)
    starts, offset = [], 0
    for number, line in lines:
        starts.append((offset, number))
        offset += len(line) + 1
    # Blank out inline code so `[x](y)` written as code is not a link; keep offsets.
    text = INLINE_CODE.sub(lambda m: " " * len(m.group(0)) if "\n" not in m.group(0) else m.group(0), text)
    found = []
    for match in LINK.finditer(text):
        number = max(n for o, n in starts if o <= match.start())
        found.append((number, " ".join(match.group("text").split()), match.group("target")))
    return found


def broken_links(path: Path) -> list[str]:
    problems = []
    for number, text, target in links(path):
        if not target or EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        file_part = unquote(file_part)
        linked = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(ROOT)}:{number}: [{text}]({target})"
        if not linked.exists():
            problems.append(f"{where}: {file_part} does not exist (looked for {linked})")
            continue
        is_markdown = linked.is_file() and linked.suffix == ".md"
        if anchor and is_markdown and unquote(anchor).lower() not in anchors(linked):
            problems.append(f"{where}: no heading in {linked.relative_to(ROOT)} has the anchor #{anchor}")
    return problems


def test_there_are_docs():
    assert (ROOT / "README.md").is_file()
    assert len(DOC_FILES) > 1, "docs/*.md missing"


@pytest.mark.parametrize("path", DOC_FILES, ids=[str(p.relative_to(ROOT)) for p in DOC_FILES])
def test_relative_links_resolve(path: Path):
    problems = broken_links(path)
    listing = "\n".join(problems)
    assert not problems, f"{len(problems)} broken link(s) in {path.relative_to(ROOT)}:\n{listing}"


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Release keys (`release`)", "release-keys-release"),
        ("Escape hatches: `extraArgs` and `env`", "escape-hatches-extraargs-and-env"),
        (
            "Pods (`podSecurity`, `components/security/pod_security.py`)",
            "pods-podsecurity-componentssecuritypod_securitypy",
        ),
        ("Prefill/decode disaggregation", "prefilldecode-disaggregation"),
        ("Values, checks and errors", "values-checks-and-errors"),
    ],
)
def test_slugs_are_githubs(title: str, slug: str):
    assert slugify(title) == slug


def test_broken_links_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The check is not vacuous: a missing file, a missing anchor and a wrapped link
    text are reported with their line; code blocks and external links are not."""
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    (tmp_path / "other.md").write_text("# Other\n\n## A section\n")
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Doc\n\n"
        "[ok](other.md#a-section) [self](#doc) [web](https://example.com/x.md)\n"
        "[gone](missing.md) [bad anchor](other.md#nope)\n"
        "[wrapped\ntext](nowhere/)\n"
        "```\n[in code](missing-too.md)\n```\n"
        "`[inline code](missing-three.md)`\n"
    )
    problems = broken_links(doc)
    assert len(problems) == 3, problems
    assert "doc.md:4: [gone](missing.md)" in problems[0]
    assert "#nope" in problems[1]
    assert "doc.md:5: [wrapped text](nowhere/)" in problems[2]
