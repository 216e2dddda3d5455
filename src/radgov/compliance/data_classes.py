"""What each data class holds, what of it is past retention, what a legal hold covers, and how
its rows go (docs/retention.md).  ``radgov.compliance.purge`` runs these in one chunked,
resumable loop; everything here runs inside its service, so each deletion is audited.

A ``remove`` deletes rows and returns the files they pointed at (relative to the data
folder), which the purge deletes only after the rows' transaction committed.  Rows of other
apps that would keep an exam from going (the gateway's study, monitoring's report) go with it;
comparisons of AI and report are first reduced to their daily counts (``ConcordanceDay``), so
monitoring keeps its statistics without anything that leads to a patient.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from radgov.compliance.models import DeidJob, LegalHold
from radgov.compliance.models.retention import DataClass
from radgov.exams.models import Exam, Inference, ResultObject
from radgov.gateway.models import Instance, Study
from radgov.monitoring.models import Concordance, ConcordanceDay, Report

SPOOL = "spool"  # gateway instances' and result objects' file_ref is relative to DATA_DIR/spool


@dataclass(frozen=True)
class RowClass:
    expired: Callable[[dt.datetime], QuerySet[Any]]
    held: Callable[[QuerySet[Any], list[LegalHold]], QuerySet[Any]]  # of the expired
    remove: Callable[[list[int]], list[str]]  # the rows' files, relative to the data folder


# --- legal holds ------------------------------------------------------------------------------


def held_exams(holds: list[LegalHold]) -> Q:
    """Exams covered by any of ``holds`` (an empty Q matches nothing)."""
    covered = Q(pk__in=[])
    for hold in holds:
        if hold.scope == LegalHold.Scope.EXAM and hold.exam_id:
            covered |= Q(pk=hold.exam_id)
        elif hold.scope == LegalHold.Scope.PATIENT:
            covered |= Q(patient_id=hold.patient_id)
        elif hold.scope == LegalHold.Scope.DEPLOYMENT:
            covered |= Q(
                pk__in=Inference.objects.filter(deployment_id=hold.deployment_id).values("exam_id")
            )
        elif hold.scope == LegalHold.Scope.DATES:
            covered |= in_range("study_datetime__date", hold) | (
                Q(study_datetime__isnull=True) & in_range("created_at__date", hold)
            )
    return covered


def in_range(lookup: str, hold: LegalHold) -> Q:
    """``lookup`` (a date, or ``<date-time>__date``) within the hold's range."""
    q = Q()
    if hold.starts_on:
        q &= Q(**{f"{lookup}__gte": hold.starts_on})
    if hold.ends_on:
        q &= Q(**{f"{lookup}__lte": hold.ends_on})
    return q


def held_dates(lookup: str, holds: list[LegalHold]) -> Q:
    """Rows whose date (``lookup``) falls in a held date range."""
    covered = Q(pk__in=[])
    for hold in holds:
        if hold.scope == LegalHold.Scope.DATES:
            covered |= in_range(lookup, hold)
    return covered


def _held_by_exam(path: str, lookup: str = "") -> Callable[[QuerySet[Any], list[LegalHold]], Any]:
    """Rows held because their exam (through ``path``) is held, or (``lookup``: their own
    date) dated in a held range."""

    def held(expired: QuerySet[Any], holds: list[LegalHold]) -> QuerySet[Any]:
        covered = Q(**{f"{path}__in": Exam.objects.filter(held_exams(holds)).values("pk")})
        return expired.filter(covered | held_dates(lookup, holds) if lookup else covered)

    return held


# --- removal, shared by the classes -------------------------------------------------------


def _spool_files(refs: Any) -> list[str]:
    return [f"{SPOOL}/{ref}" for ref in refs if ref]


def _roll_up(comparisons: QuerySet[Concordance]) -> None:
    """Add the comparisons' counts per deployment, finding, day and outcome to the rollups."""
    counts = comparisons.values("deployment_id", "finding", "day", "outcome").annotate(
        n=Count("id")
    )
    for c in counts:
        key = {k: c[k] for k in ("deployment_id", "finding", "day", "outcome")}
        day = ConcordanceDay.objects.select_for_update().filter(**key)
        if not day.update(count=F("count") + c["n"]):
            ConcordanceDay.objects.create(**key, count=c["n"])


def _remove_reports(reports: QuerySet[Report]) -> None:
    _roll_up(Concordance.objects.filter(report__in=reports.values("pk")))
    reports.delete()  # their labels and comparisons with them


def _remove_instances(instances: QuerySet[Instance]) -> list[str]:
    files = _spool_files(instances.values_list("file_ref", flat=True))
    instances.delete()
    return files


# --- the classes ----------------------------------------------------------------------------


def _remove_exams(ids: list[int]) -> list[str]:
    """The exams with their inferences, result objects, the gateway's studies of them (and
    their spooled files) and their reports; identities are the purge's (they outlive exams)."""
    inferences = Inference.objects.filter(exam_id__in=ids)
    results = ResultObject.objects.filter(inference__in=inferences.values("pk"))
    refs = list(results.values_list("file_ref", flat=True))
    files = _spool_files(refs)
    results.delete()
    studies = Study.objects.filter(exam_id__in=ids)
    files += _remove_instances(Instance.objects.filter(study__in=studies.values("pk")))
    studies.delete()  # their routes with them
    _remove_reports(Report.objects.filter(exam_id__in=ids))
    _roll_up(Concordance.objects.filter(inference__in=inferences.values("pk")))
    inferences.delete()
    Exam.objects.filter(pk__in=ids).delete()
    return files


def _remove_results(ids: list[int]) -> list[str]:
    """Result objects, and the gateway's record of receiving the same files."""
    results = ResultObject.objects.filter(pk__in=ids)
    refs = [r for r in results.values_list("file_ref", flat=True) if r]
    Instance.objects.filter(is_result=True, file_ref__in=refs).delete()
    results.delete()
    return _spool_files(refs)


def _remove_spool(ids: list[int]) -> list[str]:
    return _remove_instances(Instance.objects.filter(pk__in=ids))


def _remove_report_text(ids: list[int]) -> list[str]:
    _remove_reports(Report.objects.filter(pk__in=ids))
    return []


def _remove_comparisons(ids: list[int]) -> list[str]:
    comparisons = Concordance.objects.filter(pk__in=ids)
    _roll_up(comparisons)
    comparisons.delete()
    return []


def _remove_jobs(ids: list[int]) -> list[str]:
    jobs = list(DeidJob.objects.filter(pk__in=ids))
    files = [f"deid/{job.pk}" for job in jobs] + [job.source for job in jobs if job.input_path]
    for job in jobs:
        job.delete()
    return files


def _expired_exams(cutoff: dt.datetime) -> QuerySet[Exam]:
    return Exam.objects.filter(
        Q(study_datetime__lt=cutoff) | Q(study_datetime__isnull=True, created_at__lt=cutoff)
    )


def _held_exam_rows(expired: QuerySet[Any], holds: list[LegalHold]) -> QuerySet[Any]:
    return expired.filter(held_exams(holds))


def _expired_jobs(cutoff: dt.datetime) -> QuerySet[DeidJob]:
    finished = [DeidJob.Status.DONE, DeidJob.Status.FAILED]
    return DeidJob.objects.filter(created_at__lt=cutoff, status__in=finished)


def _held_jobs(expired: QuerySet[Any], holds: list[LegalHold]) -> QuerySet[Any]:
    return expired.filter(held_dates("created_at__date", holds))


# In the order the purge takes them: the parts first, then the exams (which take whatever
# parts are left), de-identification jobs apart.
ROW_CLASSES: dict[str, RowClass] = {
    DataClass.SPOOL: RowClass(
        lambda cutoff: Instance.objects.filter(received_at__lt=cutoff, is_result=False),
        _held_by_exam("study__exam", "received_at__date"),
        _remove_spool,
    ),
    DataClass.RESULT_OBJECTS: RowClass(
        lambda cutoff: ResultObject.objects.filter(received_at__lt=cutoff),
        _held_by_exam("inference__exam"),
        _remove_results,
    ),
    DataClass.REPORTS: RowClass(
        lambda cutoff: Report.objects.filter(received_at__lt=cutoff),
        _held_by_exam("exam", "received_at__date"),
        _remove_report_text,
    ),
    DataClass.MONITORING_EVENTS: RowClass(
        lambda cutoff: Concordance.objects.filter(day__lt=cutoff.date()),
        _held_by_exam("inference__exam", "day"),
        _remove_comparisons,
    ),
    DataClass.EXAMS: RowClass(_expired_exams, _held_exam_rows, _remove_exams),
    DataClass.DEID_JOBS: RowClass(_expired_jobs, _held_jobs, _remove_jobs),
}


# --- acceptance-test case files: files only ---------------------------------------------------

CASES_FOLDER = "evaluation/incoming"  # held uploads waiting for their run (evaluation.uploads)


def case_files(cutoff: dt.datetime, holds: list[LegalHold]) -> tuple[list[str], list[str]]:
    """(expired, expired and held) cases files: uploads an acceptance-test run never took
    (a stopped worker), dated by their last change; no row names them."""
    from radgov.core import config

    folder = config.data_dir() / CASES_FOLDER
    ranges = [h for h in holds if h.scope == LegalHold.Scope.DATES]
    expired, held = [], []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        changed = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
        if not path.is_file() or changed >= cutoff:
            continue
        name = f"{CASES_FOLDER}/{path.name}"
        expired.append(name)
        day = changed.date()
        if any((h.starts_on or day) <= day <= (h.ends_on or day) for h in ranges):
            held.append(name)
    return expired, held
