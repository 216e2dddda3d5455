"""The parts of supervision: the listener registry, what serve starts, one serve per queue,
restarts with a growing pause, and a child that stops when its supervisor's pipe closes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command

from radgov.core import config, processes
from radgov.core.management.commands.serve import children
from radgov.core.supervisor import Child, Supervisor, pause_after


@pytest.fixture
def registry() -> Iterator[processes.Processes]:
    with processes.PROCESSES.override() as fresh:
        yield fresh


def test_an_app_registers_a_listener_and_serve_starts_it_when_enabled(
    registry: processes.Processes,
) -> None:
    processes.register(name="gateway-dicom", argv=["gateway", "dicom"])
    processes.register(name="gateway-mllp", argv=["gateway", "mllp"], enabled=lambda: False)
    opts = {"threads": 4, "processes": 1, "no_worker": False}
    started = children(opts, 7)
    assert [(c.name, c.argv, c.pass_fds) for c in started] == [
        ("web", ["serve", "--web-only", "--fd", "7", "--threads", "4"], (7,)),
        ("worker", ["worker"], ()),
        ("gateway-dicom", ["gateway", "dicom"], ()),
    ]
    assert [c.name for c in children({**opts, "no_worker": True}, 7)] == ["web", "gateway-dicom"]


def test_serve_runs_a_web_process_per_core_on_the_one_socket(
    registry: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    started = children({"threads": None, "processes": None, "no_worker": True}, 9)
    assert [(c.name, c.argv, c.pass_fds) for c in started] == [
        (f"web-{n}", ["serve", "--web-only", "--fd", "9"], (9,)) for n in (1, 2, 3)
    ]
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert len(children({"threads": None, "processes": None, "no_worker": True}, 9)) == 8


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (["--processes", "0"], "--processes must be 1 or more, got 0"),
        (["--threads", "0"], "--threads must be 1 or more, got 0"),
        (["--web-only", "--processes", "2"], "--web-only runs one process"),
    ],
)
def test_serve_refuses_what_it_cannot_run(args: list[str], refusal: str) -> None:
    with pytest.raises(CommandError, match=refusal):
        call_command("serve", *args, "--no-migrate")


@pytest.mark.parametrize("name", ["web", "worker", "Gateway", "has space", ""])
def test_a_listener_needs_a_plain_name_of_its_own(registry: processes.Processes, name: str) -> None:
    with pytest.raises(ValueError, match="process name"):
        processes.register(name=name, argv=["x"])


def test_pauses_grow_and_are_capped() -> None:
    assert [pause_after(n) for n in range(8)] == [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0]


def test_the_file_lock_of_a_queue_admits_one_serve(tmp_path: Path) -> None:
    huey = SimpleNamespace(storage=SimpleNamespace(filename=str(tmp_path / "huey.sqlite3")))
    with processes.queue_lock(huey):
        with pytest.raises(
            processes.Busy, match=rf"already served by radgov serve \(pid {os.getpid()}"
        ):
            with processes.queue_lock(huey):
                pass
    with processes.queue_lock(huey):  # released
        pass


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the Redis lock needs REDIS_URL")
def test_the_redis_lock_of_a_queue_admits_one_serve_and_a_dead_holders_is_taken_over() -> None:
    import redis
    from django.conf import settings

    conn = redis.Redis.from_url(settings.HUEY["url"])
    huey = SimpleNamespace(storage=SimpleNamespace(conn=conn), name="radgov-test-lock")
    key = "radgov:serve:radgov-test-lock"
    conn.delete(key)
    with processes.queue_lock(huey) as refresh:
        conn.expire(key, 8)
        refresh()  # too soon: renewed every LOCK_SECONDS / 3 at most
        assert conn.ttl(key) <= 8
        time.sleep(processes.LOCK_SECONDS / 3 + 0.1)
        refresh()
        assert conn.ttl(key) > 8
        with pytest.raises(processes.Busy, match="already served"), processes.queue_lock(huey):
            pass
    assert conn.get(key) is None  # released on exit
    dead = f"pid {_dead_pid()} on {socket.gethostname()}"  # a serve of this host, killed
    conn.set(key, dead, ex=60)
    with processes.queue_lock(huey):
        assert conn.get(key).decode() == f"pid {os.getpid()} on {socket.gethostname()}"
    conn.set(key, "pid 1 on some-other-machine", ex=60)
    with (
        pytest.raises(processes.Busy, match="killed on another machine, wait"),
        processes.queue_lock(huey),
    ):
        pass
    conn.delete(key)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    proc.wait()
    return proc.pid


def test_a_child_stops_when_its_supervisors_pipe_closes() -> None:
    """The fallback that works anywhere: the child watches the pipe; here the supervisor
    (this test) stays alive and only closes its end, so no PR_SET_PDEATHSIG is involved."""
    read, write = os.pipe()
    code = "from radgov.core.processes import watch_supervisor; watch_supervisor(); import time; time.sleep(60)"
    child = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", code],
        env=config.environ_with(RADGOV_SUPERVISOR_FD=str(read)),
        pass_fds=(read,),
    )
    os.close(read)
    time.sleep(1.0)
    assert child.poll() is None
    os.close(write)
    assert child.wait(timeout=20) != 0  # stopped by its own SIGTERM


def test_the_supervisor_restarts_an_exiting_child_with_growing_pauses(tmp_path: Path) -> None:
    log = tmp_path / "starts"
    script = f"open({str(log)!r}, 'a').write('start\\n')"
    said: list[str] = []
    child = Child("flaky", ["shell", "-c", script])
    supervisor = Supervisor([child], say=said.append)

    def enough() -> None:
        if log.exists() and log.read_text().count("start") >= 3 and child.proc is None:
            supervisor.stopping = True

    supervisor.tick = enough
    started = time.monotonic()
    supervisor.run()
    assert time.monotonic() - started < 120
    exits = [m for m in said if "exited with status 0" in m]
    assert len(exits) >= 3
    assert [m.rsplit("restarting in ", 1)[1] for m in exits[:3]] == ["0.5 s", "1.0 s", "2.0 s"]


def test_a_child_started_again_gets_its_words_for_a_restart(monkeypatch) -> None:
    """A listener process started again after an exit is told so (``again``), so that it
    recovers what the one before it left; its first start is not."""
    from radgov.core import supervisor

    started: list[list[str]] = []
    monkeypatch.setattr(
        supervisor.subprocess,
        "Popen",
        lambda argv, **_: started.append(argv) or SimpleNamespace(pid=1, poll=lambda: 0),
    )
    child = Child("gateway-dicom-1", ["gateway", "dicom"], again=("--recover",))
    runner = Supervisor([child], say=lambda _: None)
    try:
        runner._step(child, 0.0)  # started
        runner._step(child, 1.0)  # exited: started again after a pause
        runner._step(child, 100.0)
    finally:
        os.close(runner._read)
        os.close(runner._write)
    assert [argv[argv.index("radgov.cli") + 1 :] for argv in started] == [
        ["gateway", "dicom"],
        ["gateway", "dicom", "--recover"],
    ]
