"""Reports in, labels out, and the AI compared with the report (docs/monitoring.md).

Every write is a service: :func:`record_report` (one report, from the API),
:func:`record_report_file` (a CSV or Parquet file, all or nothing), :func:`compare_pending` (link reports that
came before their exam, compare inferences whose result came after their report).  A report is
found by the keyed pseudonym of its accession number, stored encrypted, labelled by
``radgov.nlp`` and compared with every inferred result on its exam at once.
"""

from __future__ import annotations

import functools
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db import models
from django.db.models import Q
from django.utils import timezone

from radgov.core import crypto
from radgov.core.audit import Action, batch
from radgov.core.models import AccessionIdentity
from radgov.core.services import service
from radgov.exams import access
from radgov.exams.errors import BatchError, ExamError, Problem
from radgov.exams.models import Exam, Inference
from radgov.exams.statuses import Status
from radgov.monitoring.models import Concordance, Outcome, Report, ReportLabel, Truth, Watch
from radgov.nlp import Label, Labeller

SOURCES = ("api", "file", "hl7", "fhir", "demo")
MAX_REPORT_CHARS = 100_000
COLUMNS = ("accession_number", "text")
PARQUET_MAGIC = b"PAR1"
DONE = (Status.INFERRED, Status.RELEASED, Status.WITHDRAWN)


@functools.cache
def labeller() -> Labeller:
    """The labeller with the shipped rules (docs/report-labels.md)."""
    return Labeller()


@dataclass(frozen=True)
class Stored:
    report: Report
    outcome: str  # created, amended or unchanged
    compared: int  # inferences compared with it


def accession_hash(accession_number: str, issuer: str = "") -> str:
    return AccessionIdentity.pseudonym_for(crypto.normalize(accession_number), issuer=issuer)


def check_report(accession_number: Any, text: Any, where: str = "") -> list[Problem]:
    """What is wrong with one report before it is stored, each problem naming its field."""
    problems = []
    if not isinstance(accession_number, str) or not accession_number.strip():
        problems.append(Problem(f"{where}accession_number", "is required"))
    if not isinstance(text, str) or not text.strip():
        problems.append(Problem(f"{where}text", "is required: the report's text"))
    elif len(text) > MAX_REPORT_CHARS:
        problems.append(Problem(f"{where}text", f"is longer than {MAX_REPORT_CHARS:,} characters"))
    return problems


@service
def record_report(
    actor: Any, *, accession_number: str, text: str, issuer: str = "", source: str = "api"
) -> Stored:
    """Store (or amend) the report of one accession, label it and compare it with the AI."""
    access.require_write(actor)
    problems = check_report(accession_number, text)
    if source not in SOURCES:
        problems.append(Problem("source", f"must be one of {', '.join(SOURCES)}"))
    if problems:
        raise ExamError(problems)
    [stored] = _store([(accession_hash(accession_number, issuer), text)], source)
    return stored


def _store(rows: list[tuple[str, str]], source: str) -> list[Stored]:
    """Store (or amend) the reports ``(accession pseudonym, text)``, label them and compare
    them with the AI, in a handful of statements for all of them (inside a service).  A
    second report of an accession in ``rows`` is stored after the first, as if sent later."""
    stored: list[Stored] = []
    start = 0
    while start < len(rows):  # runs of distinct accessions, each stored at once
        keys: set[str] = set()
        end = start
        while end < len(rows) and rows[end][0] not in keys:
            keys.add(rows[end][0])
            end += 1
        stored += _store_distinct(rows[start:end], source)
        start = end
    return stored


def _store_distinct(rows: list[tuple[str, str]], source: str) -> list[Stored]:
    keys = [key for key, _ in rows]
    found = {
        r.accession_hash: r
        for r in Report.objects.select_for_update().filter(accession_hash__in=keys)
    }
    exams: dict[str, int] = {}
    for key, exam_id in Exam.objects.filter(accession__pseudonym__in=keys).values_list(
        "accession__pseudonym", "pk"
    ):
        exams.setdefault(key, exam_id)  # the first in the exams' order, as .first() gives
    now = timezone.now()
    outcomes: list[tuple[Report, str]] = []
    labels: dict[int, list[Label]] = {}
    for key, text in rows:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        report = found.get(key)
        if report is not None and report.text_sha256 == digest:
            outcomes.append((report, "unchanged"))
            continue
        if report is None:
            report = Report(accession_hash=key, source=source)
        outcomes.append((report, "created" if report.pk is None else "amended"))
        report.exam_id = exams.get(key)
        report.text, report.text_sha256 = text, digest
        report.labeller_version, report.rules_sha256 = labeller().version, labeller().rules_hash
        report.updated_at = now
        labels[id(report)] = labeller().label(text)
    new = [report for report, outcome in outcomes if outcome == "created"]
    amended = [report for report, outcome in outcomes if outcome == "amended"]
    Report.objects.bulk_create(new)
    if amended:
        fields = ["exam", "text", "text_sha256", "labeller_version", "rules_sha256", "updated_at"]
        Report.objects.bulk_update(amended, fields)
        ReportLabel.objects.filter(report__in=amended).delete()
    ReportLabel.objects.bulk_create(
        ReportLabel(
            report=report, finding=label.finding, label=label.label,
            evidence=label.evidence, rule=label.rule[:200],
        )
        for report in (*new, *amended)
        for label in labels[id(report)]
    )  # fmt: skip
    return [
        Stored(report, outcome, 0)
        if outcome == "unchanged"
        else Stored(
            report, outcome, _compare(report, {x.finding: x.label for x in labels[id(report)]})
        )
        for report, outcome in outcomes
    ]


@service
def record_report_file(actor: Any, data: bytes, *, source: str = "file") -> dict[str, int]:
    """A CSV or Parquet file of ``accession_number,text[,issuer]``: every row stored, or none
    (each problem named by row and column, never by a cell's value)."""
    access.require_write(actor)
    frame, first_row = read_table(data, COLUMNS, optional=("issuer",))
    issuers = frame["issuer"].to_list() if "issuer" in frame.columns else [""] * frame.height
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    rows = []
    for i, (number, text, issuer) in enumerate(
        zip(frame["accession_number"], frame["text"], issuers, strict=True), start=first_row
    ):
        found = check_report(number, text, where=f"row {i}, ")
        problems.extend(found)
        if found:
            continue
        key = accession_hash(number, issuer or "")
        if key in seen:
            problems.append(
                Problem(f"row {i}, accession_number", f"repeats the accession of row {seen[key]}")
            )
        seen[key] = i
        rows.append((key, text))
    if problems:
        raise BatchError(problems)
    return _counts(_store_all(rows, source))


@service
def record_reports(
    actor: Any, reports: list[tuple[str, str]], *, issuer: str = "", source: str = "api"
) -> dict[str, int]:
    """Many ``(accession_number, text)`` reports at once, all or none (the demo, a batch)."""
    return _counts(store_reports(actor, reports, issuer=issuer, source=source))


@service
def store_reports(
    actor: Any,
    reports: list[tuple[str, str]],
    *,
    issuer: str = "",
    source: str = "api",
    detail: dict[str, Any] | None = None,
    also: Sequence[models.Model] = (),
) -> list[Stored]:
    """As :func:`record_reports`, with what became of each report, in order; ``detail`` goes
    into the batch's audit entry (never PHI: a listener's message control ids); ``also``,
    new rows of one model the caller records with the reports, in the same entry (the MLLP
    listener's message records)."""
    access.require_write(actor)
    problems = [p for i, (n, t) in enumerate(reports) for p in check_report(n, t, f"reports[{i}].")]
    if problems:
        raise BatchError(problems)
    rows = [(accession_hash(n, issuer), t) for n, t in reports]
    return _store_all(rows, source, detail, also)


def _store_all(
    rows: list[tuple[str, str]],
    source: str,
    detail: dict[str, Any] | None = None,
    also: Sequence[models.Model] = (),
) -> list[Stored]:
    """Store many reports with one audit entry for their rows (core's batch)."""
    detail = {"source": source, "reports": len(rows), **(detail or {})}
    with batch(action=Action.IMPORT, object_type="monitoring.report", detail=detail):
        stored = _store(rows, source)
        if also:
            type(also[0])._default_manager.bulk_create(also)
        return stored


def _counts(stored: list[Stored]) -> dict[str, int]:
    counts = {"created": 0, "amended": 0, "unchanged": 0, "compared": 0}
    for one in stored:
        counts[one.outcome] += 1
        counts["compared"] += one.compared
    return counts


def read_table(
    data: bytes, columns: tuple[str, ...], *, optional: tuple[str, ...] = ()
) -> tuple[pl.DataFrame, int]:
    """A CSV or a Parquet file (told apart by Parquet's magic number) as text columns, and
    the number people give its first data row: 2 in a CSV (under its header), 1 in Parquet.
    Refused naming each missing column, a Parquet column of ours that is not text, or an
    empty file, as :func:`read_csv`."""
    if not data.startswith(PARQUET_MAGIC):
        return read_csv(data, columns), 2
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise BatchError(f"not a readable Parquet file ({type(exc).__name__})") from None
    wrong = [
        Problem(name, f"column must be text (String) in a Parquet file, not {dtype}")
        for name, dtype in frame.schema.items()
        if name in (*columns, *optional) and dtype not in (pl.String, pl.Null)
    ]
    if wrong:
        raise BatchError(wrong)
    return _checked(frame, columns), 1


def read_csv(data: bytes, columns: tuple[str, ...]) -> pl.DataFrame:
    """A CSV as text columns, refused naming each missing column (or an empty file)."""
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise BatchError(f"not a readable CSV file ({type(exc).__name__})") from None
    return _checked(frame, columns)


def _checked(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise BatchError([Problem(c, "column is missing") for c in missing])
    if frame.height == 0:
        raise BatchError("the file has no rows")
    return frame


def _norm(name: str) -> str:
    return " ".join(name.replace("_", " ").lower().split())


def ai_call(inference: Inference, finding: str) -> str | None:
    """The model's call on ``finding``: its structured finding of that name when it says
    present or not, otherwise its overall call; None when it made no call."""
    for item in inference.findings or []:
        if _norm(str(item.get("label", ""))) == _norm(finding) and isinstance(
            item.get("present"), bool
        ):
            return "positive" if item["present"] else "negative"
    return inference.call if inference.call in ("positive", "negative") else None


def outcome_of(ai: str, truth: str, *, absent_is_negative: bool) -> str | None:
    if truth == Truth.ABSENT:
        if not absent_is_negative:
            return None
        truth = Truth.NEGATIVE
    if truth == Truth.UNCERTAIN:
        return Outcome.UNSCORED
    table = {
        ("positive", "positive"): Outcome.TP,
        ("positive", "negative"): Outcome.FP,
        ("negative", "positive"): Outcome.FN,
        ("negative", "negative"): Outcome.TN,
    }
    return table[(ai, truth)]


def _compare(report: Report, labels: dict[str, str] | None = None) -> int:
    """Compare ``report`` with every finished inference on its exam whose deployment is
    watched; replaces earlier comparisons (an amended report).  Inside a service.
    ``labels``: the report's labels by finding, when the caller has them at hand."""
    if report.exam_id is None:
        return 0
    if labels is None:
        labels = {row.finding: row.label for row in report.labels.all()}
    compared = 0
    inferences = Inference.objects.filter(
        exam_id=report.exam_id, status__in=DONE, deployment__watch__isnull=False
    ).select_related("deployment__watch", "exam")
    for inference in inferences:
        watch: Watch = inference.deployment.watch
        ai = ai_call(inference, watch.finding)
        truth = labels.get(watch.finding, Truth.ABSENT)
        outcome = (
            None
            if ai is None
            else outcome_of(ai, truth, absent_is_negative=watch.absent_is_negative)
        )
        Concordance.objects.filter(inference=inference).delete()
        if outcome is None:
            continue
        when = inference.exam.study_datetime or inference.inferred_at or inference.created_at
        Concordance.objects.create(
            inference=inference, deployment=inference.deployment, report=report,
            finding=watch.finding, day=when.date(), ai=ai, truth=truth, outcome=outcome,
        )  # fmt: skip
        compared += 1
    return compared


@service
def compare_pending() -> dict[str, int]:
    """Link reports that came before their exam, and compare every finished inference of a
    watched deployment that has a report but no comparison yet (a result after its report,
    a deployment watched since).  Run by the periodic task; doing it twice changes nothing."""
    linked = 0
    for report in Report.objects.select_for_update().filter(exam__isnull=True):
        exam = Exam.objects.filter(accession__pseudonym=report.accession_hash).first()
        if exam is not None:
            report.exam = exam
            report.save()
            linked += 1
    waiting = Report.objects.filter(
        Q(exam__inferences__status__in=DONE)
        & Q(exam__inferences__deployment__watch__isnull=False)
        & Q(exam__inferences__concordance__isnull=True)
    ).distinct()
    compared = sum(_compare(report) for report in waiting)
    return {"linked": linked, "compared": compared}
