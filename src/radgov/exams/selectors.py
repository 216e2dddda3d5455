"""Reads of the record of AI use, restricted to who may see them and audited as reads of
patient data (docs/exams.md, "Who may read what").  Lists never decrypt an identifier; the
study view decrypts them for the roles allowed, in the same audited read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Count, F, Prefetch, QuerySet
from django.utils import timezone

from radgov.core.paging import PageQuery, paginate
from radgov.exams import access, audit, visibility
from radgov.exams.errors import ExamError, Problem
from radgov.exams.models import Exam, Inference, StatusChange
from radgov.exams.statuses import Status

INFERENCE_RELATED = ("exam", "deployment__model_version__product__company")


@dataclass(frozen=True)
class Filters:
    """What a list is narrowed to: by deployment, status, acquisition site, modality and
    station, and study dates (``since`` and ``until`` inclusive, in the server's time zone)."""

    deployment: int | None = None
    status: str = ""
    site: str = ""
    modality: str = ""
    station: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> Filters:
        """From query parameters (text); ``ExamError`` names each bad parameter."""
        problems: list[Problem] = []
        values: dict[str, Any] = {}

        def text(name: str) -> str:
            value = params.get(name)
            return "" if value is None else str(value).strip()

        if text("deployment"):
            try:
                values["deployment"] = int(text("deployment"))
            except ValueError:
                problems.append(Problem("deployment", "must be a deployment's number"))
        status = text("status")
        if status and status not in Status.values:
            problems.append(Problem("status", f"must be one of {', '.join(Status.values)}"))
        values["status"] = status
        for name in ("since", "until"):
            if text(name):
                try:
                    values[name] = dt.date.fromisoformat(text(name))
                except ValueError:
                    problems.append(Problem(name, "must be a date (YYYY-MM-DD)"))
        values.update(site=text("site"), modality=text("modality").upper(), station=text("station"))
        if problems:
            raise ExamError(problems)
        return cls(**values)

    def for_audit(self) -> dict[str, str]:
        """The filters used, for the audit trail: what was typed (site, modality, station)
        only as "given", since a person may type anything into a box."""
        typed = ("site", "modality", "station")
        return {k: "given" if k in typed else v for k, v in self.as_params().items()}

    def as_params(self) -> dict[str, str]:
        """The filters that are set, as query parameters (for links and the audit entry)."""
        return {k: str(v) for k, v in asdict(self).items() if v not in (None, "")}

    def exam_filters(self, prefix: str = "") -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.site:
            found[f"{prefix}site"] = self.site
        if self.modality:
            found[f"{prefix}modality"] = self.modality
        if self.station:
            found[f"{prefix}station_name"] = self.station
        if self.since:
            found[f"{prefix}study_datetime__gte"] = _start_of(self.since)
        if self.until:
            found[f"{prefix}study_datetime__lt"] = _start_of(self.until + dt.timedelta(days=1))
        return found

    def inference_filters(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.deployment is not None:
            found["deployment_id"] = self.deployment
        if self.status:
            found["status"] = self.status
        return found


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def _inference_rows(filters: Filters) -> QuerySet[Inference]:
    return Inference.objects.select_related(*INFERENCE_RELATED).filter(
        **filters.inference_filters(), **filters.exam_filters("exam__")
    )


def _exam_rows(filters: Filters) -> QuerySet[Exam]:
    rows = Exam.objects.filter(**filters.exam_filters())
    if filters.inference_filters():
        rows = rows.filter(
            pk__in=Inference.objects.filter(**filters.inference_filters()).values("exam_id")
        )
    return rows.prefetch_related(
        Prefetch(
            "inferences",
            queryset=Inference.objects.select_related(
                "deployment__model_version__product__company"
            ).order_by("deployment_id"),
        )
    ).order_by(F("study_datetime").desc(nulls_last=True), "-id")


def inferences(
    user: Any, filters: Filters, page: PageQuery, *, what: str = "inference list"
) -> dict[str, Any]:
    """A page of inferences (core's paging), the most recently moved first; audited."""
    access.require_read(user)
    found = paginate(_inference_rows(filters).order_by("-status_at", "-id"), page)
    _audit_list(user, [i.exam_id for i in found["items"]], what, found["total"], filters)
    visibility.mark(user, found["items"], what=what)
    return found


def exams(user: Any, filters: Filters, page: PageQuery) -> dict[str, Any]:
    """A page of exams (core's paging) with their inferences, the latest study first;
    audited."""
    access.require_read(user)
    found = paginate(_exam_rows(filters), page)
    _audit_list(user, [e.pk for e in found["items"]], "exam list", found["total"], filters)
    visibility.mark(user, [i for e in found["items"] for i in e.inferences.all()], what="exam list")
    return found


def every_exam(user: Any, filters: Filters) -> Iterator[Exam]:
    """All exams the filters admit, with their inferences (``radgov studies``); audited."""
    access.require_read(user)
    rows = list(_exam_rows(filters).iterator(chunk_size=2000))
    _audit_list(user, [e.pk for e in rows], "study listing", len(rows), filters)
    return iter(rows)


def _audit_list(user: Any, ids: list[int], what: str, total: int, filters: Filters) -> None:
    """Every list read is recorded, an empty one too (a search is an access)."""
    audit.read_exams(user, ids, what=what, total=total, filters=filters.for_audit())


def status_counts(user: Any, filters: Filters) -> dict[str, int]:
    """How many inferences are in each status, under every filter but the status."""
    access.require_read(user)
    counts = dict.fromkeys(Status.values, 0)
    rows = _inference_rows(Filters(**{**asdict(filters), "status": ""}))
    for row in rows.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


@dataclass
class StudyView:
    exam: Exam
    inferences: list[Inference]
    identifiers: dict[str, str] | None = None  # None: the role may not see them


def study(user: Any, exam_id: int, *, what: str = "study status") -> StudyView | None:
    """One exam with every inference, its history and result objects; identifiers only for
    the roles that may see them, AI output only where the release policy shows it to
    ``user`` (``visibility``).  The read is audited (saying whether they were shown)."""
    access.require_read(user)
    exam = Exam.objects.select_related("patient", "accession").filter(pk=exam_id).first()
    if exam is None:
        return None
    rows = list(
        exam.inferences.select_related("deployment__model_version__product__company")
        .prefetch_related(
            Prefetch("history", queryset=StatusChange.objects.order_by("at", "id")),
            "results",
            "deliveries",
        )
        .order_by("deployment_id")
    )
    view = StudyView(exam=exam, inferences=rows)
    if access.may_see_identifiers(user):
        view.identifiers = _identifiers(exam)
    audit.read_exams(user, [exam.pk], what=what, identifiers=view.identifiers is not None)
    visibility.mark(user, rows, what=what)
    return view


def _identifiers(exam: Exam) -> dict[str, str]:
    found = {"study_instance_uid": exam.study_uid_encrypted.reveal()}
    if exam.patient is not None:
        found["patient_id"] = exam.patient.mrn_encrypted.reveal()
        found["patient_id_issuer"] = exam.patient.issuer
    if exam.accession is not None:
        found["accession_number"] = exam.accession.accession_number_encrypted.reveal()
    return found
