"""``radgov serve``: the web server, a worker and the registered listeners, supervised.

The command itself is the supervisor (``radgov.core.supervisor``): it migrates, binds the
port, takes the task queue (``radgov.core.processes.queue_lock``) and starts each part as a
child process that dies with it and is restarted with a growing pause if it exits.  A second
``radgov serve`` on the same port or queue refuses, saying which.  The web server is one
process per core (``--processes``), all accepting on the one port.  ``--web-only`` runs one
web server alone in this process (production: under systemd, behind the proxy).
"""

from __future__ import annotations

import argparse
import socket
from contextlib import ExitStack
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from radgov.core import processes
from radgov.core.supervisor import Child, Supervisor


def run_web(opts: dict[str, Any]) -> None:
    """Serve the web app and API in this process until stopped; beat as ``web``."""
    from waitress import serve

    from radgov.core import health
    from radgov.core.web_server import waitress_options
    from radgov.wsgi import application

    health.start_beating("web")
    if opts["fd"] is not None:  # the socket serve bound and passed down
        where: dict[str, Any] = {"sockets": [socket.socket(fileno=opts["fd"])]}
    else:
        where = {"host": opts["host"], "port": opts["port"]}
    serve(application, **where, **waitress_options(threads=opts["threads"]))


def children(opts: dict[str, Any], fd: int) -> list[Child]:
    """What serve starts: ``--processes`` web servers on the socket ``fd`` (default: one
    per core, ``radgov.core.web_server.default_processes``), a worker unless
    ``--no-worker``, and every registered listener that is enabled."""
    from radgov.core.web_server import default_processes

    web = ["serve", "--web-only", "--fd", str(fd)]
    if opts["threads"]:
        web += ["--threads", str(opts["threads"])]
    count = opts.get("processes") or default_processes()
    # every web process accepts on the one socket serve bound; the kernel hands each
    # connection to one of them
    names = ["web"] if count == 1 else [f"web-{n}" for n in range(1, count + 1)]
    started = [Child(name, web, pass_fds=(fd,)) for name in names]
    if not opts["no_worker"]:
        started.append(Child("worker", ["worker"]))
    return started + [Child(p.name, list(p.argv)) for p in processes.registered() if p.enabled()]


class Command(BaseCommand):
    help = (
        "Migrate, then run the web server, a background worker (unless --no-worker) and the "
        "registered listeners as supervised child processes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--threads", type=int, default=None, help="request threads of each web process"
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="web server processes (default: one per core, at most 8)",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="do not start a worker (run `radgov worker` elsewhere)",
        )
        parser.add_argument("--no-migrate", action="store_true")
        parser.add_argument(
            "--web-only",
            action="store_true",
            help="run only the web server, in this process, unsupervised",
        )
        parser.add_argument("--fd", type=int, default=None, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **opts: Any) -> None:
        for option in ("processes", "threads"):
            if opts[option] is not None and opts[option] < 1:
                raise CommandError(f"--{option} must be 1 or more, got {opts[option]}")
        if opts["web_only"]:
            if opts["processes"] not in (None, 1):
                raise CommandError(
                    "--web-only runs one process; run one unit per process, or serve without "
                    "--web-only to start --processes of them"
                )
            run_web(opts)
            return
        from django.db import connections
        from huey.contrib.djhuey import HUEY

        from radgov.core.schema import bring_up_to_date

        if not opts["no_migrate"]:
            bring_up_to_date()
        with ExitStack() as stack:
            try:
                sock = stack.enter_context(processes.listen(opts["host"], opts["port"]))
                refresh = (
                    stack.enter_context(processes.queue_lock(HUEY))
                    if not opts["no_worker"]
                    else (lambda: None)
                )
            except processes.Busy as exc:
                raise CommandError(f"radgov serve refused: {exc}") from None
            started = children(opts, sock.fileno())
            connections.close_all()  # the children open their own
            url = f"http://{opts['host']}:{opts['port']}/"
            self.stdout.write(f"radgov is serving {url}  (health: {url}healthz; stop with Ctrl-C)")
            Supervisor(started, say=self._say, tick=refresh).run()

    def _say(self, message: str) -> None:
        self.stdout.write(f"radgov serve: {message}")
        self.stdout.flush()
