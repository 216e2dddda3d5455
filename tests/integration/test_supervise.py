"""`radgov serve` supervises its processes: they die with it, even on SIGKILL; a crashed one
is restarted and beats again; a second serve on the same port or queue refuses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.serving import (
    Served,
    alive,
    environment,
    free_port,
    processes_of,
    start_serve,
    wait_until,
)


def pids_of(body: dict, name: str) -> set[int]:
    return {int(p["pid"]) for p in body["processes"] if p["name"] == name}


def pid_of(body: dict, name: str) -> int:
    (pid,) = pids_of(body, name)
    return pid


def test_sigkill_of_serve_leaves_no_radgov_process(tmp_path: Path) -> None:
    served = start_serve(tmp_path)
    try:
        body = served.wait_for(lambda b: alive(b, "web", "worker"))
        ours = set(processes_of(served.data))
        # a web process per core, each beating as "web"
        assert {served.proc.pid, *pids_of(body, "web"), pid_of(body, "worker")} <= ours
        os.kill(served.proc.pid, signal.SIGKILL)  # the supervisor alone, not its group
        served.proc.wait(timeout=10)
        assert wait_until(lambda: not processes_of(served.data), timeout=30), (
            f"left running after SIGKILL of serve: {processes_of(served.data)}\n{served.output()}"
        )
    finally:
        served.stop()
        for pid in processes_of(served.data):  # never leave one behind for other tests
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def running(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A server for one test only: before each test the suite clears this worker's Redis
    database (the cache's), which would take a longer-lived server's queue and lock with it."""
    served = start_serve(tmp_path)
    try:
        served.wait_for(lambda b: alive(b, "web", "worker"))
        yield served
    finally:
        served.stop()


def test_a_crashed_worker_is_restarted_and_beats_again(running: Served) -> None:
    before = pid_of(running.health(), "worker")
    os.kill(before, signal.SIGKILL)
    body = running.wait_for(
        lambda b: alive(b, "worker") and pid_of(b, "worker") != before, timeout=90
    )
    after = pid_of(body, "worker")
    assert after in processes_of(running.data) and before not in processes_of(running.data)
    assert f"worker (pid {before}) exited with status -9" in running.output()
    assert f"worker started (pid {after})" in running.output()
    assert body["worker"]["alive"] is True


def second_serve(running: Served, port: int) -> subprocess.CompletedProcess[str]:
    args = ["serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "radgov.cli", *args],
        env=environment(running.data, running.data.parent),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_second_serve_on_the_same_port_or_queue_refuses_saying_so(running: Served) -> None:
    same_port = second_serve(running, running.port)
    assert same_port.returncode == 1
    assert f"radgov serve refused: cannot listen on 127.0.0.1:{running.port}" in same_port.stderr
    assert "another radgov serve" in same_port.stderr
    same_queue = second_serve(running, free_port())
    assert same_queue.returncode == 1
    assert "radgov serve refused: the task queue" in same_queue.stderr
    assert "is already served by radgov serve" in same_queue.stderr
    assert alive(running.health(), "web", "worker")  # the first one carries on
