"""The gateway's pages: the technologist remediation queue and the association log.  Thin:
the queue's reads and writes are in ``remediation`` (restricted and audited there)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from radgov.core.errors import denied_page, refusal
from radgov.exams.errors import NotPermitted
from radgov.exams.models import Inference
from radgov.exams.reasons import REASONS
from radgov.gateway import associations, remediation
from radgov.gateway.models import Remedy


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """Rejected inputs by station and reason, each with what a technologist can do."""
    try:
        rows = remediation.queue(request.user)
    except NotPermitted as exc:
        return denied_page(request, exc)
    context = {
        "rows": [(i, REASONS[i.reason_code].sentence) for i in rows],
        "remedies": Remedy.choices,
    }
    return render(request, "gateway/remediation.html", context)


@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    inference = get_object_or_404(Inference, pk=pk)
    try:
        remediation.decide(
            request.user, inference, request.POST.get("outcome", ""), request.POST.get("note", "")
        )
    except NotPermitted as exc:
        return denied_page(request, exc)
    except remediation.RemediationError as exc:
        messages.error(request, f"Not recorded: {refusal(request, exc)}")
    else:
        messages.success(request, f"Recorded for study {inference.exam_id}.")
    return redirect("gateway:remediation")


@require_GET
def association_log(request: HttpRequest) -> HttpResponse:
    """The latest associations with the listener: who called, accepted or why refused, and
    how many instances were stored or refused (no patient data)."""
    return render(request, "gateway/associations.html", {"rows": associations.latest()})
