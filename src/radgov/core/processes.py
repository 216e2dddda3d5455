"""Long-running processes: the registry of listeners, dying with the supervisor, the queue lock.

An app declares a listener that ``radgov serve`` should start beside the web server and the
worker, in its ``AppConfig.ready()``::

    from radgov.core import processes
    processes.register(
        name="gateway-dicom",                    # also the name it beats under
        argv=["gateway", "dicom"],               # the radgov command that runs it
        enabled=lambda: bool(config.get("RADGOV_DICOM_PORT")),
    )

The command must run in the foreground until stopped (SIGTERM), call
``radgov.core.health.beat(name)`` at least every ``health.BEAT_SECONDS`` from its main loop
(or ``health.start_beating(name)``), and refuse to start when its port is taken.  Run on its
own (``radgov gateway dicom``, under systemd) it is the same process; started by
``radgov serve`` it dies with serve, even when serve is killed with SIGKILL: serve passes
the read end of a pipe in ``RADGOV_SUPERVISOR_FD``, and ``watch_supervisor`` (run by the
``radgov`` entry point before any command) asks Linux to send SIGTERM when the parent dies
(``prctl(PR_SET_PDEATHSIG)``) and, on any system, watches the pipe from a thread: when the
supervisor is gone, the pipe closes and the process stops itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radgov.core import config
from radgov.core.registries import swapped

RESERVED = frozenset({"web", "worker", "serve"})
NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
PR_SET_PDEATHSIG = 1
GRACE_SECONDS = 10


@dataclass(frozen=True)
class Process:
    name: str
    argv: tuple[str, ...]
    enabled: Callable[[], bool]


class Processes:
    """The registry of listeners ``radgov serve`` supervises, filled from the apps'
    ``AppConfig.ready()``; tests replace what is registered with :meth:`override`."""

    def __init__(self) -> None:
        self._registered: dict[str, Process] = {}

    def register(
        self, *, name: str, argv: list[str], enabled: Callable[[], bool] = lambda: True
    ) -> None:
        """Declare a listener for ``radgov serve`` to supervise (registering again replaces)."""
        if not NAME.match(name) or name in RESERVED:
            raise ValueError(
                f"process name {name!r}: lower-case letters, digits and -, not {sorted(RESERVED)}"
            )
        if not argv:
            raise ValueError(f"process {name}: argv names the radgov command to run")
        self._registered[name] = Process(name=name, argv=tuple(argv), enabled=enabled)

    def registered(self) -> list[Process]:
        return [self._registered[name] for name in sorted(self._registered)]

    def override(self) -> AbstractContextManager[Processes]:
        """For tests: no listener registered until the block ends (register some inside)."""
        return swapped(self, "_registered", {})


PROCESSES = Processes()
register = PROCESSES.register
registered = PROCESSES.registered


# --- the child's side: die with the supervisor ------------------------------------------------


def watch_supervisor() -> None:
    """If started by ``radgov serve``, stop when it is gone, however it went."""
    fd = config.get("RADGOV_SUPERVISOR_FD")
    if not fd:
        return
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    threading.Thread(
        target=_wait_for_eof, args=(int(fd),), name="radgov-supervisor-watch", daemon=True
    ).start()


def _wait_for_eof(fd: int) -> None:
    """The supervisor holds the pipe's write end and never writes: EOF means it is gone (also
    when it died before this process could ask for PDEATHSIG)."""
    while os.read(fd, 1):
        pass
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_SECONDS)
    os._exit(1)  # noqa: SLF001 - SIGTERM did not stop it: stop now


# --- one radgov serve per queue ---------------------------------------------------------------


class Busy(RuntimeError):
    """Another radgov serve holds the port or the queue; the message says which and how."""


LOCK_SECONDS = 15


@contextmanager
def queue_lock(huey: object) -> Iterator[Callable[[], None]]:
    """Hold the queue for this ``radgov serve``; yields a function to call every few seconds
    (it keeps a Redis lock alive).  Raises ``Busy`` when another serve holds it.  More
    workers on one queue are fine (``radgov worker``); two supervisors each starting one,
    and each scheduling the periodic tasks, are what this prevents."""
    storage = getattr(huey, "storage", None)
    if hasattr(storage, "filename"):
        with _file_lock(Path(storage.filename).with_suffix(".serve.lock")) as refresh:
            yield refresh
    elif hasattr(storage, "conn"):
        with _redis_lock(
            storage.conn, f"radgov:serve:{getattr(huey, 'name', 'radgov')}"
        ) as refresh:
            yield refresh
    else:
        yield lambda: None


@contextmanager
def _file_lock(path: Path) -> Iterator[Callable[[], None]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="ascii") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise Busy(
                f"the task queue {path.with_suffix('.sqlite3')} is already served by radgov serve "
                f"({holder}); stop that one first"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(_holder() + "\n")
        fh.flush()
        yield lambda: None  # the kernel releases the lock when this process ends, however


def _holder() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


def _gone(holder: str) -> bool:
    """Is ``holder`` ("pid N on HOST") a process of this host that no longer runs?"""
    match = re.fullmatch(r"pid (\d+) on (.+)", holder)
    if match is None or match.group(2) != socket.gethostname():
        return False  # another machine's: only its expiry tells
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _take_over(conn: Any, key: str, stale: str, mine: str) -> bool:
    """Replace a dead process's lock with ours, unless someone else changed it meanwhile."""
    import redis

    with conn.pipeline() as pipe:
        try:
            pipe.watch(key)
            if _text(pipe.get(key)) != stale:
                return False
            pipe.multi()
            pipe.set(key, mine, ex=LOCK_SECONDS)
            pipe.execute()
        except redis.WatchError:
            return False
    return True


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


@contextmanager
def _redis_lock(conn: Any, key: str) -> Iterator[Callable[[], None]]:
    mine = _holder()
    if not conn.set(key, mine, nx=True, ex=LOCK_SECONDS):
        holder = _text(conn.get(key))
        if not (_gone(holder) and _take_over(conn, key, holder, mine)):
            raise Busy(
                f"the task queue {key.rsplit(':', 1)[-1]} on Redis is already served by radgov "
                f"serve ({holder or 'another process'}); stop that one first, or, if it was "
                f"killed on another machine, wait {LOCK_SECONDS} s.  More workers: radgov worker"
            )

    renewed = [time.monotonic()]

    def refresh() -> None:
        if time.monotonic() - renewed[0] < LOCK_SECONDS / 3:
            return
        renewed[0] = time.monotonic()
        if _text(conn.get(key)) == mine:
            conn.expire(key, LOCK_SECONDS)

    try:
        yield refresh
    finally:
        if _text(conn.get(key)) == mine:
            conn.delete(key)


def listen(host: str, port: int, *, who: str = "radgov serve") -> socket.socket:
    """A server's socket, bound here (by the supervisor of its processes, which accept on
    it) so that a second ``who`` on the port refuses."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=1024)
    except OSError as exc:
        raise Busy(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another {who} "
            "running there?)"
        ) from None
