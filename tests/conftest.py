"""Make the project (config/, components/) and the test helpers importable."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
for path in (TESTS.parent, TESTS, TESTS.parent / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


import subprocess  # noqa: E402

import pytest  # noqa: E402

LOCAL_CLUSTER = TESTS.parent / "scripts" / "local-cluster"


@pytest.fixture(scope="session")
def cluster():
    """The local cluster, up for the session; stopped after it if it was not up before."""
    was_up = subprocess.run([str(LOCAL_CLUSTER), "status"], capture_output=True).returncode == 0
    started = subprocess.run([str(LOCAL_CLUSTER), "up"], capture_output=True, text=True)
    print(started.stdout, end="")
    if started.returncode != 0:
        # One line for the whole session (a port another checkout holds, a missing
        # tool) instead of the same error once per cluster test.
        reason = (started.stderr.strip().splitlines() or ["scripts/local-cluster up failed"])[-1]
        pytest.exit(reason, returncode=1)
    yield
    if not was_up:
        subprocess.run([str(LOCAL_CLUSTER), "down"], check=True)
