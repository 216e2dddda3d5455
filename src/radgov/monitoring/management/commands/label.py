"""``radgov label``: label radiology reports per finding from files, without a database.

    radgov label --reports REPORTS.csv --out LABELS.csv [--rules RULES.yaml] [--no-progress]
    radgov label --reports REPORTS.csv --evaluate HUMAN_LABELS.csv [--out LABELS.csv]
                 [--rules RULES.yaml] [--method wilson|clopper-pearson]

REPORTS.csv: ``report_id,text``.  LABELS.csv: one row per report and finding the report
mentions: ``report_id,finding,label,evidence`` and then ``section,rule,version``.
HUMAN_LABELS.csv: ``report_id,finding,label``, a person's labels of the same reports (a
finding not listed for a report: the person found it not mentioned).  Rows are counted from
1, the first row after the header.  Bad input is refused, naming the row and column, and
nothing is written.  Exit status: 0 done, 2 bad input.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

EXIT_BAD_INPUT = 2
LABEL_COLUMNS = ("report_id", "finding", "label", "evidence", "section", "rule", "version")


def _bad(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_BAD_INPUT)


def _read_csv(path: str, what: str, columns: tuple[str, ...]) -> dict[str, list[str | None]]:
    """The named columns of a CSV file as text, or a refusal naming what is wrong."""
    import polars as pl

    name = Path(path).name
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        # polars quotes the field it could not parse between backticks: a report's text
        # (patient data) must not reach the message
        reason, _, quoted = first.partition("`")
        if quoted:
            reason = f"{reason.strip()} a field (not shown: it may hold patient data)"
        raise _bad(f"{what} {name} cannot be read as CSV: {reason.strip()}") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise _bad(
            f"{what} {name} has no column {', '.join(repr(c) for c in missing)} "
            f"(it needs {', '.join(columns)}; found {', '.join(frame.columns) or 'none'})"
        )
    return {c: frame.get_column(c).to_list() for c in columns}


def _required(values: list[str | None], column: str, what: str) -> list[str]:
    for row, value in enumerate(values, start=1):
        if value is None or not value.strip():
            raise _bad(f"{what} row {row}: column {column!r} is empty")
    return [v.strip() for v in values if v is not None]


class Command(BaseCommand):
    help = (
        "Label radiology reports per finding (positive, negative, uncertain) with transparent "
        "ConText rules; with --evaluate, the labeller's sensitivity and specificity against a "
        "person's labels.  Needs no database.  Exit status: 0 done, 2 bad input."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reports", metavar="REPORTS.csv", help="report_id,text")
        parser.add_argument("--out", metavar="LABELS.csv", help="where to write the labels")
        parser.add_argument(
            "--rules", metavar="RULES.yaml", help="rule file (default: the shipped rules)"
        )
        parser.add_argument(
            "--evaluate",
            metavar="HUMAN_LABELS.csv",
            help="report_id,finding,label from a person: print the labeller's accuracy",
        )
        parser.add_argument(
            "--method",
            choices=["wilson", "clopper-pearson"],
            default="wilson",
            help="confidence interval for --evaluate (default wilson)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        from rich.console import Console

        from radgov.nlp import Labeller, RulesError, load_rules

        self.console = Console(no_color=options.get("no_color", False))
        if not options.get("reports"):
            raise _bad("missing required option --reports")
        if not options.get("out") and not options.get("evaluate"):
            raise _bad("give --out LABELS.csv, --evaluate HUMAN_LABELS.csv, or both")
        out = options.get("out")
        if out and not Path(out).parent.resolve().is_dir():
            raise _bad(f"cannot write {out}: the folder {Path(out).parent} does not exist")
        try:
            rules = load_rules(options.get("rules"))
        except RulesError as err:
            raise _bad(f"the rule file cannot be used: {err}") from None
        ids, texts = self._reports(options["reports"])
        human = (
            self._human(options["evaluate"], ids, rules.finding_names)
            if options.get("evaluate")
            else None
        )
        labeller = Labeller(rules)
        labels = self._label(labeller, texts, show=not options["no_progress"])
        if out:
            self._write(out, ids, labels)
            count = sum(map(len, labels))
            self.console.print(
                f"labelled {len(ids):,} reports: {count:,} labels written to {out} "
                f"({labeller.version})",
                highlight=False,
            )
        if human is not None:
            self._evaluate(ids, labels, human, rules.finding_names, options["method"])

    # ------------------------------------------------------------------ input

    def _reports(self, path: str) -> tuple[list[str], list[str]]:
        data = _read_csv(path, "REPORTS.csv", ("report_id", "text"))
        ids = _required(data["report_id"], "report_id", "REPORTS.csv")
        first: dict[str, int] = {}
        for row, report_id in enumerate(ids, start=1):
            if report_id in first:
                raise _bad(
                    f"REPORTS.csv row {row}: column 'report_id' repeats the id of row "
                    f"{first[report_id]}; each report must appear once"
                )
            first[report_id] = row
        texts = data["text"]
        for row, text in enumerate(texts, start=1):
            if text is None:
                raise _bad(f"REPORTS.csv row {row}: column 'text' is empty")
        return ids, [t for t in texts if t is not None]

    def _human(
        self, path: str, ids: list[str], findings: tuple[str, ...]
    ) -> dict[tuple[str, str], str]:
        from radgov.nlp.labeller import LABEL_VALUES

        what = "HUMAN_LABELS.csv"
        data = _read_csv(path, what, ("report_id", "finding", "label"))
        report_ids = _required(data["report_id"], "report_id", what)
        names = _required(data["finding"], "finding", what)
        values = _required(data["label"], "label", what)
        known = set(ids)
        out: dict[tuple[str, str], str] = {}
        rows: dict[tuple[str, str], int] = {}
        for row, (report_id, finding, value) in enumerate(
            zip(report_ids, names, values, strict=True), start=1
        ):
            if report_id not in known:
                raise _bad(f"{what} row {row}: column 'report_id' names no report of REPORTS.csv")
            if finding not in findings:
                raise _bad(
                    f"{what} row {row}: column 'finding' is {finding!r}, not a finding of the "
                    f"rules ({', '.join(findings)})"
                )
            if value.lower() not in LABEL_VALUES:
                raise _bad(
                    f"{what} row {row}: column 'label' is {value!r}; use {', '.join(LABEL_VALUES)}"
                )
            key = (report_id, finding)
            if key in rows:
                raise _bad(f"{what} row {row}: repeats the report and finding of row {rows[key]}")
            rows[key] = row
            out[key] = value.lower()
        return out

    # ------------------------------------------------------------------ work

    def _label(self, labeller: Any, texts: list[str], *, show: bool) -> list[list[Any]]:
        if not (show and self.console.is_terminal):
            return [labeller.label(t) for t in texts]
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        out = []
        with Progress(
            TextColumn("[bold]radgov label[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            console=self.console,
            transient=True,
        ) as progress:
            task = progress.add_task("", total=len(texts))
            for i, text in enumerate(texts, start=1):
                out.append(labeller.label(text))
                if i % 500 == 0 or i == len(texts):
                    progress.update(task, completed=i)
        return out

    def _write(self, out: str, ids: list[str], labels: list[list[Any]]) -> None:
        tmp = Path(f"{out}.tmp")
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(LABEL_COLUMNS)
            for report_id, found in zip(ids, labels, strict=True):
                for lab in found:
                    writer.writerow(
                        (report_id, lab.finding, lab.label, lab.evidence, lab.section,
                         lab.rule, lab.version)
                    )  # fmt: skip
        os.replace(tmp, out)

    def _evaluate(
        self,
        ids: list[str],
        labels: list[list[Any]],
        human: dict[tuple[str, str], str],
        findings: tuple[str, ...],
        method: Any,
    ) -> None:
        from rich import box
        from rich.table import Table

        from radgov.nlp.accuracy import labeller_accuracy

        scored = [f for f in findings if any(k[1] == f for k in human)]
        machine = {
            (report_id, lab.finding): lab.label
            for report_id, found in zip(ids, labels, strict=True)
            for lab in found
        }
        pairs = [(f, human.get((r, f)), machine.get((r, f))) for f in scored for r in ids]
        results = labeller_accuracy(pairs, findings=scored, method=method)  # type: ignore[arg-type]
        table = Table(
            title=f"Labeller accuracy on {len(ids):,} reports ({method} 95% CI)",
            box=box.SIMPLE_HEAD,  # no column rules and no edge padding: fits 80 columns
            pad_edge=False,
        )
        table.add_column("finding", no_wrap=True)  # names are never broken mid-word
        table.add_column("human\n+/-/?", justify="right", no_wrap=True)
        for col in ("sensitivity", "specificity", "agreement"):
            table.add_column(col, no_wrap=True)
        wide = self.console.width >= 120  # else the interval goes under its estimate

        def show(e: Any) -> str:
            if not e.estimable:
                return "—"
            interval = f"{e.ci_low:.3f}–{e.ci_high:.3f}"
            return f"{e.estimate:.3f} ({interval})" if wide else f"{e.estimate:.3f}\n{interval}"

        for r in results:
            table.add_row(
                r.finding, f"{r.human_positives}/{r.human_negatives}/{r.human_uncertain}",
                show(r.sensitivity), show(r.specificity), show(r.agreement),
            )  # fmt: skip
        self.console.print(table)
        for r in results:
            for warning in r.warnings:
                self.console.print(f"[yellow]warning:[/] {r.finding}: {warning}", highlight=False)
        self.console.print(
            "Sensitivity: labeller positive among the person's positives; specificity: "
            "labeller not positive among the person's negatives and unlabelled pairs; the "
            "person's uncertain pairs are left out of both and counted in agreement.",
            highlight=False,
        )
