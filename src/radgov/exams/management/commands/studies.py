"""``radgov studies``: every exam with each inference's status and reason (docs/exams.md)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.table import Table

from radgov.core.context import ActingContext, acting_as
from radgov.exams import selectors
from radgov.exams.errors import ExamError
from radgov.exams.models import Exam, Inference


def _inference(row: Inference) -> dict[str, Any]:
    return {
        "id": row.pk,
        "deployment_id": row.deployment_id,
        "deployment": str(row.deployment),
        "status": row.status,
        "status_at": timezone.localtime(row.status_at).isoformat(),
        "reason_code": row.reason_code,
        "reason": row.reason,
        "call": row.call,
        "score": row.score,
    }


def _exam(exam: Exam, rows: list[Inference]) -> dict[str, Any]:
    return {
        "id": exam.pk,
        "study_datetime": (
            timezone.localtime(exam.study_datetime).isoformat() if exam.study_datetime else None
        ),
        "site": exam.site,
        "modality": exam.modality,
        "body_part": exam.body_part,
        "station_name": exam.station_name,
        "inferences": [_inference(i) for i in rows],
    }


class Command(BaseCommand):
    help = (
        "Every exam with each inference's status and reason: a table, or one JSON document "
        "with --json (for scripts and checks).  No identifiers are printed; the read is "
        "recorded in the audit trail as the command line's."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.add_argument("--deployment", metavar="ID", help="only this deployment's inferences")
        parser.add_argument("--status", help="only inferences in this status")
        parser.add_argument(
            "--since", metavar="DATE", help="only studies on or after DATE (YYYY-MM-DD)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            filters = selectors.Filters.parse(
                {k: opts[k] for k in ("deployment", "status", "since") if opts[k]}
            )
        except ExamError as exc:
            raise CommandError(str(exc), returncode=2) from None
        wanted = filters.inference_filters()
        with acting_as(ActingContext(channel="cli")):
            exams = [
                _exam(exam, [i for i in exam.inferences.all() if _matches(i, wanted)])
                for exam in selectors.every_exam(None, filters)
            ]
        if opts["json"]:
            self.stdout.write(json.dumps({"exams": exams}, indent=2))
            return
        table = Table("exam", "study date", "modality", "site", "model", "status", "reason")
        for exam in exams:
            when = (exam["study_datetime"] or "")[:16].replace("T", " ")
            rows = exam["inferences"] or [{"deployment": "-", "status": "-", "reason": ""}]
            for n, row in enumerate(rows):
                first = n == 0
                table.add_row(
                    str(exam["id"]) if first else "",
                    when if first else "",
                    f"{exam['modality']} {exam['body_part']}".strip() if first else "",
                    exam["site"] if first else "",
                    row["deployment"],
                    row["status"],
                    row["reason"],
                )
        Console(file=self.stdout, width=160).print(table)
        self.stdout.write(f"{len(exams)} exams")


def _matches(row: Inference, wanted: dict[str, Any]) -> bool:
    return all(getattr(row, name) == value for name, value in wanted.items())
