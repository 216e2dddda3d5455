"""De-identification jobs over the API: create (JSON for a server folder, multipart for an
upload), list, get with counts, and the report (a recorded read)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import (
    File,
    FilterLookup,
    FilterSchema,
    Form,
    Query,
    Router,
    Schema,
    Status,
    UploadedFile,
)

from radgov.compliance import selectors, services
from radgov.compliance.models import DeidJob
from radgov.core.errors import Conflict, NotFound
from radgov.core.paging import Page, PageQuery, paginate

router = Router(tags=["compliance"])


class DeidJobOut(Schema):
    id: int
    purpose: str
    source_kind: str
    options: list[str]
    status: str
    files_total: int
    files: int
    ok: int
    quarantined: int
    failed: int
    error: str
    input_deleted: bool
    created_by: str
    shared_with: list[str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ShareIn(Schema):
    username: str


class DeidJobIn(Schema):
    purpose: str
    source: str
    options: list[str] = []


def _out(job: DeidJob) -> DeidJobOut:
    return DeidJobOut(
        id=job.pk,
        purpose=job.purpose,
        source_kind=job.source_kind,
        options=list(job.options),
        status=job.status,
        files_total=job.files_total,
        files=job.files,
        ok=job.ok,
        quarantined=job.quarantined,
        failed=job.failed,
        error=job.error,
        input_deleted=job.input_deleted,
        created_by=job.owner_name,
        shared_with=[u.username for u in job.shared_with.all()],
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def _job(request: HttpRequest, job_id: int) -> DeidJob:
    job = selectors.job_for(request.user, job_id)
    if job is None:
        raise NotFound(f"no de-identification job {job_id}")
    return job


@router.post("/deid/jobs", response={201: DeidJobOut})
def create_deid_job(request: HttpRequest, payload: DeidJobIn) -> Status[DeidJobOut]:
    """Queue a job over a server folder inside RADGOV_DEID_ROOTS."""
    job = services.create_job(
        request.user,
        purpose=payload.purpose,
        source_kind=DeidJob.SourceKind.SERVER_FOLDER,
        source=payload.source,
        options=payload.options,
    )
    return Status(201, _out(job))


@router.post("/deid/jobs/upload", response={201: DeidJobOut})
def upload_deid_job(
    request: HttpRequest,
    purpose: Form[str],
    files: File[list[UploadedFile]],
    options: Form[list[str]] = [],  # noqa: B006 - ninja reads the default, never mutates it
) -> Status[DeidJobOut]:
    """Queue a job over uploaded DICOM files or a .zip (multipart/form-data: purpose, files,
    options repeated).  The upload is deleted after a successful run."""
    job = services.create_job(
        request.user,
        purpose=purpose,
        source_kind=DeidJob.SourceKind.UPLOAD,
        files=files,
        options=options,
    )
    return Status(201, _out(job))


class DeidJobFilter(FilterSchema):
    status: str | None = None
    purpose: Annotated[str | None, FilterLookup("purpose__icontains")] = None


@router.get("/deid/jobs", response=Page[DeidJobOut])
def list_deid_jobs(
    request: HttpRequest, filters: Query[DeidJobFilter], page: Query[PageQuery]
) -> dict[str, Any]:
    return paginate(filters.filter(selectors.jobs_for(request.user)), page, _out)


@router.get("/deid/jobs/{job_id}", response=DeidJobOut)
def get_deid_job(request: HttpRequest, job_id: int) -> DeidJobOut:
    return _out(_job(request, job_id))


@router.get("/deid/jobs/{job_id}/report", response=dict[str, Any])
def get_deid_report(request: HttpRequest, job_id: int) -> dict[str, Any]:
    """The report of a finished job: summary and one record per file (source, output, status,
    reason).  Reading it is recorded in the audit trail."""
    job = _job(request, job_id)
    if not job.report:
        raise Conflict(f"job {job_id} is {job.status}; the report exists once it is done")
    return selectors.read_report(request.user, job)


@router.post("/deid/jobs/{job_id}/requeue", response=DeidJobOut)
def requeue_deid_job(request: HttpRequest, job_id: int) -> DeidJobOut:
    """Queue again a job that failed, or that a stopped worker left queued or running."""
    return _out(services.requeue_job(request.user, _job(request, job_id)))


@router.post("/deid/jobs/{job_id}/share", response=DeidJobOut)
def share_deid_job(request: HttpRequest, job_id: int, payload: ShareIn) -> DeidJobOut:
    """Let another person who may de-identify see the job, its report and its output (the
    owner or compliance only; recorded in the audit trail)."""
    job = services.share_job(request.user, _job(request, job_id), username=payload.username)
    return _out(job)


# The privacy officer's operations (retention, holds, the purge's plan, incidents).
from radgov.compliance import privacy_api  # noqa: E402,F401
