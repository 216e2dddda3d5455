"""The reviewer's pages (issue 16): the worklist of AI results awaiting review, and one
result with its review form.  Thin: reads through ``review_selectors`` (restricted and
audited), writes through ``services.review``; a refusal is shown with its reason."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from radgov.core.errors import denied_page, refusal
from radgov.exams import access, review_selectors
from radgov.exams.errors import ExamError, NotPermitted
from radgov.exams.models import Concordance, RejectReason, ReviewDecision
from radgov.exams.services import review as gate


@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    try:
        items = review_selectors.worklist(request.user)
    except NotPermitted as exc:
        return denied_page(request, exc)
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
        "report_states_ai": post.get("report_states_ai") == "on",
    }


@require_http_methods(["GET", "POST"])
def result(request: HttpRequest, pk: int) -> HttpResponse:
    """One AI result: its outputs, the IFU, its reviews and deliveries; the review form for
    a trained qualified end-user, the reason for anyone else."""
    try:
        view = review_selectors.for_review(request.user, pk)
    except NotPermitted as exc:
        return denied_page(request, exc)
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
            error, status = refusal(request, exc), 403
        except ExamError as exc:
            error, status = refusal(request, exc), 422
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


def _set_policy(request: HttpRequest) -> None:
    """The release policy form: the service decides who may record it (the governance
    group's members and administrators, as on the API) and checks every field."""
    from radgov.governance.models import Decision
    from radgov.inventory.models import Deployment

    post = request.POST
    deployment = Deployment.objects.filter(pk=_number(post.get("deployment"))).first()
    if deployment is None:
        raise gate.ReviewError("deployment: choose a deployment")
    decision = None
    if post.get("decision", "").strip():
        decision = Decision.objects.filter(pk=_number(post.get("decision"))).first()
        if decision is None:
            raise gate.ReviewError("decision: no such governance decision")
    gate.set_release_policy(
        request.user,
        deployment,
        mode=post.get("mode", ""),
        decision=decision,
        seen_before_review=post.get("seen_before_review", ""),
        seen_after_review=post.get("seen_after_review", ""),
        report_states_ai=post.get("report_states_ai") == "on",
    )


def _number(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def _set_destination(request: HttpRequest) -> None:
    from radgov.exams.services import delivery

    port = request.POST.get("port", "").strip()
    delivery.set_destination(
        request.user,
        request.POST.get("standard", ""),
        **{k: request.POST.get(k, "").strip() for k in ("host", "called_ae", "base_url")},
        port=int(port) if port.isdigit() else None,
        tls=request.POST.get("tls") == "on",
        active=request.POST.get("active") == "on",
    )


def _policies() -> list[tuple[object, object, list[object]]]:
    """Each deployment with its policy (review required when none is recorded) and the
    governance decisions about it, for the policy form."""
    from radgov.exams.models import ReleasePolicy
    from radgov.governance.models import Decision
    from radgov.inventory.models import Deployment

    recorded = {p.deployment_id: p for p in ReleasePolicy.objects.select_related("decision")}
    decisions: dict[int, list[object]] = {}
    for d in Decision.objects.filter(deployment__isnull=False).order_by("-id"):
        decisions.setdefault(d.deployment_id, []).append(d)
    return [
        (d, recorded.get(d.pk) or gate.policy_of(d), decisions.get(d.pk, []))
        for d in Deployment.objects.select_related("model_version__product").order_by("pk")
    ]


@require_http_methods(["GET", "POST"])
def release_settings(request: HttpRequest) -> HttpResponse:
    """Each deployment's release policy, with its form for the governance group, and (for
    imaging informatics and administrators) where released results go (the PACS, the RIS,
    the EMR), with a test-connection action."""
    from radgov.exams.models import Audience, Destination, ReleaseMode, Standard
    from radgov.exams.services import delivery

    error, status, tested = "", 200, None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "test":
                standard = request.POST.get("standard", "")
                tested = (standard, delivery.probe_destination(request.user, standard))
            else:
                if action == "policy":
                    _set_policy(request)
                    messages.success(request, "The release policy is recorded.")
                else:
                    _set_destination(request)
                    messages.success(request, "The destination is recorded.")
                return redirect("exams:release_settings")
        except NotPermitted as exc:
            return denied_page(request, exc)
        except ExamError as exc:
            error, status = refusal(request, exc), 422
    found = {d.standard: d for d in Destination.objects.all()}
    context = {
        "destinations": [(value, label, found.get(value)) for value, label in Standard.choices]
        if access.may_write(request.user)
        else [],
        "policies": _policies(),
        "may_set_policy": gate.may_set_policy(request.user),
        "modes": ReleaseMode.choices,
        "audiences": Audience.choices,
        "error": error,
        "tested": tested,
    }
    return render(request, "exams/release_settings.html", context, status=status)
