"""The privacy officer's API: retention policies, legal holds, the purge's dry run,
incidents with their clocks (one from an AI adverse event flagged as a possible privacy
breach in one step), the Notice of Privacy Practices and the reminders (docs/retention.md,
docs/privacy-incidents.md).  Every operation
is the compliance role's (``permissions.PRIVACY``) and calls the same services as the pages;
their refusals answer as problem+json.  An incident's affected patients (pseudonyms) are
read on their own endpoint, which records the read; lists of holds record theirs too (a hold
names an exam or a patient)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Schema, Status

from radgov.compliance import incident_services as incidents
from radgov.compliance import notices, purge
from radgov.compliance import retention_services as rs
from radgov.compliance.api import router
from radgov.compliance.models import (
    Incident,
    LegalHold,
    NoticeCoverage,
    PrivacyNotice,
    Reminder,
)
from radgov.compliance.retention import policies, policy
from radgov.core.audit import Action, record
from radgov.core.errors import unseen
from radgov.core.paging import Page, PageQuery, paginate
from radgov.monitoring.models import AdverseEvent


class RetentionPolicyOut(Schema):
    data_class: str
    label: str
    days: int
    legal_minimum_days: int
    note: str
    changed: bool


class RetentionPolicyIn(Schema):
    days: int
    legal_minimum_days: int | None = None
    note: str = ""


class RetentionOut(Schema):
    policies: list[RetentionPolicyOut]


class ExpiredOut(Schema):
    data_class: str
    label: str
    days: int
    expired: int
    held: int
    to_remove: int


class HoldIn(Schema):
    scope: str
    reason: str
    exam_id: int | None = None
    patient_pseudonym: str = ""
    deployment_id: int | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


class HoldOut(Schema):
    id: int
    scope: str
    exam_id: int | None
    patient_pseudonym: str
    deployment_id: int | None
    starts_on: dt.date | None
    ends_on: dt.date | None
    reason: str
    placed_by: str
    placed_at: dt.datetime
    released_at: dt.datetime | None
    release_reason: str


class ReleaseIn(Schema):
    reason: str


class DeadlineOut(Schema):
    notice: str
    due: dt.date
    done_on: dt.date | None
    basis: str
    days_left: int
    overdue: bool


class IncidentOut(Schema):
    id: int
    title: str
    what: str
    source: str
    source_ref: str
    adverse_event_id: int | None
    exam_id: int | None
    deployment_id: int | None
    discovered_on: dt.date
    discovered_by: str
    data_classes: list[str]
    actor_names: list[str]
    window_start: dt.datetime
    window_end: dt.datetime
    affected_count: int
    most_in_one_state: int | None
    nature_and_extent: str
    unauthorized_person: str
    acquired_or_viewed: str
    mitigation: str
    decision: str
    decision_reasons: str
    decided_at: dt.datetime | None
    deadlines: list[DeadlineOut]


class IncidentIn(Schema):
    title: str
    what: str
    discovered_on: dt.date
    discovered_by: str
    actor_names: list[str]
    window_start: dt.datetime
    window_end: dt.datetime
    data_classes: list[str] = []


class AssessmentIn(Schema):
    nature_and_extent: str = ""
    unauthorized_person: str = ""
    acquired_or_viewed: str = ""
    mitigation: str = ""
    most_in_one_state: int | None = None


class IncidentDecisionIn(Schema):
    decision: str
    reasons: str


class SentIn(Schema):
    notice: str
    on: dt.date


class PatientsOut(Schema):
    count: int
    pseudonyms: list[str]


# --- retention and the purge -----------------------------------------------------------------


@router.get("/retention", response=RetentionOut)
def get_retention(request: HttpRequest) -> dict[str, Any]:
    """The retention in force per data class (the default until changed)."""
    return {"policies": [_policy(p) for p in policies()]}


def _policy(p: Any) -> dict[str, Any]:
    fields = ("data_class", "label", "days", "legal_minimum_days", "note", "changed")
    return {name: getattr(p, name) for name in fields}


@router.put("/retention/{data_class}", response=RetentionPolicyOut)
def set_retention(
    request: HttpRequest, data_class: str, payload: RetentionPolicyIn
) -> dict[str, Any]:
    """Set a class's retention (refused below the legal minimum, or the audit trail's six
    years, naming the reason; nothing changes)."""
    rs.set_policy(request.user, data_class, **payload.dict())
    return _policy(policy(data_class))


@router.get("/purge/plan", response=list[ExpiredOut])
def purge_plan(request: HttpRequest) -> list[dict[str, Any]]:
    """The dry run: per data class, what is past retention, held, and would go.  Changes
    nothing; recorded in the audit trail with the counts."""
    found = purge.plan()
    purge.record_dry_run(request.user, found)
    return [{**e.__dict__, "to_remove": e.to_remove} for e in found]


# --- legal holds ------------------------------------------------------------------------------


def _hold(hold: LegalHold) -> dict[str, Any]:
    return {
        "id": hold.pk,
        "scope": hold.scope,
        "exam_id": hold.exam_id,
        "patient_pseudonym": hold.patient.pseudonym if hold.patient else "",
        "deployment_id": hold.deployment_id,
        "starts_on": hold.starts_on,
        "ends_on": hold.ends_on,
        "reason": hold.reason,
        "placed_by": hold.placed_by.get_username(),
        "placed_at": hold.placed_at,
        "released_at": hold.released_at,
        "release_reason": hold.release_reason,
    }


@router.get("/holds", response=Page[HoldOut])
def list_holds(request: HttpRequest, page: Query[PageQuery], active: bool = False) -> Any:
    """Legal holds, newest first (``active``: only those not released).  The read is
    recorded: a hold names an exam or a patient."""
    rows = LegalHold.objects.select_related("patient", "placed_by")
    answer = paginate(rows.filter(released_at=None) if active else rows, page, _hold)
    record(
        action=Action.READ,
        object_type="compliance.legalhold",
        actor=request.user,
        detail={"what": "legal holds", "count": len(answer["items"])},
    )
    return answer


@router.post("/holds", response={201: HoldOut})
def place_hold(request: HttpRequest, payload: HoldIn) -> Status[dict[str, Any]]:
    """Place a hold on an exam, a patient (pseudonym), a deployment or a date range."""
    return Status(201, _hold(rs.place_hold(request.user, **payload.dict())))


@router.post("/holds/{hold_id}/release", response=HoldOut)
def release_hold(request: HttpRequest, hold_id: int, payload: ReleaseIn) -> dict[str, Any]:
    hold = LegalHold.objects.filter(pk=hold_id).first()
    if hold is None:
        raise unseen("legal hold", hold_id)
    return _hold(rs.release_hold(request.user, hold, reason=payload.reason))


# --- incidents --------------------------------------------------------------------------------


def _incident(found: Incident) -> dict[str, Any]:
    today = timezone.localdate()
    fields = set(IncidentOut.model_fields) - {"id", "deadlines"}
    return {
        "id": found.pk,
        **{name: getattr(found, name) for name in fields},
        "deadlines": [
            {**d.__dict__, "days_left": d.days_left(today), "overdue": d.overdue(today)}
            for d in incidents.deadlines_of(found)
        ],
    }


def _found(incident_id: int) -> Incident:
    found = Incident.objects.filter(pk=incident_id).first()
    if found is None:
        raise unseen("incident", incident_id)
    return found


@router.get("/incidents", response=Page[IncidentOut])
def list_incidents(request: HttpRequest, page: Query[PageQuery]) -> Any:
    """Incidents, newest first, each with its notices and deadlines (counts, no patients)."""
    return paginate(Incident.objects.all(), page, _incident)


@router.post("/incidents", response={201: IncidentOut})
def open_incident(request: HttpRequest, payload: IncidentIn) -> Status[dict[str, Any]]:
    """Open an incident; its affected patients are computed from the audit trail."""
    return Status(201, _incident(incidents.open_incident(request.user, **payload.dict())))


class PrivacyEventOut(Schema):
    id: int
    kind: str
    occurred_on: dt.date
    deployment_id: int
    deployment: str
    inference_id: int | None
    reported_at: dt.datetime


@router.get("/privacy-events", response=list[PrivacyEventOut])
def list_privacy_events(request: HttpRequest) -> list[dict[str, Any]]:
    """AI adverse events flagged as a possible privacy breach with no incident yet (their
    descriptions stay in monitoring's record)."""
    fields = ("kind", "occurred_on", "deployment_id", "inference_id", "reported_at")
    return [
        {"id": e.pk, "deployment": str(e.deployment), **{n: getattr(e, n) for n in fields}}
        for e in incidents.events_awaiting()[:200]
    ]


@router.post("/privacy-events/{event_id}/incident", response={201: IncidentOut})
def incident_from_event(request: HttpRequest, event_id: int) -> Status[dict[str, Any]]:
    """Open the incident of a flagged AI adverse event: its deployment, exam and day, the
    affected patients from the audit trail."""
    event = AdverseEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise unseen("adverse event", event_id)
    return Status(201, _incident(incidents.incident_from_event(request.user, event)))


@router.get("/incidents/{incident_id}", response=IncidentOut)
def get_incident(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    return _incident(_found(incident_id))


@router.get("/incidents/{incident_id}/patients", response=PatientsOut)
def get_incident_patients(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    """The affected patients as pseudonyms (for the notices); the read is recorded."""
    found = _found(incident_id)
    record(
        action=Action.READ,
        obj=found,
        actor=request.user,
        detail={"what": "affected patients", "count": found.affected_count},
    )
    return {"count": found.affected_count, "pseudonyms": list(found.affected_patients)}


@router.put("/incidents/{incident_id}/assessment", response=IncidentOut)
def assess_incident(
    request: HttpRequest, incident_id: int, payload: AssessmentIn
) -> dict[str, Any]:
    """The four-factor risk assessment (45 CFR 164.402(2)) and the most in one state."""
    data = payload.dict()
    state = data.pop("most_in_one_state")
    found = incidents.assess(request.user, _found(incident_id), most_in_one_state=state, **data)
    return _incident(found)


@router.post("/incidents/{incident_id}/decision", response=IncidentOut)
def decide_incident(
    request: HttpRequest, incident_id: int, payload: IncidentDecisionIn
) -> dict[str, Any]:
    """``breach`` or ``not_breach`` with reasons (not a breach needs all four factors)."""
    found = incidents.decide(request.user, _found(incident_id), **payload.dict())
    return _incident(found)


@router.post("/incidents/{incident_id}/notices", response=IncidentOut)
def record_incident_notice(
    request: HttpRequest, incident_id: int, payload: SentIn
) -> dict[str, Any]:
    """The day a notice (individuals, hhs, media) was sent."""
    found = incidents.record_notice(request.user, _found(incident_id), **payload.dict())
    return _incident(found)


# --- the Notice of Privacy Practices and reminders --------------------------------------------


class NoticeIn(Schema):
    version: str
    effective_on: dt.date
    uses: str
    review_every_days: int = 365


class PrivacyNoticeOut(Schema):
    id: int
    version: str
    effective_on: dt.date
    uses: str
    review_every_days: int
    reviewed_on: dt.date
    review_due: dt.date


class FlaggedOut(Schema):
    deployment_id: int
    deployment: str
    why: str


class NoticeStateOut(Schema):
    current: PrivacyNoticeOut | None
    flagged: list[FlaggedOut]


class CoverageIn(Schema):
    covered: bool
    note: str = ""


class CoverageOut(Schema):
    deployment_id: int
    notice_id: int
    covered: bool
    note: str


class ReminderOut(Schema):
    id: int
    kind: str
    key: str
    subject: str
    due_on: dt.date | None
    raised_at: dt.datetime
    cleared_at: dt.datetime | None


def _notice(found: PrivacyNotice) -> dict[str, Any]:
    fields = set(PrivacyNoticeOut.model_fields) - {"id", "review_due"}
    return {
        "id": found.pk,
        **{name: getattr(found, name) for name in fields},
        "review_due": notices.review_due(found),
    }


@router.get("/privacy-notice", response=NoticeStateOut)
def get_privacy_notice(request: HttpRequest) -> dict[str, Any]:
    """The notice in force, when its review is due, and the live deployments it does not
    cover (section V)."""
    found = notices.current()
    return {
        "current": _notice(found) if found else None,
        "flagged": [
            {"deployment_id": d.pk, "deployment": str(d), "why": why}
            for d, why in notices.flagged()
        ],
    }


@router.post("/privacy-notices", response={201: PrivacyNoticeOut})
def record_privacy_notice(request: HttpRequest, payload: NoticeIn) -> Status[dict[str, Any]]:
    """Record a version of the notice (the uses and disclosures it describes)."""
    return Status(201, _notice(notices.record_notice(request.user, **payload.dict())))


@router.post("/privacy-notice/review", response=PrivacyNoticeOut)
def review_privacy_notice(request: HttpRequest) -> dict[str, Any]:
    """The notice in force was reviewed today and still stands."""
    return _notice(notices.review_notice(request.user))


@router.put("/privacy-notice/coverage/{deployment_id}", response=CoverageOut)
def set_notice_coverage(
    request: HttpRequest, deployment_id: int, payload: CoverageIn
) -> NoticeCoverage:
    """Whether the notice in force covers the deployment's use (not covered: say why)."""
    return notices.set_coverage(request.user, deployment_id=deployment_id, **payload.dict())


@router.get("/reminders", response=Page[ReminderOut])
def list_reminders(request: HttpRequest, page: Query[PageQuery], cleared: bool = False) -> Any:
    """The open reminders, soonest first (``cleared``: the cleared ones instead)."""
    rows = Reminder.objects.filter(cleared_at__isnull=not cleared)
    return paginate(rows, page)
