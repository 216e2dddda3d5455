"""Background jobs: one mechanism for expensive work a person asks for on a page or the API.

A PDF of the conformance audit, of meeting notes or of an acceptance-test report, and an
acceptance-test run over an uploaded cases file, are jobs: the request queues one and answers
at once; the worker runs it (``radgov.core.tasks.run_job``); the page polls its status; the
result (a file, or the record it made) is fetched by its owner, and fetching a file is an
audited export.  The shape is ``compliance.services.run_job``'s: a status, attempts, a
heartbeat, progress, the error in words, and a job left stale by a stopped worker can be queued
again (by its owner, or by the periodic task).

An app declares its kinds in ``radgov/<app>/jobs.py`` with :func:`kind`::

    @kind("governance.conformance_pdf", label="conformance audit (PDF)")
    def conformance_pdf(job: Job, progress: Callable[[int], None]) -> Result: ...

``params`` hold ids, never patient data.  A person may have at most
``RADGOV_JOBS_PER_USER`` jobs queued or running at once.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from django.db import models, transaction
from django.utils import timezone

from radgov.core import config
from radgov.core.models import Job
from radgov.core.registries import swapped
from radgov.core.services import service

logger = logging.getLogger("radgov.jobs")

STALE_AFTER = timedelta(minutes=10)
MAX_ATTEMPTS = 3


J = TypeVar("J", bound=models.Model)


class JobError(ValueError):
    """A job that may not be queued, or a kind's refusal; the message says why."""


class Superseded(RuntimeError):
    """The job was queued again and started elsewhere: this run stops saving."""


@dataclass(frozen=True)
class Result:
    """What a job made: a file (``body``, offered as ``name``) or a record (``url``)."""

    body: bytes | None = None
    name: str = ""
    content_type: str = "application/octet-stream"
    url: str = ""


Runner = Callable[[Job, Callable[[int], None]], Result]


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    run: Runner


class Kinds:
    """The registry of job kinds.  Each app declares its own in ``radgov/<app>/jobs.py`` with
    :func:`kind`, read on first use; a name is declared once.  Tests replace the kinds with
    :meth:`override`."""

    def __init__(self) -> None:
        self._kinds: dict[str, Kind] = {}

    def register(self, name: str, *, label: str, run: Runner) -> None:
        known = self._kinds.get(name)
        if known is not None and known.run is not run:
            raise ValueError(f"a job kind named {name!r} is declared already")
        self._kinds[name] = Kind(name=name, label=label, run=run)

    def get(self, name: str) -> Kind | None:
        """The kind named ``name`` (None: no app declares it)."""
        from radgov.core.policy import DOMAIN_APPS

        for app in DOMAIN_APPS:  # imported once each: a module's declarations run once
            if importlib.util.find_spec(f"radgov.{app}.jobs") is not None:
                importlib.import_module(f"radgov.{app}.jobs")
        return self._kinds.get(name)

    def override(self, *kinds: Kind) -> AbstractContextManager[Kinds]:
        """For tests: only ``kinds`` until the block ends (the apps' own are loaded first)."""
        self.get("")
        return swapped(self, "_kinds", {k.name: k for k in kinds})


KINDS = Kinds()


def kind(name: str, *, label: str) -> Callable[[Runner], Runner]:
    """Declare a kind of job (in ``radgov/<app>/jobs.py``)."""

    def register(run: Runner) -> Runner:
        KINDS.register(name, label=label, run=run)
        return run

    return register


def label(job: Job) -> str:
    found = KINDS.get(job.kind)
    return found.label if found else job.kind


# ------------------------------------------------------------------------------ queue
def _enqueue(job_id: int) -> None:
    from radgov.core.tasks import run_job_task

    try:
        run_job_task(job_id)
    except Exception as exc:  # the job stays queued and can be queued again: nothing lost
        logger.warning("job %s could not be queued (%s)", job_id, type(exc).__name__)


@service
def submit(user: Any, kind_name: str, params: dict[str, Any] | None = None) -> Job:
    """Queue a job of ``kind_name`` for ``user``; refused over the per-person limit."""
    if KINDS.get(kind_name) is None:
        raise JobError(f"unknown kind of job {kind_name!r}")
    limit = config.get_int("RADGOV_JOBS_PER_USER")
    active = Job.objects.filter(owner=user, status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
    if active.count() >= limit:
        raise JobError(
            f"you have {limit} reports or runs being prepared already (RADGOV_JOBS_PER_USER); "
            "wait for one of them to finish, then ask again"
        )
    job = Job.objects.create(owner=user, kind=kind_name, params=params or {})
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def requeue_refusal(job: Job, *, now: Any = None) -> str | None:
    """Why the job cannot be queued again now, or None if it can."""
    if job.status == Job.Status.DONE:
        return "the job is done"
    if job.status == Job.Status.FAILED:
        return None
    last = job.heartbeat_at or job.started_at or job.created_at
    if (now or timezone.now()) - last >= STALE_AFTER:
        return None
    minutes = int(STALE_AFTER.total_seconds() // 60)
    return f"the job is {job.status} and was heard from less than {minutes} minutes ago"


@service
def requeue(user: Any, job: Job) -> Job:
    """Queue again a failed job, or one a stopped worker left queued or running."""
    job = Job.objects.select_for_update().get(pk=job.pk)
    refusal = requeue_refusal(job)
    if refusal:
        raise JobError(refusal)
    job.status, job.error = Job.Status.QUEUED, ""
    job.save(update_fields=["status", "error"])
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def requeue_stale() -> int:
    """Queue again every job a stopped worker left behind (the periodic task); a job that
    was started ``MAX_ATTEMPTS`` times fails instead.  Returns how many were queued."""
    queued = 0
    for job in Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]):
        if requeue_refusal(job) is not None:
            continue
        if job.attempts >= MAX_ATTEMPTS:
            _fail(job.pk, job.attempts, f"stopped {job.attempts} times without finishing")
            continue
        requeue(job.owner, job)
        queued += 1
    return queued


# ------------------------------------------------------------------------------ run
@service
def _start(job_id: int) -> Job | None:
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != Job.Status.QUEUED:
        return None  # gone, running elsewhere, or finished
    job.status = Job.Status.RUNNING
    job.attempts += 1
    job.started_at = job.heartbeat_at = timezone.now()
    job.progress, job.error, job.finished_at = 0, "", None
    job.save()
    return job


def owned(model: type[J], job_id: int, attempt: int, *, attempts: str = "attempts") -> J:
    """The job's row, locked, while ``attempt`` (counted in the field ``attempts``) is its
    running attempt: a run that was superseded stops saving (``Superseded``)."""
    job = model._default_manager.select_for_update().get(pk=job_id)
    if getattr(job, attempts) != attempt or job.status != "running":
        raise Superseded(f"job {job_id} attempt {attempt} is no longer the running one")
    return job


@service
def _progress(job_id: int, attempt: int, percent: int) -> None:
    job = owned(Job, job_id, attempt)
    job.progress = max(0, min(99, int(percent)))
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["progress", "heartbeat_at"])


@service
def _finish(job_id: int, attempt: int, result: Result) -> Job:
    job = owned(Job, job_id, attempt)
    if result.body is not None:
        job.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = job.folder / "result.tmp"
        tmp.write_bytes(result.body)
        tmp.replace(job.folder / "result")
        job.result_name, job.result_type = result.name, result.content_type
    job.result_url = result.url
    job.status, job.progress = Job.Status.DONE, 100
    job.finished_at = job.heartbeat_at = timezone.now()
    job.save()
    return job


@service
def _fail(job_id: int, attempt: int, reason: str) -> Job | None:
    job = Job.objects.select_for_update().get(pk=job_id)
    if job.attempts != attempt:
        return None
    job.status, job.error = Job.Status.FAILED, reason[:1000]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])
    return job


def run(job_id: int) -> Job | None:
    """Run a queued job (the worker's task calls this), as its owner; None if it was not
    queued any more.  A kind's refusal (a ``ValueError``) is the error in words; anything
    else is named by its type only (its message may hold data)."""
    from radgov.core.context import ActingContext, acting_as

    job = _start(job_id)
    if job is None:
        return None
    attempt = job.attempts
    runner = KINDS.get(job.kind)
    try:
        if runner is None:
            raise JobError(f"unknown kind of job {job.kind!r}")
        with acting_as(ActingContext(channel="worker", request=_AsOwner(job.owner))):
            result = runner.run(job, lambda percent: _progress(job_id, attempt, percent))
        return _finish(job_id, attempt, result)
    except Superseded:
        logger.warning("job %s was queued again while running; stopped", job_id)
        return None
    except (ValueError, PermissionError) as exc:
        return _fail(job_id, attempt, str(exc))
    except Exception as exc:
        logger.warning("job %s failed (%s)", job_id, type(exc).__name__, exc_info=True)
        return _fail(job_id, attempt, f"the work stopped ({type(exc).__name__})")


@dataclass(frozen=True)
class _AsOwner:
    """Stands in for the request in the worker: the audit trail names the job's owner."""

    user: Any


# ------------------------------------------------------------------------------ read
def visible_jobs(user: Any) -> Any:
    """The person's own jobs (a job and its result are its owner's)."""
    if user is None or not user.is_authenticated:
        return Job.objects.none()
    return Job.objects.filter(owner=user)


def job_for(user: Any, job_id: int) -> Job | None:
    return visible_jobs(user).filter(pk=job_id).first()


def result_response(user: Any, job: Job) -> Any:
    """The job's file as a download, recorded as an export (its owner only)."""
    from radgov.core.exports import export_response

    path = job.result_path
    if job.owner_id != user.pk or job.status != Job.Status.DONE or path is None:
        raise JobError("no file to download")
    return export_response(
        path.read_bytes(),
        filename=job.result_name,
        content_type=job.result_type,
        obj=job,
        detail={"kind": job.kind, **job.params},  # what was exported: ids, never patient data
    )


def delete_results_older_than(age: timedelta) -> int:
    """Remove the files of jobs finished longer ago than ``age`` (they can be made again)."""
    old = Job.objects.filter(status=Job.Status.DONE, finished_at__lt=timezone.now() - age)
    removed = 0
    for job in old.exclude(result_name=""):
        if job.folder.exists():
            shutil.rmtree(job.folder, ignore_errors=True)
            removed += 1
    return removed
