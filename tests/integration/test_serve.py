"""`radgov serve` as an operator runs it: a real process, a real port, the worker
beside it; /healthz names the database engine and sees the worker's heartbeat.
With REDIS_URL set (as in CI's second run) the worker and heartbeat go through Redis."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a localhost URL
        return response.status, json.loads(response.read())


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RADGOV_", "DJANGO_", "DATABASE_URL"))
    }
    env["RADGOV_DATA_DIR"] = str(tmp_path / "data")
    env["RADGOV_KEY_FILE"] = str(tmp_path / "keys.json")
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "radgov.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", proc, tmp_path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_serve_answers_healthz_with_engine_and_live_worker(server) -> None:  # type: ignore[no-untyped-def]
    url, proc, tmp_path = server
    deadline = time.monotonic() + 90
    body: dict = {}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"radgov serve exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            status, body = get_json(f"{url}/healthz")
        except OSError:
            time.sleep(0.5)
            continue
        if body["worker"]["alive"]:
            break
        time.sleep(0.5)
    assert status == 200
    assert body["database"] == "sqlite"
    assert body["worker"]["alive"] is True, body
    expected_queue = "RedisHuey" if os.environ.get("REDIS_URL") else "SqliteHuey"
    assert body["queue"] == expected_queue
    assert (tmp_path / "data" / "radgov.sqlite3").exists()


def test_pages_redirect_strangers_to_login(server) -> None:  # type: ignore[no-untyped-def]
    url, proc, _ = server
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/", timeout=5) as response:  # noqa: S310
                assert "/accounts/login/" in response.url
                page = response.read().decode()
                assert "<h1>Sign in</h1>" in page
                assert "cdn" not in page.lower(), "every asset is served locally"
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail("server did not answer")
