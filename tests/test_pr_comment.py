"""The pull-request comment (scripts/pr_comment.py, `make pr-comment`) and the pictures
the workflow attaches to it (`make diagram`), run as the workflow runs them: make
targets fed by environment variables. Posting goes to a GitHub API stand-in on
loopback ($GITHUB_API_URL), which records what it was sent.

The summary is read from a real preview in tests/test_engine.py (every shipped stack's
preview through the engine, with the policy pack); here it is a preview's text as the
engine prints it.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness import ROOT
from pr_comment import MAX_COMMENT_CHARS, comment, marker, preview_summary

PREVIEW = """Previewing update (dev):
 +  pulumi:pulumi:Stack llm-serving-dev create
Policies:
    \u2705 llm-serving-kubernetes@v0.1.0 (local: policy)

Outputs:
    namespace: "llm-serving-dev"

Resources:
    + 55 to create

"""


def run(command: list[str], **env: str) -> subprocess.CompletedProcess:
    """A make target as the workflow runs it: its inputs in the environment."""
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_summary_is_the_policy_report_and_the_resource_counts() -> None:
    assert preview_summary(PREVIEW) == [
        "Policies:",
        "    \u2705 llm-serving-kubernetes@v0.1.0 (local: policy)",
        "Resources:",
        "    + 55 to create",
    ]


def test_make_diagram_and_pr_comment_as_the_workflow_runs_them(tmp_path: Path) -> None:
    pictures = tmp_path / "pictures"
    drawn = run(["make", "-s", "diagram"], STACK="dev", DIAGRAM_DIR=str(pictures))
    assert drawn.returncode == 0, drawn.stderr
    assert sorted(p.name for p in pictures.iterdir()) == [
        "capacity.png", "capacity.svg", "topology.png", "topology.svg",
    ]  # fmt: skip
    out = tmp_path / "comment.md"
    made = run(
        ["make", "-s", "pr-comment"],
        STACK="dev",
        PREVIEW=PREVIEW,
        COMMENT_OUT=str(out),
        PICTURES_URL="https://x.invalid/a",
    )
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    assert text.startswith(marker("dev") + "\n")
    assert "+ 55 to create" in text and "llm-serving-kubernetes@v0.1.0" in text
    for pool in ("llama-3-1-8b", "mixtral-8x7b", "deepseek-coder-v2-lite", "llama-3-1-8b-multi"):
        assert f"| {pool} | NVIDIA-L40 |" in text
    assert (
        "| llama-3-1-8b | NVIDIA-L40 | 1 x 1 | 14.96 | 0.68 | 0.26 | 0.00 | 26.28 | 215,312 "
        "| 6 of 32,768 tokens |" in text
    )
    assert "[topology and capacity pictures](https://x.invalid/a)" in text


def test_a_long_preview_is_cut_to_fit_a_comment() -> None:
    from config.loader import parse_stack_config
    from harness import stack_file_config

    values = {k.split(":", 1)[1]: v for k, v in stack_file_config(ROOT / "Pulumi.prod.yaml").items()}
    _, report = parse_stack_config(values, has_hf_token=True)
    text = comment("prod", report, PREVIEW + "x" * 200_000, None)
    assert len(text) <= MAX_COMMENT_CHARS and "(cut to its last part)" in text and "+ 55 to create" in text


class _GitHub(BaseHTTPRequestHandler):
    """Issue comments of one pull request, kept in memory."""

    comments: list[dict] = []
    requests: list[tuple[str, str, dict | None]] = []

    def _reply(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_GET(self) -> None:  # noqa: N802 (the handler's API)
        self.requests.append(("GET", self.path, None))
        self._reply(self.comments if "page=1" in self.path else [])

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        self.requests.append(("POST", self.path, body))
        created = {"id": 100 + len(self.comments), "body": body["body"], "html_url": "https://x.invalid/c"}
        self.comments.append(created)
        self._reply(created)

    def do_PATCH(self) -> None:  # noqa: N802
        body = self._body()
        self.requests.append(("PATCH", self.path, body))
        self._reply({"id": 1, "body": body["body"], "html_url": "https://x.invalid/c"})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def github():
    _GitHub.comments, _GitHub.requests = [{"id": 7, "body": "an unrelated comment"}], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_comment_is_posted_once_then_edited(github: str, tmp_path: Path) -> None:
    env = {
        "GITHUB_API_URL": github,
        "GITHUB_REPOSITORY": "team/llm-serving",
        "GH_TOKEN": "test-only-not-a-token",
        "STACK": "prod",
        "PREVIEW": PREVIEW,
        "PR": "42",
        "COMMENT_OUT": str(tmp_path / "comment.md"),
    }
    first = run(["make", "-s", "pr-comment"], **env)
    assert first.returncode == 0, first.stderr
    second = run(["make", "-s", "pr-comment"], **env)
    assert second.returncode == 0, second.stderr
    methods = [(method, path.split("?")[0]) for method, path, _ in _GitHub.requests]
    assert methods == [
        ("GET", "/repos/team/llm-serving/issues/42/comments"),
        ("POST", "/repos/team/llm-serving/issues/42/comments"),
        ("GET", "/repos/team/llm-serving/issues/42/comments"),
        ("PATCH", "/repos/team/llm-serving/issues/comments/101"),
    ]
    posted = [body["body"] for _, _, body in _GitHub.requests if body]
    assert all(body.startswith(marker("prod")) and "| llama-3-1-8b-decode |" in body for body in posted)
