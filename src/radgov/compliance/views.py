from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from radgov.compliance import selectors, services
from radgov.compliance.deid_options import MEANINGS, offered
from radgov.compliance.deid_sources import allowed_roots
from radgov.compliance.forms import DeidJobForm
from radgov.compliance.models import DeidJob
from radgov.core import config
from radgov.core.errors import refusal
from radgov.dicom.deid.profile import EDITION, Option
from radgov.dicom.deid.runner import QUARANTINE_DIR

# The page lists every quarantined and failed file; the table of every file stops here (the
# JSON download has them all).
REPORT_ROWS = 1000


def _job(request: HttpRequest, job_id: int) -> DeidJob:
    job = selectors.job_for(request.user, job_id)
    if job is None:
        raise Http404("no such de-identification job")
    return job


@require_GET
def jobs(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "compliance/deid_jobs.html",
        {"jobs": selectors.jobs_for(request.user)[: selectors.MAX_LIST]},
    )


def new_job(request: HttpRequest) -> HttpResponse:
    form = DeidJobForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = services.create_job(
                request.user,
                purpose=data["purpose"],
                source_kind=data["source_kind"],
                source=data["source"] or None,
                files=data["files"] or None,
                options=data["options"],
            )
        except services.DeidJobError as exc:
            form.add_error(None, refusal(request, exc))
        else:
            messages.success(request, f"De-identification job {job.pk} is queued.")
            return redirect("compliance:deid_job", job_id=job.pk)
    context = {
        "form": form,
        "roots": config.get_list("RADGOV_DEID_ROOTS") if allowed_roots() else [],
        "max_mb": config.get_int("RADGOV_MAX_UPLOAD_MB"),
        "edition": EDITION,
        "option_rows": [(o.cli_name, o.code_meaning, MEANINGS[o]) for o in offered()],
        "chosen_options": form["options"].value() or [],
    }
    return render(request, "compliance/deid_new.html", context, status=400 if form.errors else 200)


def _detail_context(job: DeidJob, user: object) -> dict[str, object]:
    refusal = services.requeue_refusal(job)
    return {
        "job": job,
        "may_share": selectors.may_share(user, job),
        "shared_with": [u.username for u in job.shared_with.all()],
        "requeue_refusal": refusal,
        # poll while a worker (or the console) has it or may still take it; a job stuck for
        # STALE_AFTER stops polling (which would also keep the session from idling out) and
        # offers a re-queue unless the console ran it
        "polling": job.is_active and not services.is_stale(job),
        "stuck": job.is_active and refusal is None,
        "stale_minutes": int(services.STALE_AFTER.total_seconds() // 60),
        "quarantine_dir": QUARANTINE_DIR,
        "option_meanings": [
            (o.cli_name, MEANINGS[o]) for o in Option if o.cli_name in job.options and o in MEANINGS
        ],
    }


@require_GET
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    return render(
        request, "compliance/deid_job.html", _detail_context(_job(request, job_id), request.user)
    )


@require_GET
def job_status(request: HttpRequest, job_id: int) -> HttpResponse:
    """The status block alone, polled by htmx every 2 s while the job is queued or running."""
    return render(
        request,
        "compliance/_deid_status.html",
        _detail_context(_job(request, job_id), request.user),
    )


@require_GET
def report(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    if not job.report:
        messages.error(request, "The report exists once the job is done.")
        return redirect("compliance:deid_job", job_id=job.pk)
    data = selectors.read_report(request.user, job)
    files = data.get("files", [])
    context = {
        "job": job,
        "summary": data.get("summary", {}),
        "files": files[:REPORT_ROWS],
        "files_hidden": max(0, len(files) - REPORT_ROWS),
        "quarantined": [f for f in files if f.get("status") == "quarantined"],
        "failures": [f for f in files if f.get("status") == "failed"],
        "quarantine_dir": QUARANTINE_DIR,
    }
    return render(request, "compliance/deid_report.html", context)


@require_GET
def report_json(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    if not job.report:
        raise Http404("the report exists once the job is done")
    return selectors.report_download(job)


@require_GET
def output_zip(request: HttpRequest, job_id: int) -> FileResponse:
    job = _job(request, job_id)
    if job.status != DeidJob.Status.DONE or not job.ok:
        raise Http404("no de-identified output to download")
    return FileResponse(
        selectors.export_output(request.user, job),
        as_attachment=True,
        filename=f"deid-job-{job.pk}-output.zip",
        content_type="application/zip",
    )


@require_POST
def share(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    try:
        services.share_job(request.user, job, username=request.POST.get("username", ""))
    except services.DeidJobError as exc:
        messages.error(request, f"Not shared: {refusal(request, exc)}")
    else:
        messages.success(request, "The job is shared.")
    return redirect("compliance:deid_job", job_id=job.pk)


@require_POST
def requeue(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    try:
        services.requeue_job(request.user, job)
    except services.DeidJobError as exc:
        messages.error(request, refusal(request, exc))
    else:
        messages.success(request, "The job is queued again.")
    return redirect("compliance:deid_job", job_id=job.pk)
