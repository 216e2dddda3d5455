from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Migrate, then run the web server and, unless --no-worker, a background worker beside it."
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

    def handle(self, *args: Any, **opts: Any) -> None:
        from waitress import serve

        from radgov.core.schema import bring_up_to_date
        from radgov.core.web_server import waitress_options
        from radgov.wsgi import application

        if not opts["no_migrate"]:
            bring_up_to_date()
        worker = None
        if not opts["no_worker"]:
            worker = subprocess.Popen([sys.executable, "-m", "radgov.cli", "worker"])  # noqa: S603
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        url = f"http://{opts['host']}:{opts['port']}/"
        self.stdout.write(f"radgov is serving {url}  (health: {url}healthz; stop with Ctrl-C)")
        try:
            serve(
                application,
                **waitress_options(host=opts["host"], port=opts["port"], threads=opts["threads"]),
            )
        finally:
            if worker is not None:
                worker.terminate()
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
