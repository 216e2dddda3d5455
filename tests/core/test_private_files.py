"""Issue 11 item 3: what radgov writes is its own.  The data folder is 0700; the log file,
the SQLite database with its WAL and shared-memory files, and the queue are created 0600;
an unhandled error writes no identifier to any log (Django's request log, waitress's, a
traceback whose exception names a patient's file)."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

CANARY = "DOE^JANE_MRN0012345"

SCRIPT = f"""
import logging, django
django.setup()
from django.core.cache import cache
from django.core.management import call_command
call_command("createcachetable")
cache.set("probe", 1)
from huey.contrib.djhuey import HUEY
HUEY.put("probe", 1)
try:
    open("/nonexistent/{CANARY}/IM0001.dcm")
except OSError:
    logging.getLogger("django.request").error("Internal Server Error: /x", exc_info=True)
    logging.getLogger("waitress").exception("Exception while serving /x")
print("ready", flush=True)
import time; time.sleep(0.5)
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def fresh(tmp_path: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RADGOV_", "DATABASE_URL"))}
    env.pop("REDIS_URL", None)
    env.update(
        RADGOV_DATA_DIR=str(data),
        RADGOV_KEY_FILE=str(tmp_path / "keys.json"),
        DJANGO_SETTINGS_MODULE="radgov.settings",
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert "ready" in done.stdout, done.stderr
    return data, done


def test_data_folder_and_files_are_private(fresh) -> None:  # type: ignore[no-untyped-def]
    data, _ = fresh
    assert _mode(data) == 0o700
    created = [data / "radgov.sqlite3", data / "logs" / "radgov.log", data / "huey.sqlite3"]
    created += [p for p in data.glob("*.sqlite3-*")]  # -wal, -shm while open
    for path in created:
        assert path.exists(), path
        assert _mode(path) & 0o077 == 0, f"{path} is {oct(_mode(path))}"
    assert _mode(data / "logs") == 0o700


def test_an_unhandled_error_logs_no_identifier(fresh) -> None:  # type: ignore[no-untyped-def]
    data, done = fresh
    log = (data / "logs" / "radgov.log").read_text()
    assert "Internal Server Error: /x" in log and "FileNotFoundError" in log
    assert CANARY not in log and CANARY not in done.stderr
    assert "IM0001" not in log


def test_tracebacks_keep_the_frames_and_the_type_only(caplog) -> None:  # type: ignore[no-untyped-def]
    from radgov.core.logs import PlainFormatter

    try:
        raise ValueError(f"cannot read {CANARY}")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    text = PlainFormatter("%(message)s").format(record)
    assert "ValueError" in text and "test_private_files.py" in text and CANARY not in text


@pytest.mark.parametrize(
    ("name", "message", "kept"),
    [
        (
            "pydicom.filereader",
            "End of file reached before delimiter (FFFE,E0DD) found in file /in/DOE^JANE_MRN0012345/IM0001.dcm",
            "End of file reached before delimiter (FFFE,E0DD) found in file …",
        ),
        ("pydicom", "Invalid value for VR PN: 'DOE^JANE'", "Invalid value for VR PN: '…'"),
        ("hl7apy.core", "Invalid value for PID.5: 'SMITH^JOHN'", "Invalid value for PID.5: '…'"),
        (
            "pynetdicom.dsutils",
            "Failed reading from path /spool/Smith John/1.dcm",
            "Failed reading from path …",
        ),
        (
            "py.warnings",
            ".../pydicom/filereader.py:487: UserWarning: End of file reached before delimiter "
            "(FFFE,E0DD) found in file /in/Smith John 1970-01-01/IM0002.dcm",
            ".../pydicom/filereader.py:487: UserWarning: End of file reached before delimiter "
            "(FFFE,E0DD) found in file …",
        ),
        ("radgov.gateway", "a house message stays as it was written", None),
    ],
)
def test_data_libraries_messages_name_no_file_and_quote_no_value(name, message, kept) -> None:  # type: ignore[no-untyped-def]
    """pydicom names the file it was reading, whose folder may be a patient's name."""
    from radgov.core.logs import PlainFormatter

    record = logging.LogRecord(name, logging.WARNING, __file__, 1, message, (), None)
    assert PlainFormatter("%(message)s").format(record) == (kept or message)
