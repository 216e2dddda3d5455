"""Shared test fixtures.

Peers: a test that needs a real external program (chromium, dcmdump, orthanc...)
marks itself ``@pytest.mark.peer("dcmdump")``.  When the program is absent the test
is skipped with a clear reason on a developer's machine, and fails when
``RADGOV_REQUIRE_PEERS=1`` (set by CI), so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil

import pytest

PEER_PROGRAMS = {
    "chromium": "/usr/bin/chromium",
    "dcmdump": "dcmdump",
    "storescu": "storescu",
    "orthanc": "Orthanc",
    "pdftoppm": "pdftoppm",
    "redis": "redis-server",
}


def peer_available(name: str) -> bool:
    program = PEER_PROGRAMS.get(name, name)
    return bool(shutil.which(program) or (os.path.isabs(program) and os.access(program, os.X_OK)))


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers(name="peer"):
        for name in marker.args:
            if not peer_available(name):
                reason = f"needs the peer program {name!r} ({PEER_PROGRAMS.get(name, name)}), which is not installed"
                if os.environ.get("RADGOV_REQUIRE_PEERS") == "1":
                    pytest.fail(f"{reason}; RADGOV_REQUIRE_PEERS=1 forbids skipping")
                pytest.skip(reason)
