from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the background worker (Huey): the SQLite queue in the data folder, or Redis when REDIS_URL is set."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="do not schedule the periodic tasks (run exactly one worker per queue without this)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        from radgov.core import health

        health.start_beating("worker")
        call_command(
            "run_huey",
            workers=opts["workers"],
            worker_type="thread",
            periodic=not opts["no_periodic"],
            verbose=False,
        )
