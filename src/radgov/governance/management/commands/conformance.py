"""``radgov conformance``: the conformance audit from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from radgov.core.context import ActingContext, acting_as
from radgov.governance.conformance import pdf
from radgov.governance.conformance.audit import record_access, run_audit, to_json
from radgov.governance.conformance.checks import Status

SYMBOL = {
    Status.PASS: "pass",
    Status.FAIL: "FAIL",
    Status.NOT_APPLICABLE: "n/a",
}


class Command(BaseCommand):
    help = (
        "Audit the practice and every deployment in pilot or deployed against the "
        "requirements of sections IV and V of the ACR-SIIM practice parameter that "
        "software can check. Exit status 0 when no line fails, 1 when any line fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", help="print the audit as JSON instead of text"
        )
        parser.add_argument("--pdf", metavar="FILE", help="also write the audit as a PDF to FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = run_audit()
        except ValueError as exc:  # a setting out of range names itself
            raise CommandError(str(exc)) from None
        target = options.get("pdf")
        if target:
            path = Path(target)
            if not path.parent.is_dir():
                raise CommandError(f"--pdf: folder {path.parent} does not exist")
            path.write_bytes(pdf.render_pdf(report))
        with acting_as(ActingContext(channel="cli")):
            if target:
                record_access(report, action="export", fmt="pdf")
            if options["json"]:
                record_access(report, action="export", fmt="json")
            else:
                record_access(report, action="read", fmt="text")
        if options["json"]:
            self.stdout.write(json.dumps(to_json(report), indent=2, ensure_ascii=False))
        else:
            self._text(report)
        if target:
            self.stderr.write(f"PDF written to {target}")
        if not report.conformant:
            sys.exit(1)

    def _text(self, report: Any) -> None:
        out = self.stdout.write
        t = report.totals
        out(f"Conformance audit, {report.generated_at:%Y-%m-%d %H:%M} UTC")
        sections = [("The practice", report.practice)] + [
            (f"{s.label} ({s.stage_label.lower()})", s.lines) for s in report.deployments
        ]
        for title, lines in sections:
            out("")
            out(title)
            for ln in lines:
                out(f"  [{SYMBOL[ln.status]}] {ln.clause} {ln.title}: {ln.found}")
                if ln.fix:
                    out(f"      to fix: {ln.fix}")
        if not report.deployments:
            out("")
            out("No deployment is in pilot or deployed.")
        out("")
        out(f"{t.lines} lines: {t.passed} pass, {t.failed} fail, {t.not_applicable} not applicable")
