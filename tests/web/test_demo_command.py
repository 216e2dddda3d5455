"""`radgov demo` on a fresh data folder: it brings the database up to date itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_on_a_fresh_data_folder_migrates_first(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RADGOV_", "DATABASE_URL"))}
    env["RADGOV_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "radgov.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "no such table" not in done.stderr
    assert "Demo practice ready (9 accounts created" in done.stdout
