"""``radgov purge [--dry-run]``: remove what is past its retention, except what a legal hold
covers (docs/retention.md).  The work is ``radgov.compliance.purge``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from rich.console import Console
from rich.table import Table

from radgov.compliance import purge
from radgov.core.context import ActingContext, acting_as
from radgov.exams.access import actor_name


class Command(BaseCommand):
    help = (
        "Remove exam records, received DICOM in the gateway's spool, AI result objects, report "
        "text, monitoring's comparisons (kept as daily counts), left-over acceptance-test cases "
        "files, de-identification jobs and the oldest audit "
        "entries (up to a signed checkpoint) past their retention, except what a legal hold "
        "covers; files are deleted after their rows, and "
        "an interrupted purge is resumed by the next one.  --dry-run lists what would go, by "
        "data class and count, and changes nothing.  Both are recorded in the audit trail "
        "with counts, never identifiers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would go; change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=self.stdout, width=120)
        operator = None  # the operator at the console (channel "cli"), as core records it
        with acting_as(ActingContext(channel="cli")):
            found = purge.plan()
            table = Table("data class", "retention (days)", "past retention", "held", "to remove")
            for e in found:
                table.add_row(e.label, str(e.days), str(e.expired), str(e.held), str(e.to_remove))
            console.print(table)
            if options["dry_run"]:
                purge.record_dry_run(operator, found)
                console.print("dry run: nothing was removed")
                return
            run = purge.purge(operator, started_by=actor_name(operator))
        removed = ", ".join(f"{k}: {v}" for k, v in sorted(run.removed.items())) or "nothing"
        console.print(
            f"purge run {run.pk} done (attempt {run.attempt}): removed {removed}; "
            f"files deleted: {run.files_deleted}"
        )
