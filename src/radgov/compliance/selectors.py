"""Reads of de-identification jobs.  Who may call them is the permission policy's rule for
the page or endpoint (roles allowed patient data); within it, a job is seen by its owner,
by the people it was shared with, and by the compliance role (the privacy officer oversees
every job).  Reading a report is recorded as a "read", downloading a report or the output as
an "export" (110106), with counts only."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import IO, Any

from django.db.models import Q, QuerySet
from django.http import HttpResponse

from radgov.compliance.models import DeidJob
from radgov.core.audit import Action, EventCode, record
from radgov.core.exports import export_response
from radgov.core.roles import Role
from radgov.dicom.deid.runner import QUARANTINE_DIR

MAX_LIST = 200


def visible_jobs(user: Any) -> QuerySet[DeidJob]:
    """The jobs ``user`` may see: their own and those shared with them; every job for the
    compliance role; none for anyone else (an anonymous or inactive user)."""
    rows = DeidJob.objects.select_related("created_by").prefetch_related("shared_with")
    if user is None or not user.is_authenticated or not user.is_active:
        return rows.none()
    if user.role == Role.COMPLIANCE:
        return rows
    shared = DeidJob.shared_with.through.objects.filter(user=user).values("deidjob_id")
    return rows.filter(Q(created_by=user) | Q(pk__in=shared))


def jobs_for(user: Any) -> QuerySet[DeidJob]:
    """The jobs ``user`` may see, newest first (the page shows the first ``MAX_LIST``; the
    API pages)."""
    return visible_jobs(user).order_by("-created_at", "-pk")


def job_for(user: Any, job_id: int) -> DeidJob | None:
    """The job, if ``user`` may see it; None when it does not exist or is not theirs (the
    same answer, so ids cannot be probed)."""
    return visible_jobs(user).filter(pk=job_id).first()


def may_share(user: Any, job: DeidJob) -> bool:
    return bool(user.is_active and (job.created_by_id == user.pk or user.role == Role.COMPLIANCE))


def _counts(job: DeidJob) -> dict[str, int]:
    return {"files": job.files, "ok": job.ok, "quarantined": job.quarantined, "failed": job.failed}


def read_report(user: Any, job: DeidJob) -> dict[str, Any]:
    """The job's report (summary and one record per file); the read is recorded."""
    data = job.report_data()
    record(
        action=Action.READ,
        obj=job,
        actor=user,
        detail={"what": "deid report", **_counts(job)},
    )
    return data


def report_download(job: DeidJob) -> HttpResponse:
    """The report as a JSON download; recorded as an export."""
    body = (json.dumps(job.report_data(), indent=2) + "\n").encode("utf-8")
    return export_response(
        body,
        filename=f"deid-job-{job.pk}-report.json",
        content_type="application/json",
        obj=job,
        detail={"what": "deid report", **_counts(job)},
    )


def output_files(job: DeidJob) -> list[str]:
    """The de-identified files of the output (POSIX, relative), quarantined ones excluded."""
    root = job.output_path
    if not root.is_dir():
        return []
    found = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        rel_folder = os.path.relpath(folder, root)
        if rel_folder == QUARANTINE_DIR or rel_folder.startswith(QUARANTINE_DIR + os.sep):
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not (rel_folder == "." and d == QUARANTINE_DIR))
        for name in sorted(files):
            path = os.path.join(folder, name)
            if not os.path.islink(path) and not name.startswith(".radgov-"):
                found.append(os.path.relpath(path, root).replace(os.sep, "/"))
    return found


def export_output(user: Any, job: DeidJob) -> IO[bytes]:
    """A zip of the de-identified files (not the quarantined ones, which may show burned-in
    text and stay on the server for review); recorded as an export.  The caller closes it."""
    names = output_files(job)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    # level 1: DICOM pixel data gains little from harder compression, and a person is waiting
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name in names:
            archive.write(job.output_path / name, arcname=name)
    handle.seek(0)
    record(
        action=Action.EXPORT,
        obj=job,
        actor=user,
        event_code=EventCode.EXPORT,
        detail={"what": "deid output", "files": len(names)},
    )
    return handle
