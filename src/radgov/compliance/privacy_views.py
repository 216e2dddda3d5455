"""The privacy officer's pages: retention and legal holds, unusual-access cases, incidents
with their clocks (and the AI adverse events flagged as a possible privacy breach that wait
to become one), the Notice of Privacy Practices and its coverage per deployment
(docs/retention.md, docs/privacy-incidents.md).  Only the compliance role
reaches them (``permissions.py``); the services refuse anyone else again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from radgov.compliance import incident_services as incidents
from radgov.compliance import notices, purge
from radgov.compliance import retention_services as rs
from radgov.compliance.models import (
    AccessCase,
    Incident,
    LegalHold,
    NoticeCoverage,
    PrivacyNotice,
    PurgeRun,
)
from radgov.compliance.retention import policies
from radgov.core.errors import refusal
from radgov.core.exports import pdf_response
from radgov.inventory.models import Deployment
from radgov.monitoring.models import AdverseEvent

LIST_MAX = 200


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise rs.RetentionError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def _done(request: HttpRequest, fn: Any, ok: str, *args: Any, **kwargs: Any) -> Any:
    """Call a service; show its refusal (it changed nothing) or ``ok``."""
    try:
        result = fn(request.user, *args, **kwargs)
    except rs.RetentionError as exc:
        messages.error(request, refusal(request, exc))
        return None
    messages.success(request, ok)
    return result


@require_GET
def retention(request: HttpRequest) -> HttpResponse:
    holds = LegalHold.objects.select_related("deployment__model_version__product__company")
    context = {
        "policies": policies(),
        "plan": purge.plan(),
        "holds": holds[:LIST_MAX],
        "runs": PurgeRun.objects.all()[:20],
        "scopes": LegalHold.Scope.choices,
    }
    return render(request, "compliance/retention.html", context)


@require_POST
def set_policy(request: HttpRequest, data_class: str) -> HttpResponse:
    days, minimum = _int(request.POST.get("days")), _int(request.POST.get("legal_minimum_days"))
    if days is None:
        messages.error(request, "days: a whole number of days")
    else:
        _done(
            request,
            rs.set_policy,
            "Retention saved.",
            data_class,
            days=days,
            legal_minimum_days=minimum,
            note=request.POST.get("note", ""),
        )
    return redirect("compliance:retention")


@require_POST
def hold_new(request: HttpRequest) -> HttpResponse:
    post = request.POST
    try:
        starts_on, ends_on = _date(post.get("starts_on"), "from"), _date(post.get("ends_on"), "to")
    except rs.RetentionError as exc:
        messages.error(request, refusal(request, exc))
        return redirect("compliance:retention")
    _done(
        request,
        rs.place_hold,
        "Legal hold placed: nothing it covers will be purged.",
        scope=post.get("scope", ""),
        reason=post.get("reason", ""),
        exam_id=_int(post.get("exam_id")),
        patient_pseudonym=post.get("patient_pseudonym", ""),
        deployment_id=_int(post.get("deployment_id")),
        starts_on=starts_on,
        ends_on=ends_on,
    )
    return redirect("compliance:retention")


@require_POST
def hold_release(request: HttpRequest, hold_id: int) -> HttpResponse:
    hold = get_object_or_404(LegalHold, pk=hold_id)
    _done(
        request,
        rs.release_hold,
        "Legal hold released.",
        hold,
        reason=request.POST.get("reason", ""),
    )
    return redirect("compliance:retention")


@require_GET
def cases(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or AccessCase.Status.OPEN
    rows = AccessCase.objects.filter(status=status)[:LIST_MAX]
    return render(
        request,
        "compliance/cases.html",
        {"cases": rows, "status": status, "statuses": AccessCase.Status.choices},
    )


def case(request: HttpRequest, case_id: int) -> HttpResponse:
    found = get_object_or_404(AccessCase, pk=case_id)
    if request.method == "POST":
        if request.POST.get("action") == "incident":
            incident = _done(request, incidents.incident_from_case, "Incident opened.", found)
            if incident is not None:
                return redirect("compliance:incident", incident_id=incident.pk)
        else:
            reason = request.POST.get("reason", "")
            _done(request, incidents.dismiss_case, "Case dismissed.", found, reason=reason)
        return redirect("compliance:case", case_id=found.pk)
    return render(request, "compliance/case.html", {"case": found})


@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    """Each incident with its next notice still owed (none once decided not a breach)."""
    rows = []
    for found in Incident.objects.all()[:LIST_MAX]:
        owed = [d for d in incidents.deadlines_of(found) if d.done_on is None]
        if found.decision == Incident.Decision.NOT_BREACH:
            owed = []
        rows.append((found, min(owed, key=lambda d: d.due) if owed else None))
    events = incidents.events_awaiting()[:LIST_MAX]
    context = {"rows": rows, "today": timezone.localdate(), "events": events}
    return render(request, "compliance/incidents.html", context)


@require_POST
def incident_from_event(request: HttpRequest, event_id: int) -> HttpResponse:
    """One step: the flagged AI adverse event becomes an incident, opened on its page."""
    event = get_object_or_404(AdverseEvent, pk=event_id)
    found = _done(request, incidents.incident_from_event, "Incident opened.", event)
    if found is None:
        return redirect("compliance:incidents")
    return redirect("compliance:incident", incident_id=found.pk)


def _incident_context(incident: Incident) -> dict[str, Any]:
    return {
        "incident": incident,
        "deadlines": incidents.deadlines_of(incident),
        "today": timezone.localdate(),
        "factors": [(name, getattr(incident, name)) for name in incidents.FACTORS],
        "cases": list(incident.cases.all()),
    }


def incident(request: HttpRequest, incident_id: int) -> HttpResponse:
    found = get_object_or_404(Incident, pk=incident_id)
    if request.method == "POST":
        _incident_post(request, found)
        return redirect("compliance:incident", incident_id=found.pk)
    return render(request, "compliance/incident.html", _incident_context(found))


def _incident_post(request: HttpRequest, found: Incident) -> None:
    post, action = request.POST, request.POST.get("action")
    if action == "assess":
        factors = {name: post.get(name, "") for name in incidents.FACTORS}
        state = _int(post.get("most_in_one_state"))
        _done(
            request,
            incidents.assess,
            "Assessment saved.",
            found,
            most_in_one_state=state,
            **factors,
        )
    elif action == "decide":
        decision, reasons = post.get("decision", ""), post.get("reasons", "")
        _done(
            request, incidents.decide, "Decision saved.", found, decision=decision, reasons=reasons
        )
    elif action == "notice":
        try:
            on = _date(post.get("on"), "on") or timezone.localdate()
        except rs.RetentionError as exc:
            messages.error(request, refusal(request, exc))
            return
        _done(
            request,
            incidents.record_notice,
            "Notice recorded.",
            found,
            notice=post.get("notice", ""),
            on=on,
        )
    else:
        messages.error(request, "action: assess, decide or notice")


@require_GET
def incident_pdf(request: HttpRequest, incident_id: int) -> HttpResponse:
    found = get_object_or_404(Incident, pk=incident_id)
    html = render_to_string("compliance/incident_pdf.html", _incident_context(found))
    return pdf_response(html, filename=f"privacy-incident-{found.pk}.pdf", obj=found)


def notice(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        _notice_post(request)
        return redirect("compliance:notice")
    return render(request, "compliance/notice.html", _notice_context())


def _notice_context() -> dict[str, Any]:
    found = notices.current()
    live = Deployment.objects.filter(status__in=notices.LIVE).select_related(
        "model_version__product__company"
    )
    findings = {c.deployment_id: c for c in NoticeCoverage.objects.filter(notice=found)}
    why = {d.pk: reason for d, reason in notices.flagged()}
    rows = [(d, findings.get(d.pk), why.get(d.pk)) for d in live.order_by("pk")]
    return {
        "notice": found,
        "review_due": notices.review_due(found) if found else None,
        "rows": rows,
        "flagged": len(why),
        "versions": PrivacyNotice.objects.all()[:20],
    }


def _notice_post(request: HttpRequest) -> None:
    post, action = request.POST, request.POST.get("action")
    if action == "record":
        try:
            effective_on = _date(post.get("effective_on"), "effective_on")
        except rs.RetentionError as exc:
            messages.error(request, refusal(request, exc))
            return
        if effective_on is None:
            messages.error(request, "effective_on: the day the notice takes effect (YYYY-MM-DD)")
            return
        _done(
            request,
            notices.record_notice,
            "Notice recorded.",
            version=post.get("version", ""),
            effective_on=effective_on,
            uses=post.get("uses", ""),
            review_every_days=_int(post.get("review_every_days")) or 365,
        )
    elif action == "review":
        _done(request, notices.review_notice, "Notice marked reviewed: it still stands.")
    elif action == "coverage":
        deployment_id = _int(post.get("deployment_id"))
        if deployment_id is None:
            messages.error(request, "deployment_id: choose a deployment")
            return
        _done(
            request,
            notices.set_coverage,
            "Coverage saved.",
            deployment_id=deployment_id,
            covered=post.get("covered") == "yes",
            note=post.get("note", ""),
        )
    else:
        messages.error(request, "action: record, review or coverage")
