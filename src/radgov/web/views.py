from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from radgov import __version__
from radgov.accounts.models import ApiToken
from radgov.core import health, jobs
from radgov.core.errors import refusal
from radgov.core.models import AuditHead, Job, ProcessBeat
from radgov.core.roles import Role
from radgov.web.todo import todo_for

MFA_LABELS = {
    Authenticator.Type.TOTP: "authenticator app (TOTP)",
    Authenticator.Type.RECOVERY_CODES: "recovery codes",
    Authenticator.Type.WEBAUTHN: "security key (WebAuthn)",
}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({**health.status(), "version": __version__})


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Each person's to-do list (``radgov.web.todo``), their account, and the platform's
    counters for administrators only."""
    user = request.user
    todo, chair = todo_for(user)
    admin = getattr(user, "role", None) == Role.ADMINISTRATOR
    context = {
        **_live_counts(user, admin),
        "todo": todo,
        "chair": chair,
        "capacities": [c.replace("_", " ") for c in user.capacities],  # type: ignore[union-attr]
        "mfa_types": sorted({MFA_LABELS.get(kind, kind) for kind in _mfa_kinds(request)}),
        "idle_minutes": int(settings.SESSION_IDLE_TIMEOUT.total_seconds() // 60),
        "max_hours": int(settings.SESSION_MAX_AGE.total_seconds() // 3600),
        "database": connection.vendor if admin else None,
    }
    return render(request, "web/dashboard.html", context)


@functools.cache
def _live_statement() -> str:
    """The statement of :func:`_live_counts`: the tables are the models', quoted; every value
    is a parameter."""
    q = connection.ops.quote_name
    return (
        f"SELECT (SELECT COUNT(*) FROM {q(ApiToken._meta.db_table)} WHERE user_id = %s"  # noqa: S608
        " AND revoked_at IS NULL AND expires_at > %s),"
        f" EXISTS(SELECT 1 FROM {q(ProcessBeat._meta.db_table)} WHERE name = %s AND beat_at >= %s),"
        f" (SELECT SUM(seq) FROM {q(AuditHead._meta.db_table)})"
    )


def _live_counts(user: Any, admin: bool) -> dict[str, Any]:
    """What the dashboard shows as it is now, in one statement without the ORM's cost (every
    view of the dashboard runs it): the person's active API tokens (one runs out by the
    clock), and for an administrator whether a worker beats (``radgov.core.health``) and how
    many entries the audit trail holds (its stripes' heads added up, as
    ``radgov.core.audit.selectors.count_entries`` counts them).
    None of them is kept in the cache."""
    now = timezone.now()
    alive_since = now - timedelta(seconds=health.ALIVE_WITHIN_SECONDS)
    at = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(_live_statement(), [user.pk, at(now), "worker", at(alive_since)])
        tokens, worker_alive, audit_count = cursor.fetchone()
    live: dict[str, Any] = {"token_count": tokens}
    if admin:
        live |= {"worker_alive": bool(worker_alive), "audit_count": audit_count or 0}
    return live


def _mfa_kinds(request: HttpRequest) -> set[str]:
    """The kinds of second factor the person has: as the MFA middleware read them."""
    kinds = getattr(request, "mfa_types", None)
    if kinds is None:
        kinds = set(Authenticator.objects.filter(user=request.user).values_list("type", flat=True))
    return kinds


def _job(request: HttpRequest, job_id: int) -> Job:
    job = jobs.job_for(request.user, job_id)
    if job is None:
        raise Http404("no such job of yours")
    return job


def _job_context(job: Job) -> dict[str, object]:
    refusal = jobs.requeue_refusal(job)
    return {
        "job": job,
        "label": jobs.label(job),
        "polling": job.is_active and refusal is not None,
        "stuck": job.is_active and refusal is None,
        "may_requeue": refusal is None,
        "stale_minutes": int(jobs.STALE_AFTER.total_seconds() // 60),
    }


def job_started(
    request: HttpRequest, kind: str, params: dict[str, object], back: str
) -> HttpResponse:
    """Queue a job for the person and show its page; over their limit, say so and go back."""
    try:
        job = jobs.submit(request.user, kind, params)
    except jobs.JobError as exc:
        messages.error(request, refusal(request, exc))
        return redirect(back)
    return redirect("web:job", job_id=job.pk)


@require_GET
def job(request: HttpRequest, job_id: int) -> HttpResponse:
    return render(request, "web/job.html", _job_context(_job(request, job_id)))


@require_GET
def job_status(request: HttpRequest, job_id: int) -> HttpResponse:
    """The status block alone, polled by htmx every 2 s while the job is queued or running."""
    return render(request, "web/_job_status.html", _job_context(_job(request, job_id)))


@require_GET
def job_result(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        return jobs.result_response(request.user, _job(request, job_id))  # type: ignore[no-any-return]
    except jobs.JobError:
        raise Http404("no file to download yet") from None


@require_POST
def job_requeue(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    try:
        jobs.requeue(request.user, job)
    except jobs.JobError as exc:
        messages.error(request, refusal(request, exc))
    return redirect("web:job", job_id=job.pk)
