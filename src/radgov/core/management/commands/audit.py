"""``radgov audit verify | export | checkpoint``."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from radgov.core.context import ActingContext, acting_as


def parse_when(value: str, *, end: bool = False) -> datetime:
    """A UTC date (YYYY-MM-DD; as an end bound it includes the whole day) or an ISO datetime."""
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return day + timedelta(days=1) if end else day
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD) or ISO date-time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Command(BaseCommand):
    help = "Check, export and checkpoint the audit trail."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser(
            "verify",
            help="check the hash chain, checkpoints and anchor; exit 1 naming the first bad entry",
        )
        verify.add_argument("--chunk-size", type=int, default=2000)
        verify.add_argument(
            "--chain-only",
            action="store_true",
            help="check the chain, checkpoints and anchor, not each batch against its rows",
        )
        export = sub.add_parser(
            "export", help="export entries as FHIR AuditEvent NDJSON or DICOM audit message XML"
        )
        export.add_argument("--format", choices=["fhir", "dicom"], required=True)
        export.add_argument(
            "--since", required=True, help="UTC date YYYY-MM-DD (inclusive) or ISO date-time"
        )
        export.add_argument("--until", help="UTC date (inclusive) or ISO date-time (exclusive)")
        export.add_argument("--output", help="file to write (default: standard output)")
        sub.add_parser("checkpoint", help="sign a checkpoint of the chain head now")

    def handle(self, *args: Any, **options: Any) -> None:
        ctx = ActingContext(channel="cli")
        with acting_as(ctx):
            getattr(self, "do_" + options["subcommand"])(options)

    def do_verify(self, options: dict[str, Any]) -> None:
        from radgov.core.audit.verify import verify_trail

        report = verify_trail(
            chunk_size=options["chunk_size"],
            actor_name=_cli_name(),
            batch_rows=not options["chain_only"],
        )
        if not report.ok:
            raise CommandError("audit trail NOT intact: " + report.summary(), returncode=1)
        self.stdout.write(report.summary())

    def do_export(self, options: dict[str, Any]) -> None:
        from radgov.core.audit.selectors import export_entries

        since = parse_when(options["since"])
        until = parse_when(options["until"], end=True) if options["until"] else None
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as out:
                count = export_entries(
                    options["format"], out, since=since, until=until, actor_name=_cli_name()
                )
            self.stderr.write(f"exported {count} entries to {options['output']}")
        else:
            out = self.stdout._out  # the raw stream: OutputWrapper.write adds line endings
            count = export_entries(
                options["format"], out, since=since, until=until, actor_name=_cli_name()
            )
            out.flush()
            self.stderr.write(f"exported {count} entries")

    def do_checkpoint(self, options: dict[str, Any]) -> None:
        from radgov.core.audit.checkpoint import make_checkpoint

        cp = make_checkpoint()
        if cp is None:
            self.stdout.write("no new entries since the last checkpoint")
        else:
            self.stdout.write(f"checkpoint {cp.number} signed at entry {cp.seq} (key {cp.key_id})")


def _cli_name() -> str:
    """Who ran the command, for the audit entry: the operating-system account."""
    try:
        return "os:" + getpass.getuser()
    except (OSError, KeyError):
        return "os:unknown"
