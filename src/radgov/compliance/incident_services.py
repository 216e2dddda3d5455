"""Every change to access cases and privacy incidents (docs/privacy-incidents.md).

Only the compliance role (the privacy officer) works them.  The affected patients of an
incident are computed from the audit trail: the patient records the people (or tokens)
involved read or exported in the window, as pseudonyms, with their count.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from django.db.models import CharField, Subquery
from django.db.models.functions import Cast
from django.utils import timezone

from radgov.compliance import clocks
from radgov.compliance.models import AccessCase, Incident
from radgov.compliance.retention_services import RetentionError, require_compliance
from radgov.core.audit import Action
from radgov.core.models import AuditEntry, PatientIdentity
from radgov.core.services import service
from radgov.exams.models import Exam, Inference
from radgov.monitoring.models import AdverseEvent, Reportable

NOTICES = {
    "individuals": "individuals_notified_on",
    "hhs": "hhs_notified_on",
    "media": "media_notified_on",
}
FACTORS = ("nature_and_extent", "unauthorized_person", "acquired_or_viewed", "mitigation")


class IncidentError(RetentionError):
    """A refused change to a case or an incident."""


def deadlines_of(incident: Incident) -> list[clocks.Deadline]:
    """The notices the incident owes (as they would run while it is undecided)."""
    return clocks.deadlines(
        discovered_on=incident.discovered_on,
        affected=incident.affected_count,
        most_in_one_state=incident.most_in_one_state,
        individuals_on=incident.individuals_notified_on,
        hhs_on=incident.hhs_notified_on,
        media_on=incident.media_notified_on,
    )


def affected_patients(
    actor_names: Iterable[str],
    start: dt.datetime,
    end: dt.datetime,
    *,
    deployment_id: int | None = None,
    exam_ids: Iterable[int] = (),
) -> list[str]:
    """Pseudonyms of the patients whose records ``actor_names`` read or exported in the window;
    with ``deployment_id``, also those of the exams whose AI calls to that deployment the trail
    records in the window (sent, answered, failed); and those of ``exam_ids``."""
    exams = set(exam_ids) | _exams_read(actor_names, start, end)
    patient_ids = _patients_read(actor_names, start, end)
    if deployment_id is not None:
        exams |= _exams_sent_to(deployment_id, start, end)
    patient_ids.update(
        Exam.objects.filter(pk__in=exams, patient__isnull=False).values_list(
            "patient_id", flat=True
        )
    )
    return sorted(
        PatientIdentity.objects.filter(pk__in=patient_ids).values_list("pseudonym", flat=True)
    )


def _reads(actor_names: Iterable[str], start: dt.datetime, end: dt.datetime) -> Any:
    return AuditEntry.objects.filter(
        actor_name__in=list(actor_names),
        timestamp__gte=start,
        timestamp__lte=end,
        action__in=[Action.READ, Action.EXPORT],
        outcome="success",
    )


def _exams_read(actor_names: Iterable[str], start: dt.datetime, end: dt.datetime) -> set[int]:
    entries = _reads(actor_names, start, end).filter(object_type="exams.exam")
    exam_ids: set[int] = set()
    for object_id, detail_json in entries.values_list("object_id", "detail_json").iterator(
        chunk_size=2000
    ):
        if object_id.isdigit():
            exam_ids.add(int(object_id))
        listed = json.loads(detail_json or "{}").get("exams", [])
        exam_ids.update(i for i in listed if isinstance(i, int))
    return exam_ids


def _patients_read(actor_names: Iterable[str], start: dt.datetime, end: dt.datetime) -> set[int]:
    entries = _reads(actor_names, start, end).filter(object_type="core.patientidentity")
    return {int(i) for i in entries.values_list("object_id", flat=True) if i.isdigit()}


def _exams_sent_to(deployment_id: int, start: dt.datetime, end: dt.datetime) -> set[int]:
    """Exams whose inferences by the deployment changed in the window, by the audit trail
    (one query: the deployment's inferences joined to the trail's entries by id)."""
    touched = AuditEntry.objects.filter(
        object_type="exams.inference", timestamp__gte=start, timestamp__lte=end
    ).values("object_id")
    found = (
        Inference.objects.filter(deployment_id=deployment_id)
        .annotate(key=Cast("pk", CharField()))
        .filter(key__in=Subquery(touched))
    )
    return set(found.values_list("exam_id", flat=True))


@service
def open_incident(
    actor: Any,
    *,
    title: str,
    what: str,
    discovered_on: dt.date,
    discovered_by: str,
    actor_names: list[str],
    window_start: dt.datetime,
    window_end: dt.datetime,
    data_classes: list[str] | None = None,
    source: str = Incident.Source.REPORT,
    source_ref: str = "",
    event: AdverseEvent | None = None,
) -> Incident:
    """A privacy incident; its affected patients are computed from the audit trail (for one
    from an AI adverse event, also the exams sent to its deployment in the window)."""
    require_compliance(actor)
    problems = []
    if not title.strip():
        problems.append("title: say what happened in a few words")
    if window_end < window_start:
        problems.append("window: the end is before the start")
    if discovered_on > timezone.localdate():
        problems.append("discovered_on: the day of discovery cannot be in the future")
    if problems:
        raise IncidentError("; ".join(problems))
    exam_id = event.inference.exam_id if event is not None and event.inference else None
    patients = affected_patients(
        actor_names,
        window_start,
        window_end,
        deployment_id=event.deployment_id if event is not None else None,
        exam_ids=[exam_id] if exam_id else [],
    )
    return Incident.objects.create(
        adverse_event=event,
        exam_id=exam_id,
        deployment_id=event.deployment_id if event is not None else None,
        title=title.strip()[:200],
        what=what.strip(),
        source=source,
        source_ref=source_ref[:100],
        discovered_on=discovered_on,
        discovered_by=discovered_by[:150],
        opened_by=actor,
        data_classes=sorted(set(data_classes or ["exams"])),
        actor_names=sorted(set(actor_names)),
        window_start=window_start,
        window_end=window_end,
        affected_patients=patients,
        affected_count=len(patients),
    )


@service
def incident_from_case(actor: Any, case: AccessCase) -> Incident:
    """Turn an open case into an incident, discovered today, over the case's person and day."""
    require_compliance(actor)
    case = AccessCase.objects.select_for_update().get(pk=case.pk)
    if case.status != AccessCase.Status.OPEN:
        raise IncidentError(f"access case {case.pk} is {case.get_status_display()}, not open")
    incident = open_incident(
        actor,
        title=f"{case.get_rule_display()}: {case.actor_name}",
        what=case.summary,
        discovered_on=timezone.localdate(),
        discovered_by=actor.get_username(),
        actor_names=[case.actor_name],
        window_start=case.window_start,
        window_end=case.window_end,
        source=Incident.Source.ACCESS_CASE,
        source_ref=f"access case {case.pk}",
    )
    case.status, case.incident, case.closed_by = AccessCase.Status.INCIDENT, incident, actor
    case.save()
    return incident


def events_awaiting() -> Any:
    """AI adverse events the governance review flagged as a possible privacy breach that no
    incident has come from yet."""
    return AdverseEvent.objects.filter(
        reportable=Reportable.PRIVACY, privacy_incident__isnull=True
    ).select_related("deployment__model_version__product", "inference")


@service
def incident_from_event(actor: Any, event: AdverseEvent) -> Incident:
    """Turn an AI adverse event flagged as a possible privacy breach into an incident over its
    deployment, exam and day, discovered the day it was reported; its description stays in the
    event (encrypted), the incident names it."""
    require_compliance(actor)
    event = AdverseEvent.objects.select_for_update().get(pk=event.pk)
    if event.reportable != Reportable.PRIVACY:
        raise IncidentError(f"adverse event {event.pk} is not flagged as a possible privacy breach")
    if Incident.objects.filter(adverse_event=event).exists():
        raise IncidentError(f"adverse event {event.pk} is already an incident")
    start = timezone.make_aware(dt.datetime.combine(event.occurred_on, dt.time.min))
    kind = event.get_kind_display()
    return open_incident(
        actor,
        title=f"AI {kind} {event.pk}: possible privacy breach",
        what=f"An AI {kind} of {event.occurred_on:%Y-%m-%d} on {event.deployment}, flagged by "
        "the governance review as a possible privacy breach; what happened is in the event.",
        discovered_on=timezone.localdate(event.reported_at),
        discovered_by=actor.get_username(),
        actor_names=[],
        window_start=start,
        window_end=start + dt.timedelta(days=1),
        data_classes=["exams", "result_objects"],
        source=Incident.Source.ADVERSE_EVENT,
        source_ref=f"adverse event {event.pk}",
        event=event,
    )


@service
def dismiss_case(actor: Any, case: AccessCase, *, reason: str) -> AccessCase:
    require_compliance(actor)
    case = AccessCase.objects.select_for_update().get(pk=case.pk)
    if case.status != AccessCase.Status.OPEN:
        raise IncidentError(f"access case {case.pk} is {case.get_status_display()}, not open")
    if not reason.strip():
        raise IncidentError("reason: say why the access was appropriate")
    case.status, case.closed_by = AccessCase.Status.DISMISSED, actor
    case.closed_reason = reason.strip()[:500]
    case.save()
    return case


@service
def assess(
    actor: Any, incident: Incident, *, most_in_one_state: int | None = None, **factors: str
) -> Incident:
    """Write the four-factor risk assessment (45 CFR 164.402(2)); unknown factors refused."""
    require_compliance(actor)
    unknown = sorted(set(factors) - set(FACTORS))
    if unknown:
        raise IncidentError(f"not a risk factor: {', '.join(unknown)} (use {', '.join(FACTORS)})")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    for name, text in factors.items():
        setattr(incident, name, text.strip())
    incident.most_in_one_state = most_in_one_state
    incident.save()
    return incident


@service
def decide(actor: Any, incident: Incident, *, decision: str, reasons: str) -> Incident:
    """Breach or not.  "Not a breach" needs all four factors written: a breach is presumed
    unless the assessment shows a low probability that the PHI was compromised."""
    require_compliance(actor)
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if decision not in (Incident.Decision.BREACH, Incident.Decision.NOT_BREACH):
        raise IncidentError("decision: breach or not_breach")
    if not reasons.strip():
        raise IncidentError("reasons: give the reasons for the decision")
    missing = [name for name in FACTORS if not getattr(incident, name).strip()]
    if decision == Incident.Decision.NOT_BREACH and missing:
        raise IncidentError(
            "a breach is presumed unless the four-factor assessment shows a low probability of "
            f"compromise (45 CFR 164.402(2)); not yet assessed: {', '.join(missing)}"
        )
    incident.decision, incident.decision_reasons = decision, reasons.strip()
    incident.decided_by, incident.decided_at = actor, timezone.now()
    incident.save()
    return incident


@service
def record_notice(actor: Any, incident: Incident, *, notice: str, on: dt.date) -> Incident:
    require_compliance(actor)
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if notice not in NOTICES:
        raise IncidentError(f"notice: one of {', '.join(NOTICES)}")
    if incident.decision != Incident.Decision.BREACH:
        raise IncidentError("notices are recorded for an incident decided a breach")
    if on < incident.discovered_on or on > timezone.localdate():
        raise IncidentError("on: between the day of discovery and today")
    setattr(incident, NOTICES[notice], on)
    incident.save()
    return incident
