"""Background jobs over the API: an operation that queues one answers 202 with the job and
its ``Location``; ``GET /api/jobs/{id}`` follows it; ``/result`` fetches its file."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from ninja.errors import HttpError

from radgov.core import jobs
from radgov.core.errors import Conflict, NotFound
from radgov.core.models import Job

router = Router(tags=["jobs"])


class JobOut(Schema):
    id: int
    kind: str
    status: str
    progress: int
    attempts: int
    error: str
    created_at: datetime
    finished_at: datetime | None
    result: str | None  # where to fetch the file, or the record made

    @staticmethod
    def resolve_result(job: Job) -> str | None:
        if job.status != Job.Status.DONE:
            return None
        return f"/api/jobs/{job.pk}/result" if job.result_name else job.result_url or None


def job_accepted(job: Job) -> HttpResponse:
    """202 with the job and its Location."""
    response = HttpResponse(
        JobOut.from_orm(job).model_dump_json(), status=202, content_type="application/json"
    )
    response["Location"] = f"/api/jobs/{job.pk}"
    return response


def accepted(request: HttpRequest, kind: str, params: dict[str, object]) -> HttpResponse:
    """Queue a job for the caller: 202 with the job and its Location; 429 over the limit."""
    try:
        job = jobs.submit(request.user, kind, params)
    except jobs.JobError as exc:
        raise HttpError(429, str(exc)) from None
    return job_accepted(job)


def _job(request: HttpRequest, job_id: int) -> Job:
    job = jobs.job_for(request.user, job_id)
    if job is None:
        raise NotFound(f"no job {job_id} of yours")
    return job


@router.get("/{job_id}", response=JobOut)
def get_job(request: HttpRequest, job_id: int) -> Job:
    return _job(request, job_id)


@router.get("/{job_id}/result")
def get_job_result(request: HttpRequest, job_id: int) -> HttpResponse:
    """The job's file (recorded as an export); 409 while it is not done."""
    job = _job(request, job_id)
    if job.status != Job.Status.DONE or not job.result_name:
        raise Conflict(f"job {job_id} is {job.status}; it has no file to fetch")
    return jobs.result_response(request.user, job)  # type: ignore[no-any-return]
