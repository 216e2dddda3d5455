"""``radgov serve``'s supervisor: start the child processes, restart a child that exits with
a growing pause, stop them all when told to.

Each child is ``python -m radgov.cli <argv>`` with the read end of a pipe whose write end only
the supervisor holds (``RADGOV_SUPERVISOR_FD``): when the supervisor is gone, however it
went, the pipe closes and the child stops (``radgov.core.processes.watch_supervisor``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from radgov.core import config

POLL_SECONDS = 0.25
FIRST_PAUSE = 0.5  # before the first restart; doubled for each quick exit after it
LONGEST_PAUSE = 30.0
STEADY_SECONDS = 30.0  # a child that ran this long starts its pauses afresh
STOP_SECONDS = 15.0  # then SIGKILL


def pause_after(quick_exits: int) -> float:
    return min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** (quick_exits - 1)) if quick_exits else 0.0


@dataclass
class Child:
    name: str
    argv: list[str]
    pass_fds: tuple[int, ...] = ()
    again: tuple[str, ...] = ()  # words added to argv when it starts again after an exit
    proc: subprocess.Popen[Any] | None = field(default=None, repr=False)
    started: float = 0.0
    quick_exits: int = 0
    start_at: float = 0.0
    starts: int = 0


class Supervisor:
    def __init__(
        self,
        children: list[Child],
        *,
        say: Callable[[str], None],
        tick: Callable[[], None] = lambda: None,
    ) -> None:
        self.children = children
        self.say = say
        self.tick = tick  # called every poll: keeps the queue lock alive
        self.stopping = False
        self._read, self._write = os.pipe()

    def run(self) -> None:
        """Supervise until SIGTERM or SIGINT, then stop every child."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        try:
            while not self.stopping:
                now = time.monotonic()
                for child in self.children:
                    self._step(child, now)
                self.tick()
                time.sleep(POLL_SECONDS)
        finally:
            self._stop_children()

    def _stop(self, *_: Any) -> None:
        self.stopping = True

    def _step(self, child: Child, now: float) -> None:
        if child.proc is None:
            if now >= child.start_at:
                self._start(child, now)
            return
        code = child.proc.poll()
        if code is None:
            return
        lived = now - child.started
        child.quick_exits = 1 if lived >= STEADY_SECONDS else child.quick_exits + 1
        pause = pause_after(child.quick_exits)
        self.say(
            f"{child.name} (pid {child.proc.pid}) exited with status {code} after {lived:.0f} s; "
            f"restarting in {pause:.1f} s"
        )
        child.proc, child.start_at = None, now + pause

    def _start(self, child: Child, now: float) -> None:
        child.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and command
            [
                sys.executable,
                "-m",
                "radgov.cli",
                *child.argv,
                *(child.again if child.starts else ()),
            ],
            env=config.environ_with(RADGOV_SUPERVISOR_FD=str(self._read)),
            pass_fds=(self._read, *child.pass_fds),
        )
        child.started, child.starts = now, child.starts + 1
        self.say(f"{child.name} started (pid {child.proc.pid})")

    def _stop_children(self) -> None:
        running = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for proc in running:
            proc.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for proc in running:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        os.close(self._write)
        os.close(self._read)
