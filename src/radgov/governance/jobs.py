"""The governance PDFs, made by the worker (radgov.core.jobs): the conformance audit and a
meeting's notes.  The page or API that asks queues the job and follows it."""

from __future__ import annotations

from collections.abc import Callable

from radgov.core.exports import PDF
from radgov.core.jobs import JobError, Result, kind
from radgov.core.models import Job


@kind("governance.conformance_pdf", label="conformance audit (PDF)")
def conformance_pdf(job: Job, progress: Callable[[int], None]) -> Result:
    from radgov.governance.conformance import pdf
    from radgov.governance.conformance.audit import run_audit

    report = run_audit()
    progress(40)
    return Result(body=pdf.render_pdf(report), name=pdf.filename(report, "pdf"), content_type=PDF)


@kind("governance.meeting_notes_pdf", label="meeting notes (PDF)")
def meeting_notes_pdf(job: Job, progress: Callable[[int], None]) -> Result:
    from radgov.governance import pdf
    from radgov.governance.models import Meeting

    meeting = Meeting.objects.filter(pk=job.params.get("meeting")).first()
    if meeting is None:
        raise JobError("the meeting no longer exists")
    # the notes as the person who asked may read them (votes and conflicts per the group's
    # settings)
    body = pdf.notes_pdf(meeting, viewer=job.owner)
    return Result(body=body, name=pdf.filename(meeting), content_type=PDF)
