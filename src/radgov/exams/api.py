"""The exams API (mounted at /api/exams/): lists that filter and page, audited reads of one
exam or inference, and the writes an orchestrator that is not radgov's gateway reports with
(an exam, an inference, its moves, outputs and result objects, a batch of events, a file).
Refusals are problem+json: 403 when the person may not, 404 for what does not exist, 409
when a source disagrees with what is recorded, 422 naming every bad field (``errors``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from radgov.core.errors import NotFound, Refused, check_upload
from radgov.core.paging import PageQuery
from radgov.exams import importer, selectors, services, visibility
from radgov.exams.lookups import row_or_404
from radgov.exams.metadata import StudyMetadata
from radgov.exams.models import Exam, Inference
from radgov.exams.outputs import Outputs
from radgov.exams.schemas import (
    BatchOut,
    EventsIn,
    ExamDetail,
    ExamPage,
    InferenceIn,
    InferenceOut,
    InferencePage,
    MovedOut,
    MoveIn,
    OutputsIn,
    RecordedOut,
    ResultIn,
    ResultOut,
    StudyIn,
    exam_out,
    inference_brief,
    inference_out,
    inference_row,
    result_out,
)
from radgov.exams.statuses import Source

router = Router(tags=["exams"])


def _filters(request: HttpRequest) -> selectors.Filters:
    return selectors.Filters.parse(request.GET)


def _fresh(request: HttpRequest, inference: Inference) -> dict[str, Any]:
    """The inference as a write left it, its AI output as the release policy shows it."""
    row = (
        Inference.objects.select_related("deployment__model_version__product__company")
        .prefetch_related("history", "results")
        .get(pk=inference.pk)
    )
    visibility.mark(request.user, [row], what="api answer to a write")
    return inference_out(row)


def _page(page: dict[str, Any], convert: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    return {**page, "items": [convert(item) for item in page["items"]]}


# --- reads ----------------------------------------------------------------------------------


@router.get("/exams", response=ExamPage)
def list_exams(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """Exams with each inference's status, the latest study first.  Filters: deployment,
    status (of an inference), site, modality, station, since and until (study dates)."""
    found = selectors.exams(request.user, _filters(request), page)
    return _page(found, exam_out)


@router.get("/exams/{exam_id}", response=ExamDetail)
def get_exam(request: HttpRequest, exam_id: int) -> dict[str, Any]:
    """One exam with every inference, its history and result objects; identifiers for the
    roles that may see them.  The read is recorded in the audit trail."""
    view = selectors.study(request.user, exam_id, what="api exam")
    if view is None:
        raise NotFound(f"no exam {exam_id}")
    rows = [inference_out(i) for i in view.inferences]
    return exam_out(view.exam, rows) | {"identifiers": view.identifiers}


@router.get("/inferences", response=InferencePage)
def list_inferences(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """Inferences, the most recently moved first, with the same filters as the exams."""
    found = selectors.inferences(request.user, _filters(request), page)
    return _page(found, inference_row)


@router.get("/inferences/{inference_id}", response=InferenceOut)
def get_inference(request: HttpRequest, inference_id: int) -> dict[str, Any]:
    """One inference with its history and result objects (an audited read of its exam)."""
    row = row_or_404(Inference, inference_id)
    view = selectors.study(request.user, row.exam_id, what="api inference")
    return next(inference_out(i) for i in view.inferences if i.pk == row.pk)


# --- writes ---------------------------------------------------------------------------------


@router.post("/exams", response={200: RecordedOut, 201: RecordedOut})
def create_exam(request: HttpRequest, payload: StudyIn) -> Any:
    """Record a study (idempotent by Study Instance UID): 201 when new, 200 when it was
    there (``outcome`` says whether this enriched it); 409 names the fields that disagree."""
    recorded = services.record_exam(
        request.user,
        StudyMetadata(**payload.model_dump()),
        source=Source.API,
    )
    rows = list(recorded.exam.inferences.select_related("deployment"))
    visibility.mark(request.user, rows, what="api answer to a write")
    body = {
        "outcome": recorded.outcome,
        "exam": exam_out(recorded.exam, [inference_brief(i) for i in rows]),
    }
    return Status(201 if recorded.outcome == "created" else 200, body)


@router.post("/exams/{exam_id}/inferences", response={200: InferenceOut, 201: InferenceOut})
def record_inference(request: HttpRequest, exam_id: int, payload: InferenceIn) -> Any:
    """The inference of a deployment on this exam, created as ``received`` if new."""
    from radgov.inventory.models import Deployment

    exam = row_or_404(Exam, exam_id)
    deployment = Deployment.objects.filter(pk=payload.deployment_id).first()
    if deployment is None:
        raise Refused(f"deployment_id: no deployment {payload.deployment_id}")
    existed = Inference.objects.filter(exam=exam, deployment=deployment).exists()
    row = services.record_inference(request.user, exam, deployment, at=payload.status_at)
    return Status(200 if existed else 201, _fresh(request, row))


@router.post("/inferences/{inference_id}/moves", response=MovedOut)
def move_inference(request: HttpRequest, inference_id: int, payload: MoveIn) -> Any:
    """Move to another status (the table in docs/exams.md); the same move or ``event_id``
    again changes nothing (``changed`` false)."""
    data = payload.model_dump()
    moved = services.move(
        request.user,
        row_or_404(Inference, inference_id),
        data.pop("status"),
        at=data.pop("status_at"),
        **data,
    )
    return {"changed": moved.changed, "inference": _fresh(request, moved.inference)}


@router.post("/inferences/{inference_id}/outputs", response=MovedOut)
def record_outputs(request: HttpRequest, inference_id: int, payload: OutputsIn) -> Any:
    """The model's outputs, moving the inference to ``inferred``."""
    data = payload.model_dump()
    at, event_id = data.pop("status_at"), data.pop("event_id")
    moved = services.record_outputs(
        request.user,
        row_or_404(Inference, inference_id),
        Outputs(**data),
        at=at,
        event_id=event_id,
    )
    return {"changed": moved.changed, "inference": _fresh(request, moved.inference)}


@router.post("/inferences/{inference_id}/results", response={201: ResultOut})
def add_result(request: HttpRequest, inference_id: int, payload: ResultIn) -> Any:
    """A DICOM object the model sent back (by SOP Instance UID; stored once)."""
    row = services.add_result_object(
        request.user,
        row_or_404(Inference, inference_id),
        **payload.dict(),
    )
    return Status(201, result_out(row))


@router.post("/events", response=BatchOut)
def record_events(request: HttpRequest, payload: EventsIn) -> Any:
    """A batch of events (the bulk format's rows as JSON), all or nothing; each problem is
    named by its place (``events[3].kvp``)."""
    events = [item.as_event() for item in payload.events]
    result = services.record_events(request.user, events, source=Source.API)
    return result.as_dict()


@router.post("/import", response=BatchOut)
def import_file(request: HttpRequest, file: File[UploadedFile]) -> Any:
    """Upload a CSV or Parquet file in the bulk format (multipart ``file``), at most
    RADGOV_MAX_UPLOAD_MB; all or nothing, each problem named by row and column."""
    check_upload(file.size, "file")
    result = importer.import_upload(request.user, file, name=file.name or "")
    return result.as_dict()


# Review before release (issue 16) registers its routes on this router.
from radgov.exams import review_api  # noqa: E402,F401
