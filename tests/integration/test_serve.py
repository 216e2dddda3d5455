"""`radgov serve` as an operator runs it: a real process, a real port, the worker
beside it; /healthz names the database engine and sees the worker's heartbeat.
With REDIS_URL set (as in CI's second run) the worker goes through Redis."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

from tests.integration.serving import Served, alive, start_serve


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    served = start_serve(tmp_path)
    try:
        yield served
    finally:
        served.stop()


def test_serve_on_a_fresh_folder_migrates_and_answers_healthz_with_engine_and_worker(
    tmp_path: Path,
) -> None:
    server = start_serve(tmp_path, fresh=True)
    try:
        body = server.wait_for(lambda b: alive(b, "worker", "web"))
    finally:
        server.stop()
    assert body["database"] == "sqlite"
    assert body["worker"]["alive"] is True, body
    expected_queue = "RedisHuey" if os.environ.get("REDIS_URL") else "SqliteHuey"
    assert body["queue"] == expected_queue
    assert (server.data / "radgov.sqlite3").exists()


def test_pages_redirect_strangers_to_login(server: Served) -> None:
    server.wait_for(lambda body: alive(body, "web"))  # up, or fail with serve's output
    with urllib.request.urlopen(f"{server.url}/", timeout=30) as response:  # noqa: S310
        assert "/accounts/login/" in response.url
        page = response.read().decode()
    assert "<h1>Sign in</h1>" in page
    assert "cdn" not in page.lower(), "every asset is served locally"
