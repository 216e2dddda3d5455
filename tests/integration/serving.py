"""Running `radgov serve` for real in tests: a fresh data folder, a free port, its output in
a file, /healthz polled; and every process that belongs to that data folder, found in /proc.

With REDIS_URL set (CI's second run) the server uses this test worker's own Redis database,
so servers of parallel test workers never share a queue."""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings


def wait_until(ok: Callable[[], bool], timeout: float = 90.0) -> bool:
    """Whether ``ok()`` held within ``timeout`` seconds (asked every quarter second): a
    process under test reaching a state, on a machine that may be busy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ok():
            return True
        time.sleep(0.25)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a localhost URL
        return response.status, json.loads(response.read())


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[Any]
    data: Path
    log: Path
    port: int

    def output(self) -> str:
        return self.log.read_text()

    def health(self) -> dict[str, Any]:
        return get_json(f"{self.url}/healthz")[1]

    def wait_for(
        self, ok: Callable[[dict[str, Any]], bool], timeout: float = 120
    ) -> dict[str, Any]:
        """Poll /healthz until ``ok(body)``; fail with serve's output otherwise."""
        deadline, body = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"radgov serve exited early:\n{self.output()}")
            try:
                body = self.health()
            except OSError:
                body = {}
            if body and ok(body):
                return body
            time.sleep(0.5)
        raise AssertionError(f"not healthy in {timeout} s: {body}\n{self.output()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def environment(data: Path, tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RADGOV_", "DJANGO_", "DATABASE_URL"))
    }
    env["RADGOV_DATA_DIR"] = str(data)
    env["RADGOV_KEY_FILE"] = str(tmp / "keys.json")
    if env.get("REDIS_URL"):
        env["REDIS_URL"] = settings.HUEY["url"]  # this test worker's own database
    return env


@functools.cache
def _migrated() -> Path:
    """A data folder this test worker migrated, once (removed when the worker exits)."""
    template = Path(tempfile.mkdtemp(prefix="radgov-migrated-"))
    atexit.register(shutil.rmtree, template, True)
    subprocess.run(  # noqa: S603 - this interpreter, our command
        [sys.executable, "-m", "radgov.cli", "migrate"],
        env=environment(template / "data", template),
        capture_output=True,
        check=True,
        timeout=600,
    )
    return template / "data"


def migrated_copy(data: Path) -> None:
    """Put in ``data`` a copy of a data folder migrated already: `radgov serve` on a fresh
    folder migrates it first, about 6 s of CPU that only a test of a fresh start needs to
    spend.  (Migrating encrypts nothing, so the copy needs no key file of its own.)"""
    shutil.copytree(_migrated(), data, dirs_exist_ok=True)


def start_serve(
    tmp: Path, *args: str, data: Path | None = None, port: int | None = None, fresh: bool = False
) -> Served:
    """`radgov serve` on ``data`` (default: a copy of a migrated folder, or with ``fresh`` an
    empty one it migrates first), its key file in ``tmp``."""
    if data is None:
        data = tmp / "data"
        if not fresh:
            migrated_copy(data)
    port = port or free_port()
    log = tmp / f"serve-{port}-{time.monotonic_ns()}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "radgov.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *args,
            ],
            env=environment(data, tmp),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    return Served(f"http://127.0.0.1:{port}", proc, data, log, port)


def alive(body: dict[str, Any], *names: str) -> bool:
    up = {p["name"] for p in body.get("processes", []) if p["alive"]}
    return set(names) <= up


def processes_of(data: Path) -> list[int]:
    """Every live (not zombie) process whose environment names this data folder."""
    marker = f"RADGOV_DATA_DIR={data}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if state != "Z" and marker in environ:
            found.append(int(entry.name))
    return found
