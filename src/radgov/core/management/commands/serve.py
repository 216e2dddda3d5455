"""``radgov serve``: the web server, a worker and the registered listeners, supervised.

The command itself is the supervisor (``radgov.core.supervisor``): it migrates, binds the
port, takes the task queue (``radgov.core.processes.queue_lock``) and starts each part as a
child process that dies with it and is restarted with a growing pause if it exits.  A second
``radgov serve`` on the same port or queue refuses, saying which.  ``--web-only`` runs the web
server alone in this process (production: under systemd, one per machine behind the proxy).
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
    """What serve starts: the web server on the socket ``fd``, a worker unless
    ``--no-worker``, and every registered listener that is enabled."""
    web = ["serve", "--web-only", "--fd", str(fd)]
    if opts["threads"]:
        web += ["--threads", str(opts["threads"])]
    started = [Child("web", web, pass_fds=(fd,))]
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
        parser.add_argument("--threads", type=int, default=None)
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
        if opts["web_only"]:
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
