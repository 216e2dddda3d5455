"""The reviewer's pages (issue 16): the worklist of AI results awaiting review, and one
result with its review form.  Thin: reads through ``review_selectors`` (restricted and
audited), writes through ``services.review``; a refusal is shown with its reason."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from radgov.exams import review_selectors
from radgov.exams.errors import ExamError, NotPermitted
from radgov.exams.models import Concordance, RejectReason, ReviewDecision
from radgov.exams.services import review as gate


def _denied(request: HttpRequest, exc: NotPermitted) -> HttpResponse:
    return render(request, "web/denied.html", {"reason": str(exc)}, status=403)


@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    try:
        items = review_selectors.worklist(request.user)
    except NotPermitted as exc:
        return _denied(request, exc)
    return render(request, "exams/review_worklist.html", {"items": items})


def _choice(request: HttpRequest) -> dict[str, object]:
    """The review form's fields, as the service takes them; findings are JSON."""
    post = request.POST
    findings: object = None
    text = post.get("findings", "").strip()
    if text:
        try:
            findings = json.loads(text)
        except json.JSONDecodeError as exc:
            raise gate.ReviewError(f"findings: not JSON ({exc.msg}, line {exc.lineno})") from None
    return {
        "decision": post.get("decision", ""),
        "concordance": post.get("concordance", ""),
        "reason_code": post.get("reason_code", ""),
        "reason": post.get("reason", ""),
        "findings": findings,
    }


@require_http_methods(["GET", "POST"])
def result(request: HttpRequest, pk: int) -> HttpResponse:
    """One AI result: its outputs, the IFU, its reviews and deliveries; the review form for
    a trained qualified end-user, the reason for anyone else."""
    try:
        view = review_selectors.for_review(request.user, pk)
    except NotPermitted as exc:
        return _denied(request, exc)
    if view is None:
        raise Http404("no such AI result")
    error, status = "", 200
    if request.method == "POST":
        try:
            choice = _choice(request)
            if view.reviews:
                gate.add_addendum(request.user, view.reviews[0], **choice)
            else:
                gate.review(request.user, view.inference, **choice)
        except NotPermitted as exc:
            error, status = str(exc), 403
        except ExamError as exc:
            error, status = str(exc), 422
        else:
            messages.success(request, "Your review is recorded.")
            return redirect("exams:review_result", pk=pk)
    context = {
        "view": view,
        "i": view.inference,
        "error": error,
        "decisions": ReviewDecision.choices,
        "concordances": Concordance.choices,
        "reasons": RejectReason.choices,
        "posted": request.POST if request.method == "POST" else {},
    }
    return render(request, "exams/review_result.html", context, status=status)


@require_http_methods(["GET", "POST"])
def release_settings(request: HttpRequest) -> HttpResponse:
    """Where released results go (the PACS, the RIS, the EMR), with a test-connection
    action, and each deployment's release policy; imaging informatics and administrators."""
    from radgov.exams.models import Destination, ReleasePolicy, Standard
    from radgov.exams.services import delivery

    error, status, tested = "", 200, None
    if request.method == "POST":
        standard = request.POST.get("standard", "")
        try:
            if request.POST.get("action") == "test":
                tested = (standard, delivery.probe_destination(request.user, standard))
            else:
                port = request.POST.get("port", "").strip()
                delivery.set_destination(
                    request.user,
                    standard,
                    **{
                        k: request.POST.get(k, "").strip()
                        for k in ("host", "called_ae", "base_url")
                    },
                    port=int(port) if port.isdigit() else None,
                    tls=request.POST.get("tls") == "on",
                    active=request.POST.get("active") == "on",
                )
                messages.success(request, "The destination is recorded.")
                return redirect("exams:release_settings")
        except NotPermitted as exc:
            return _denied(request, exc)
        except ExamError as exc:
            error, status = str(exc), 422
    found = {d.standard: d for d in Destination.objects.all()}
    context = {
        "destinations": [(value, label, found.get(value)) for value, label in Standard.choices],
        "policies": ReleasePolicy.objects.select_related(
            "deployment__model_version__product__company", "decision"
        ).order_by("deployment_id"),
        "error": error,
        "tested": tested,
    }
    return render(request, "exams/release_settings.html", context, status=status)
