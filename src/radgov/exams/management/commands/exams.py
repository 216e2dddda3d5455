"""``radgov exams import FILE``: exams and inference events from a CSV or Parquet file
(docs/exams.md, "Bulk import"), all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from radgov.core.context import ActingContext, acting_as
from radgov.exams import importer
from radgov.exams.errors import BatchError

MAX_PROBLEMS_SHOWN = 50


class Command(BaseCommand):
    help = (
        "radgov exams import FILE: record the exams and inference events of a CSV or Parquet "
        "file (the format is in docs/exams.md).  A bad file is refused whole, each problem "
        "named by row and column; nothing is stored.  Exit 1 when refused, 2 for a usage error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("import", help="import a CSV or Parquet file of exams and events")
        load.add_argument("file", help="a .csv or .parquet file")
        load.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **opts: Any) -> None:
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"{opts['file']!r} is not a file", returncode=2)
        console = Console(file=self.stderr, stderr=True)
        with (
            Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
                disable=opts["no_progress"] or not console.is_terminal,
            ) as bar,
            acting_as(ActingContext(channel="cli")),
        ):
            task = bar.add_task("importing", total=None)
            try:
                result = importer.import_file(
                    None,  # the operator at the console
                    path,
                    on_start=lambda rows: bar.update(task, total=rows),
                    on_row=lambda _index: bar.advance(task),
                )
            except BatchError as exc:
                for problem in exc.problems[:MAX_PROBLEMS_SHOWN]:
                    self.stderr.write(str(problem))
                more = len(exc.problems) - MAX_PROBLEMS_SHOWN
                if more > 0:
                    self.stderr.write(f"... and {more} more")
                raise CommandError(
                    f"{path.name} was refused ({len(exc.problems)} problem"
                    f"{'s' if len(exc.problems) != 1 else ''}); nothing was stored",
                    returncode=1,
                ) from None
            except OSError as exc:
                raise CommandError(
                    f"cannot read {path.name}: {exc.strerror}", returncode=2
                ) from None
        r = result
        self.stdout.write(
            f"{path.name}: {r.events} rows: {r.exams_created} exams created, {r.exams_enriched} "
            f"enriched, {r.inferences_created} inferences created, {r.moves} status moves, "
            f"{r.unchanged} rows already recorded"
        )
