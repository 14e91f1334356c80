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
    subprocess.run([str(LOCAL_CLUSTER), "up"], check=True)
    yield
    if not was_up:
        subprocess.run([str(LOCAL_CLUSTER), "down"], check=True)
