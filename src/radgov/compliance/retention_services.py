"""Every change to retention policies and legal holds (docs/retention.md).  Only the
compliance role changes them; each change is audited by the core in the same transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from radgov.compliance.models import LegalHold, RetentionPolicy
from radgov.compliance.models.retention import DataClass
from radgov.compliance.retention import FLOORS, policy
from radgov.core.errors import Refused
from radgov.core.models import PatientIdentity
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.exams.models import Exam
from radgov.inventory.models import Deployment


class RetentionError(Refused):
    """A refused change; the message names what is wrong."""


def require_compliance(actor: Any) -> None:
    """Retention, legal holds, access cases and incidents are the privacy officer's."""
    if getattr(actor, "role", None) != Role.COMPLIANCE or not getattr(actor, "is_active", False):
        raise RetentionError("only the compliance role (the privacy officer) may do this")


@service
def set_policy(
    actor: Any, data_class: str, *, days: int, legal_minimum_days: int | None = None, note: str = ""
) -> RetentionPolicy:
    """Set a class's retention; refused when shorter than the practice's legal minimum."""
    require_compliance(actor)
    if data_class not in DataClass.values:
        raise RetentionError(
            f"data class {data_class!r} is not one of {', '.join(DataClass.values)}"
        )
    current = policy(data_class)
    minimum = current.legal_minimum_days if legal_minimum_days is None else legal_minimum_days
    if days < 1 or minimum < 0:
        raise RetentionError("days must be at least 1 and the legal minimum at least 0")
    floor, basis = FLOORS.get(data_class, (0, ""))
    if days < floor:
        raise RetentionError(
            f"{days} days is shorter than the {floor} days radgov keeps "
            f"{DataClass(data_class).label} at least ({basis}); nothing was changed"
        )
    if days < minimum:
        raise RetentionError(
            f"{days} days is shorter than the legal minimum of {minimum} days the practice set "
            f"for {DataClass(data_class).label}; nothing was changed"
        )
    row = RetentionPolicy.objects.select_for_update().filter(data_class=data_class).first()
    row = row or RetentionPolicy(data_class=data_class)
    row.days, row.legal_minimum_days, row.note = days, minimum, note.strip()[:500]
    row.updated_by, row.updated_at = actor, timezone.now()
    row.save()
    return row


@service
def place_hold(
    actor: Any,
    *,
    scope: str,
    reason: str,
    exam_id: int | None = None,
    patient_pseudonym: str = "",
    deployment_id: int | None = None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
) -> LegalHold:
    require_compliance(actor)
    if not reason.strip():
        raise RetentionError("reason: name the matter the hold is for")
    hold = LegalHold(scope=scope, reason=reason.strip()[:300], placed_by=actor)
    if scope == LegalHold.Scope.EXAM:
        hold.exam = _found(Exam, exam_id, "exam")
    elif scope == LegalHold.Scope.PATIENT:
        patient = PatientIdentity.objects.filter(pseudonym=patient_pseudonym.strip()).first()
        if patient is None:
            raise RetentionError("patient: no patient has that pseudonym")
        hold.patient = patient
    elif scope == LegalHold.Scope.DEPLOYMENT:
        hold.deployment = _found(Deployment, deployment_id, "deployment")
    elif scope == LegalHold.Scope.DATES:
        if starts_on is None and ends_on is None:
            raise RetentionError("dates: give a first day, a last day or both")
        if starts_on and ends_on and ends_on < starts_on:
            raise RetentionError("dates: the last day is before the first")
        hold.starts_on, hold.ends_on = starts_on, ends_on
    else:
        raise RetentionError(f"scope must be one of {', '.join(LegalHold.Scope.values)}")
    hold.save()
    return hold


def _found(model: Any, pk: int | None, what: str) -> Any:
    row = model.objects.filter(pk=pk).first() if pk else None
    if row is None:
        raise RetentionError(f"{what}: no {what} {pk}")
    return row


@service
def release_hold(actor: Any, hold: LegalHold, *, reason: str) -> LegalHold:
    require_compliance(actor)
    hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if hold.released_at is not None:
        raise RetentionError(f"legal hold {hold.pk} was already released")
    if not reason.strip():
        raise RetentionError("reason: say why the hold ends")
    hold.released_at, hold.released_by = timezone.now(), actor
    hold.release_reason = reason.strip()[:300]
    hold.save()
    return hold
