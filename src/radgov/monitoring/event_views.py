"""The adverse-event pages (IV.G.4): a form anyone but the vendor may use to report, and for
the governance group and compliance the peer-learning queue with its review form.  Thin: they
read and write through ``radgov.monitoring.events``."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from radgov.core.errors import refusal
from radgov.exams.errors import ExamError, NotPermitted
from radgov.governance.services import GovernanceError
from radgov.inventory import lifecycle
from radgov.inventory.models import Deployment
from radgov.monitoring import events
from radgov.monitoring.models import AdverseEvent, EventKind, Factor, Reportable


@require_GET
def events_page(request: HttpRequest) -> HttpResponse:
    readable = events.may_read(request.user)
    rows = events.queue(request.user, open_only=False) if readable else []
    return render(
        request,
        "monitoring/events.html",
        {
            "events": [events.event_out(e, request.user) for e in rows],
            "readable": readable,
            "may_review": lifecycle.may_transition(request.user),
            "deployments": Deployment.objects.select_related("model_version__product"),
            "kinds": EventKind.choices,
            "factors": Factor.choices,
            "reportables": Reportable.choices,
        },
    )


@require_POST
def report_event(request: HttpRequest) -> HttpResponse:
    form = request.POST
    try:
        deployment = Deployment.objects.get(pk=int(form.get("deployment", "")))
        occurred_on = dt.date.fromisoformat(form.get("occurred_on", ""))
        inference = form.get("inference_id", "").strip()
        events.report_event(
            request.user, deployment, kind=form.get("kind", ""), occurred_on=occurred_on,
            description=form.get("description", ""),
            inference_id=int(inference) if inference else None,
            anonymous=form.get("anonymous") == "on",
        )  # fmt: skip
    except (ValueError, Deployment.DoesNotExist) as exc:
        detail = (
            refusal(request, exc)
            if isinstance(exc, ExamError)
            else "choose a deployment and a valid date"
        )
        messages.error(request, f"Not reported: {detail}")
    else:
        messages.success(request, "Reported. Thank you: it is in the peer-learning queue.")
    return redirect("monitoring:events")


@require_POST
def review_event(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(AdverseEvent, pk=pk)
    form = request.POST
    try:
        events.review_event(
            request.user, event, finding=form.get("finding", ""),
            factors=form.getlist("factors"), action=form.get("action", ""),
            reportable=form.get("reportable", ""),
        )  # fmt: skip
    except (ExamError, NotPermitted) as exc:
        messages.error(request, f"Not reviewed: {refusal(request, exc)}")
    else:
        messages.success(request, "Review recorded.")
    return redirect("monitoring:events")


@require_POST
def to_agenda(request: HttpRequest) -> HttpResponse:
    try:
        meeting, added = events.to_next_agenda(request.user)
    except (GovernanceError, ExamError) as exc:
        messages.error(request, f"Not put on the agenda: {refusal(request, exc)}")
        return redirect("monitoring:events")
    if meeting is None:
        messages.error(request, "No open meeting ahead in a governance group you are a member of.")
    else:
        messages.success(request, f"{len(added)} open event(s) put on the agenda of {meeting}.")
    return redirect("monitoring:events")
