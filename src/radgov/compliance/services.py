"""De-identification jobs: create, run, re-queue; and ``deidentify_for`` for other apps (the
acceptance-testing import).  The one front door: a job from a page or the API runs in the
worker, ``radgov deid`` records a console job (:func:`console_job`) and runs it at once, and
both go through :func:`run_job` with their :class:`Work` (the key, the site's rules, how many
processes, where the encrypted re-identification table goes).

Every change is a service; the job's saves are its audit entries.  The worker saves progress
at most once per ``PROGRESS_FILES`` files or ``PROGRESS_SECONDS`` seconds (each save is an
audit entry), records an "import" (110107) when it starts reading the source, and never puts
a path or file name from the source into the audit trail or a message: counts only.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from radgov.compliance.deid_options import job_options, run_settings, site_config
from radgov.compliance.deid_sources import (
    Located,
    SourceError,
    Upload,
    discard,
    locate_app_folder,
    locate_server_folder,
    recheck,
    stage_upload,
)
from radgov.compliance.models import DeidJob
from radgov.core import config
from radgov.core.audit import Action, EventCode, record
from radgov.core.errors import Conflict, Refused
from radgov.core.jobs import Superseded, owned
from radgov.core.services import service
from radgov.dicom.deid.config import ConfigError, SiteConfig
from radgov.dicom.deid.mapping import write_mapping
from radgov.dicom.deid.profile import Option
from radgov.dicom.deid.runner import RunReport, mapping_document, run

logger = logging.getLogger("radgov.compliance")

PROGRESS_FILES = 50
PROGRESS_SECONDS = 2.0
STALE_AFTER = timedelta(minutes=10)
PURPOSE_MAX = 300
MAPPING_NAME = "mapping.rgdeid"  # a job's encrypted re-identification table, in its folder


class DeidJobError(Refused):
    """A request about a de-identification job that breaks a rule; the message says which."""


class NotNow(DeidJobError, Conflict):
    """The job's state does not allow it now (409), e.g. a requeue of a job still running."""


# ------------------------------------------------------------------------------ create
def _purpose(text: str) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise DeidJobError(
            "say what the de-identification is for (purpose), e.g. 'local acceptance testing "
            "of ICH triage v2'"
        )
    if len(text) > PURPOSE_MAX:
        raise DeidJobError(f"the purpose is longer than {PURPOSE_MAX} characters")
    return text


def _site() -> SiteConfig:
    try:
        return site_config()
    except ConfigError as exc:
        raise DeidJobError(
            f"the site configuration (RADGOV_DEID_CONFIG) is not valid: {exc}"
        ) from None


def _options(names: Iterable[str]) -> list[str]:
    try:
        return [o.cli_name for o in job_options(names, _site())]
    except ValueError as exc:
        raise DeidJobError(str(exc)) from None


def _enqueue(job_id: int) -> None:
    from radgov.compliance.tasks import run_deid_job

    try:
        run_deid_job(job_id)
    except Exception as exc:  # the job stays queued and can be re-queued: nothing is lost
        logger.warning(
            "de-identification job %s could not be queued (%s); re-queue it from its page",
            job_id,
            type(exc).__name__,
        )


def _new_job(
    user: Any,
    *,
    purpose: str,
    kind: str,
    options: list[str],
    located: Located | None = None,
    staging: Path | None = None,
) -> DeidJob:
    job = DeidJob(
        created_by=user,
        purpose=purpose,
        source_kind=kind,
        source_root=located.root if located else "",
        source=located.relative if located else "",
        options=options,
    )
    job.save()
    try:
        job.output = f"deid/{job.pk}/output"
        if staging is not None:
            discard(job.folder)  # a folder left by a rolled-back creation with the same id
            job.folder.mkdir(parents=True, mode=0o700)
            os.replace(staging, job.folder / "input")
            job.source = f"deid/{job.pk}/input"
        job.save(update_fields=["output", "source"])
    except BaseException:
        discard(job.folder)
        raise
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


@service
def create_job(
    user: Any,
    *,
    purpose: str,
    source_kind: str,
    source: str | None = None,
    files: Sequence[Upload] | None = None,
    options: Iterable[str] = (),
) -> DeidJob:
    """Queue a de-identification job over a server folder (inside ``RADGOV_DEID_ROOTS``) or
    over uploaded DICOM files / .zip.  A refused source creates nothing."""
    purpose = _purpose(purpose)
    names = _options(options)
    if source_kind == DeidJob.SourceKind.SERVER_FOLDER:
        if files:
            raise DeidJobError("a server-folder job takes a folder, not uploaded files")
        try:
            located = locate_server_folder(source or "")
        except SourceError as exc:
            raise DeidJobError(str(exc)) from None
        return _new_job(user, purpose=purpose, kind=source_kind, options=names, located=located)
    if source_kind == DeidJob.SourceKind.UPLOAD:
        if source:
            raise DeidJobError("an upload job takes files, not a server folder")
        try:
            staging = stage_upload(files or [])
        except SourceError as exc:
            raise DeidJobError(str(exc)) from None
        try:
            return _new_job(user, purpose=purpose, kind=source_kind, options=names, staging=staging)
        finally:
            discard(staging)  # moved into the job's folder unless something failed
    raise DeidJobError("the source kind must be 'upload' or 'server_folder'")


@service
def deidentify_for(
    user: Any, *, purpose: str, source_folder: str | Path, options: Iterable[str] = ()
) -> DeidJob:
    """For other radgov apps (the acceptance-testing import): queue a job over a folder that
    is either inside ``RADGOV_DEID_ROOTS`` or the app's own folder inside the data folder.

    Returns the queued job; its output will be ``job.output_path``.  A caller already in a
    worker may run it at once with ``run_job(job.pk)`` after this transaction commits (the
    queued task then finds it done and does nothing)."""
    purpose = _purpose(purpose)
    names = _options(options)
    try:
        located = locate_server_folder(str(source_folder))
        kind = DeidJob.SourceKind.SERVER_FOLDER
    except SourceError:
        try:
            located = locate_app_folder(source_folder)
        except SourceError as exc:
            raise DeidJobError(str(exc)) from None
        kind = DeidJob.SourceKind.APP_FOLDER
    return _new_job(user, purpose=purpose, kind=kind, options=names, located=located)


@service
def console_job(
    operator: Any, *, purpose: str, source: Path, output: Path, options: Iterable[Option]
) -> DeidJob:
    """Record the job ``radgov deid`` runs at once with :func:`run_job` and its own
    :class:`Work` (``operator`` None: the operator at the console).  Never queued: the worker
    could not use the command's key file nor reach its folders."""
    job = DeidJob(
        created_by=operator,
        purpose=_purpose(purpose),
        source_kind=DeidJob.SourceKind.CONSOLE,
        source=str(source.resolve()),
        output=str(output.resolve()),
        options=sorted({o.cli_name for o in options}),
    )
    job.save()
    return job


# ------------------------------------------------------------------------------ share
@service
def share_job(user: Any, job: DeidJob, *, username: str) -> DeidJob:
    """Let another person who may de-identify see the job, its report and its output.  Only
    the owner or the compliance role shares; the change is the job's audited many-to-many
    update (who shared, with whom)."""
    from radgov.accounts.models import User
    from radgov.compliance.permissions import DEID
    from radgov.compliance.selectors import may_share

    if not may_share(user, job):
        raise DeidJobError("only the person who started the job, or compliance, may share it")
    person = User.objects.filter(username__iexact=(username or "").strip(), is_active=True).first()
    if person is None:
        raise DeidJobError("no such person among the active accounts")
    if not DEID.allows(person.role):
        raise DeidJobError(
            "that person's role may not use de-identification (it holds PHI); share with "
            "informatics, data-science, compliance or administrator staff"
        )
    if person.pk != job.created_by_id:
        job.shared_with.add(person)
    return job


# ------------------------------------------------------------------------------ re-queue
def is_stale(job: DeidJob, *, now: Any = None) -> bool:
    """The job is queued or running but made no progress for ``STALE_AFTER`` (a stopped
    worker, or a console run that was killed)."""
    last = job.heartbeat_at or job.started_at or job.created_at
    return job.is_active and (now or timezone.now()) - last >= STALE_AFTER


def requeue_refusal(job: DeidJob, *, now: Any = None) -> str | None:
    """Why the job cannot be re-queued now, or None if it can."""
    if job.status == DeidJob.Status.DONE:
        return "the job is done; start a new job to run it again"
    if job.status != DeidJob.Status.FAILED and not is_stale(job, now=now):
        minutes = int(STALE_AFTER.total_seconds() // 60)
        return (
            f"the job is {job.status} and made progress less than {minutes} minutes ago; it can "
            "be re-queued when it failed or made no progress for that long (a stopped worker)"
        )
    if job.source_kind == DeidJob.SourceKind.CONSOLE:
        return "a job started at the console is run again with radgov deid"
    return None


@service
def requeue_job(user: Any, job: DeidJob) -> DeidJob:
    """Queue a failed job, or one a crashed worker left queued or running, again."""
    job = DeidJob.objects.select_for_update().get(pk=job.pk)
    refusal = requeue_refusal(job)
    if refusal:
        raise NotNow(refusal)
    if job.source_kind == DeidJob.SourceKind.UPLOAD and job.input_deleted:
        raise NotNow("the uploaded input was deleted; start a new job")
    job.status = DeidJob.Status.QUEUED
    job.error = ""
    job.save(update_fields=["status", "error"])
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


# ------------------------------------------------------------------------------ run
@service
def _start(job_id: int) -> DeidJob | None:
    job = DeidJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != DeidJob.Status.QUEUED:
        return None  # gone, already running elsewhere, or finished
    now = timezone.now()
    job.status = DeidJob.Status.RUNNING
    job.attempt += 1
    job.started_at = job.heartbeat_at = now
    job.finished_at = None
    job.files_total = job.files = job.ok = job.quarantined = job.failed = 0
    job.report = job.error = ""
    job.source_names = None
    job.save()
    return job


@service
def _reading(job_id: int, attempt: int, total: int) -> None:
    job = owned(DeidJob, job_id, attempt, attempts="attempt")
    job.files_total = total
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["files_total", "heartbeat_at"])
    record(
        action=Action.IMPORT,
        obj=job,
        event_code=EventCode.IMPORT,
        actor=job.created_by,
        detail={"source_kind": job.source_kind, "files": total, "attempt": attempt},
    )


@service
def _save_progress(job_id: int, attempt: int, counts: dict[str, int]) -> None:
    job = owned(DeidJob, job_id, attempt, attempts="attempt")
    job.files = sum(counts.values())
    job.ok, job.quarantined, job.failed = (
        counts.get("ok", 0),
        counts.get("quarantined", 0),
        counts.get("failed", 0),
    )
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["files", "ok", "quarantined", "failed", "heartbeat_at"])


@dataclass(frozen=True)
class Work:
    """How a run is done: the key, the site's rules, how many processes, where the encrypted
    re-identification table goes (None: not kept), and who else follows the progress (the
    command's progress bar)."""

    key: bytes
    site: SiteConfig = field(default_factory=SiteConfig)
    processes: int = 1
    mapping: Path | None = None
    on_start: Callable[[int], None] | None = None
    on_file: Callable[[dict[str, Any]], None] | None = None


def site_work(job: DeidJob) -> Work:
    """How the worker runs a job from a page or the API: the server's key, the site's rules
    (``RADGOV_DEID_CONFIG``), ``RADGOV_DEID_JOBS`` processes, the mapping kept in the job's
    folder."""
    from radgov.core.keys import derive_key

    processes = config.get_int("RADGOV_DEID_JOBS")
    if processes < 1:
        raise DeidJobError("RADGOV_DEID_JOBS must be at least 1")
    return Work(
        key=derive_key("deid"),
        site=_site(),
        processes=processes,
        mapping=job.folder / MAPPING_NAME,
    )


class _Progress:
    """Counts the engine's per-file records; saves them in batches, not per file."""

    def __init__(self, job_id: int, attempt: int, work: Work) -> None:
        self.job_id, self.attempt, self.work = job_id, attempt, work
        self.counts: Counter[str] = Counter()
        self.pending = 0
        self.last = time.monotonic()

    def start(self, total: int) -> None:
        _reading(self.job_id, self.attempt, total)
        self.last = time.monotonic()
        if self.work.on_start is not None:
            self.work.on_start(total)

    def file(self, file_record: dict[str, Any]) -> None:
        if self.work.on_file is not None:
            self.work.on_file(file_record)
        self.counts[str(file_record["status"])] += 1
        self.pending += 1
        if self.pending >= PROGRESS_FILES or time.monotonic() - self.last >= PROGRESS_SECONDS:
            _save_progress(self.job_id, self.attempt, dict(self.counts))
            self.pending, self.last = 0, time.monotonic()


def nothing_done(report: RunReport) -> str | None:
    """Why a run that de-identified no file at all failed (a job is "done" only when it
    did something), from the per-file reasons, which never quote a value; or None."""
    summary = report.summary
    total = int(summary["files"])
    if total and (summary["ok"] or summary["quarantined"]):
        return None
    if not total:
        return "nothing was de-identified: the source holds no files"
    reasons = Counter(
        "not DICOM" if str(f["reason"]).startswith("not a DICOM file") else str(f["reason"])
        for f in report.files
    )
    parts = []
    for reason, n in reasons.most_common():
        if reason == "not DICOM":
            verb = "is not a DICOM file" if n == 1 else "are not DICOM files"
            parts.append(f"{n} of {total} file{'s' if total > 1 else ''} {verb}")
        else:
            parts.append(f"{n} of {total}: {reason}")
    return "nothing was de-identified: " + "; ".join(parts)


@service
def _finish(job_id: int, attempt: int, report: RunReport) -> DeidJob:
    import json

    job = owned(DeidJob, job_id, attempt, attempts="attempt")
    summary = report.summary
    failure = nothing_done(report)
    job.status = DeidJob.Status.FAILED if failure else DeidJob.Status.DONE
    job.error = failure or ""
    job.files_total = max(job.files_total, int(summary["files"]))
    job.files = int(summary["files"])
    job.ok, job.quarantined, job.failed = (
        int(summary["ok"]),
        int(summary["quarantined"]),
        int(summary["failed"]),
    )
    job.report = json.dumps(report.as_json(), indent=1)
    job.source_names = json.dumps(report.sources(), sort_keys=True)
    job.finished_at = job.heartbeat_at = timezone.now()
    job.save()
    return job


@service
def _fail(job_id: int, attempt: int, reason: str) -> DeidJob | None:
    try:
        job = owned(DeidJob, job_id, attempt, attempts="attempt")
    except Superseded:
        return None
    job.status = DeidJob.Status.FAILED
    job.error = reason
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])
    return job


@service
def _input_deleted(job_id: int) -> None:
    job = DeidJob.objects.select_for_update().get(pk=job_id)
    job.input_deleted = True
    job.save(update_fields=["input_deleted"])


def _reason(exc: BaseException) -> str:
    """Why the whole run failed, without a path or a value from the source."""
    if isinstance(exc, SourceError | DeidJobError | ConfigError):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return "the source no longer exists"
    if isinstance(exc, OSError):
        return f"cannot read or write files ({exc.strerror or type(exc).__name__})"
    return f"the de-identification run stopped ({type(exc).__name__})"


def _source_path(job: DeidJob) -> Path:
    if job.source_kind == DeidJob.SourceKind.UPLOAD:
        path = job.input_path
        if path is None or not path.is_dir():
            raise SourceError("the uploaded input is missing")
        return path
    if job.source_kind == DeidJob.SourceKind.CONSOLE:
        path = Path(job.source)
        if not path.exists():
            raise SourceError("the source no longer exists")
        return path
    return recheck(
        job.source_root,
        job.source,
        app_folder=job.source_kind == DeidJob.SourceKind.APP_FOLDER,
    )


def _chosen_options(job: DeidJob, site: SiteConfig) -> list[Option]:
    if job.source_kind == DeidJob.SourceKind.CONSOLE:  # the operator's, checked by the command
        return [Option.from_name(name) for name in job.options]
    return job_options(job.options, site)  # checked again: the site's rules may have changed


def _deidentify(job: DeidJob, work: Work, progress: _Progress) -> RunReport:
    settings = run_settings(
        _chosen_options(job, work.site),
        key=work.key,
        site=work.site,
        record_mapping=work.mapping is not None,
    )
    source = _source_path(job)
    if job.source_kind != DeidJob.SourceKind.CONSOLE:
        discard(job.output_path)  # a re-queued run starts from an empty output folder
    report = run(
        source,
        job.output_path,
        settings,
        jobs=work.processes,
        on_start=progress.start,
        on_file=progress.file,
    )
    if work.mapping is not None:
        write_mapping(work.mapping, mapping_document(report, settings.profile), work.key)
    return report


def run_job(job_id: int, work: Work | None = None) -> DeidJob | None:
    """Run a queued job (the worker's task calls this with the site's :func:`site_work`,
    ``radgov deid`` with its own): de-identify its source into its output folder, saving
    progress in batches; record the report and the counts, and keep the re-identification
    table encrypted.  A file that fails is in the report and the job still finishes "done"
    when another file was de-identified; a run that de-identified nothing, or a failure of
    the whole run, marks the job "failed" with the reason.  Returns the job, or None if it was
    not queued (already taken, finished, or gone)."""
    job = _start(job_id)
    if job is None:
        return None
    attempt = job.attempt
    try:
        work = work or site_work(job)
        report = _deidentify(job, work, _Progress(job.pk, attempt, work))
        finished = _finish(job.pk, attempt, report)
    except Superseded:
        logger.warning("de-identification job %s was re-queued while running; stopped", job.pk)
        return None
    except KeyboardInterrupt:
        _fail(job.pk, attempt, "the run was interrupted")
        raise
    except Exception as exc:
        logger.warning("de-identification job %s failed (%s)", job.pk, type(exc).__name__)
        return _fail(job.pk, attempt, _reason(exc))
    if finished.source_kind == DeidJob.SourceKind.UPLOAD:
        delete_input(finished)
        finished.refresh_from_db()
    return finished


def delete_input(job: DeidJob) -> bool:
    """Delete the stored upload of a finished job (it holds PHI) and record that it is gone."""
    path = job.input_path
    if job.status != DeidJob.Status.DONE or path is None or job.input_deleted:
        return False
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        logger.warning("could not delete the input of de-identification job %s", job.pk)
        return False
    _input_deleted(job.pk)
    return True


def delete_finished_inputs() -> int:
    """Delete what a worker stopped between finishing a job and deleting its upload left
    behind; returns how many inputs were deleted (the periodic task calls this)."""
    leftovers = DeidJob.objects.filter(
        source_kind=DeidJob.SourceKind.UPLOAD, status=DeidJob.Status.DONE, input_deleted=False
    )
    return sum(delete_input(job) for job in leftovers)
