"""The technologist remediation queue (III.E.1.d; docs/gateway.md, "Rejected inputs"):
every input a model rejected for a reason a technologist can fix at the scanner (slice
thickness, kVp, contrast, a missing series, missing images, image quality), by station and
reason, until a technologist says it was resent or cannot be fixed.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from radgov.core.errors import Refused
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.exams import access
from radgov.exams import audit as exams_audit
from radgov.exams.models import Inference
from radgov.exams.reasons import REASONS
from radgov.exams.statuses import Status
from radgov.gateway.models import Remediation, Remedy

REMEDIABLE = tuple(code for code, reason in REASONS.items() if reason.remediable)
WORKERS = frozenset({Role.TECHNOLOGIST, Role.INFORMATICS, Role.ADMINISTRATOR})
MAX_SHOWN = 500
NOTE_MAX = 1000


class RemediationError(Refused):
    """A decision that cannot be recorded; the message says why."""


def _require(user: Any) -> None:
    if getattr(user, "role", None) not in WORKERS or not getattr(user, "is_active", False):
        raise access.NotPermitted(
            "III.E.1.d: technologists, imaging informatics and administrators work this queue"
        )


def unanswered() -> Q:
    """Not answered since its rejection (a study resent and rejected again is back on the
    queue; the earlier answer stays in the audit trail)."""
    return Q(remediation__isnull=True) | Q(remediation__decided_at__lt=F("status_at"))


def waiting() -> QuerySet[Inference]:
    return (
        Inference.objects.filter(status=Status.REJECTED, reason_code__in=REMEDIABLE)
        .filter(unanswered())
        .select_related("exam", "deployment__model_version__product__company")
        .order_by("exam__station_name", "reason_code", "status_at", "pk")
    )


def queue(user: Any) -> list[Inference]:
    """The rejected inputs waiting for a technologist, by station and reason; audited."""
    _require(user)
    rows = list(waiting()[:MAX_SHOWN])
    exams_audit.read_exams(
        user,
        [i.exam_id for i in rows],
        what="remediation queue",
        total=waiting().count(),
    )
    return rows


@service
def decide(user: Any, inference: Inference, outcome: str, note: str = "") -> Remediation:
    """Record that a rejected input was resent from the scanner, or cannot be fixed."""
    _require(user)
    if outcome not in Remedy.values:
        raise RemediationError(f"outcome: one of {', '.join(Remedy.values)}")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise RemediationError(f"note: at most {NOTE_MAX} characters")
    locked = Inference.objects.select_for_update().get(pk=inference.pk)
    if locked.status != Status.REJECTED or locked.reason_code not in REMEDIABLE:
        raise RemediationError("this inference is not a rejected input a technologist can fix")
    earlier = Remediation.objects.filter(inference=locked).first()
    if earlier is not None and earlier.decided_at >= locked.status_at:
        raise RemediationError("this rejected input was already answered")
    answer, _ = Remediation.objects.update_or_create(
        inference=locked,
        defaults={
            "outcome": outcome,
            "note": note,
            "decided_by": user,
            "decided_by_name": user.get_username(),
            "decided_at": timezone.now(),
        },
    )
    return answer
