"""scripts/tools.sh against itself: a second build of a tool version waits for the one
under way instead of sharing (and pulling away) its work directory. Uses a scratch
tool cache and builds nothing: the "other build" is a process holding the lock that
puts the tool in place before it lets go.
"""

from __future__ import annotations

import os
import subprocess
import time

from harness import ROOT

TOOLS = ROOT / "scripts" / "tools.sh"


def test_a_second_build_waits_for_the_first_and_finds_the_tool_built(tmp_path) -> None:
    tool_dir = tmp_path / "kwok" / "v0.8.0"
    tool_dir.parent.mkdir(parents=True)
    lock = f"{tool_dir}.lock"
    marker, held = tool_dir / "kwok", tmp_path / "held"
    place_tool = (
        f"touch {held}; sleep 3; mkdir -p {tool_dir}; printf '#!/bin/sh\\n' > {marker}; chmod +x {marker}"
    )
    other_build = subprocess.Popen(["flock", lock, "-c", place_tool])
    try:
        deadline = time.monotonic() + 30
        while not held.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert held.exists(), "the stand-in for the other build never took the lock"
        result = subprocess.run(
            ["bash", str(TOOLS), "build", "kwok"],
            env={**os.environ, "LLM_SERVING_TOOLS": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        other_build.wait(timeout=30)
    assert result.returncode == 0, result.stderr
    assert "another build of v0.8.0 is running; waiting for it" in result.stdout, result.stdout
    assert "built meanwhile" in result.stdout and "building" not in result.stdout, result.stdout
