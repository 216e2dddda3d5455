"""Adverse events and peer learning (IV.G.4; issue 17; docs/monitoring.md, "Adverse events").

Anyone who sees patient data may report an AI-related complication, near miss or adverse
event, linked to the deployment and, when known, the inference.  The review is non-punitive:
a reporter who asks to stay anonymous is shown to nobody but themself.  A governance-group
member (or an administrator) reviews it once: the finding, the contributing factors, the
action, and whether it may be reportable (FDA MedWatch for a device malfunction, a privacy
breach), which puts it on the compliance role's list.  Reading an event's text is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from radgov.core import policy
from radgov.core.audit import Action, EventCode, record
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.exams.errors import ExamConflict, ExamError, NotPermitted, Problem
from radgov.exams.models import Inference
from radgov.governance import services as governance
from radgov.governance.models import Meeting
from radgov.inventory.models import Deployment
from radgov.monitoring.models import AdverseEvent, EventKind, Factor, Reportable

MAX_TEXT = 10_000


def _text(name: str, value: str, problems: list[Problem]) -> str:
    value = (value or "").strip()
    if not value:
        problems.append(Problem(name, "is required"))
    elif len(value) > MAX_TEXT:
        problems.append(Problem(name, f"is longer than {MAX_TEXT} characters"))
    return value


@service
def report_event(
    user: Any, deployment: Deployment, *, kind: str, occurred_on: dt.date, description: str,
    inference_id: int | None = None, anonymous: bool = False,
) -> AdverseEvent:  # fmt: skip
    """Record an event in the peer-learning queue."""
    problems: list[Problem] = []
    if kind not in EventKind.values:
        problems.append(Problem("kind", f"must be one of {', '.join(EventKind.values)}"))
    if occurred_on > timezone.localdate():
        problems.append(Problem("occurred_on", "is in the future"))
    description = _text("description", description, problems)
    inference = None
    if inference_id is not None:
        inference = Inference.objects.filter(pk=inference_id, deployment=deployment).first()
        if inference is None:
            problems.append(Problem("inference_id", "is not an inference of this deployment"))
    if problems:
        raise ExamError(problems)
    return AdverseEvent.objects.create(
        deployment=deployment, inference=inference, kind=kind, occurred_on=occurred_on,
        description=description, reporter=user, anonymous=anonymous,
    )  # fmt: skip


@service
def review_event(
    user: Any, event: AdverseEvent, *, finding: str, factors: list[str], action: str,
    reportable: str = "",
) -> AdverseEvent:  # fmt: skip
    """A governance-group member records the peer-learning review (once)."""
    policy.require_governance(
        user,
        "IV.G.4: only governance-group members and administrators review events",
        denied=NotPermitted,
    )
    event = AdverseEvent.objects.select_for_update().get(pk=event.pk)
    if event.reviewed_at is not None:
        raise ExamConflict(
            [Problem("", f"event {event.pk} was reviewed on {event.reviewed_at:%Y-%m-%d}")]
        )
    problems: list[Problem] = []
    finding, action = _text("finding", finding, problems), _text("action", action, problems)
    if not factors:
        problems.append(Problem("factors", "name at least one contributing factor"))
    unknown = sorted(set(factors) - set(Factor.values))
    if unknown:
        problems.append(
            Problem("factors", f"{', '.join(unknown)}: not one of {', '.join(Factor.values)}")
        )
    if reportable not in Reportable.values:
        problems.append(Problem("reportable", "must be empty or one of medwatch, privacy"))
    if problems:
        raise ExamError(problems)
    event.finding, event.factors, event.action = finding, sorted(set(factors)), action
    event.reportable, event.reviewed_at, event.reviewed_by = reportable, timezone.now(), user
    event.save()
    return event


@service
def to_next_agenda(user: Any) -> tuple[Meeting | None, list[AdverseEvent]]:
    """Put every open event not yet on an agenda on the next open meeting of a governance
    group the user is an active member of (the earliest from today); the item names the event,
    its kind and day, never its text."""
    meeting = (
        Meeting.objects.filter(
            group__memberships__user=user, group__memberships__left_on__isnull=True,
            held_on__gte=timezone.localdate(), closed_at__isnull=True,
        )
        .order_by("held_on", "pk")
        .first()
    )  # fmt: skip
    if meeting is None:
        return None, []
    added = []
    for event in AdverseEvent.objects.filter(reviewed_at__isnull=True, agenda_item__isnull=True):
        event.agenda_item = governance.add_agenda_item(
            user, meeting, deployment=event.deployment,
            title=f"AI {event.get_kind_display()} #{event.pk} of {event.occurred_on}: peer learning",
        )  # fmt: skip
        event.save()
        added.append(event)
    return meeting, added


def may_read(user: Any) -> bool:
    """The reviewers (governance group, administrators) and the compliance role."""
    return policy.governs(user) or getattr(user, "role", None) == Role.COMPLIANCE


def queue(user: Any, *, open_only: bool = True, reportable: bool = False) -> list[AdverseEvent]:
    """The peer-learning queue (or every event); ``reportable``: those flagged for compliance."""
    if not may_read(user):
        raise NotPermitted("IV.G.4: events are read by the governance group and compliance")
    rows = AdverseEvent.objects.select_related(
        "deployment__model_version__product", "reporter", "agenda_item__meeting"
    )
    if open_only:
        rows = rows.filter(reviewed_at__isnull=True)
    if reportable:
        rows = rows.exclude(reportable="")
    return list(rows)


def event_out(event: AdverseEvent, viewer: Any) -> dict[str, Any]:
    """One event as the viewer may see it (the reporter hidden when anonymous); the read of
    its text is audited."""
    record(
        action=Action.READ, obj=event, event_code=EventCode.PROCEDURE_RECORD, actor=viewer,
        detail={"what": "adverse event", "deployment": event.deployment_id},
    )  # fmt: skip
    shown = event.reporter if not event.anonymous or event.reporter_id == viewer.pk else None
    return {
        "id": event.pk,
        "deployment_id": event.deployment_id,
        "deployment": str(event.deployment),
        "inference_id": event.inference_id,
        "kind": event.kind,
        "occurred_on": event.occurred_on.isoformat(),
        "description": event.description.reveal(),
        "reporter": shown.get_username() if shown else ("anonymous" if event.anonymous else None),
        "reported_at": event.reported_at.isoformat(),
        "reviewed_at": event.reviewed_at.isoformat() if event.reviewed_at else None,
        "finding": event.finding.reveal() if event.reviewed_at else "",
        "factors": event.factors,
        "action": event.action,
        "reportable": event.reportable,
        "meeting": str(event.agenda_item.meeting) if event.agenda_item_id else None,
    }
