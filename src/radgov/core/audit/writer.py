"""``record``: the one way to write an audit entry, inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from radgov.core import context
from radgov.core.audit import chain
from radgov.core.audit.checkpoint import CHECKPOINT_EVERY, checkpoint_locked
from radgov.core.audit.codes import OUTCOMES, Action, EventCode, default_event_code
from radgov.core.audit.head import advance_head, lock_head
from radgov.core.models import AuditEntry
from radgov.core.models.audit import appending


def to_json(value: dict[str, Any] | None) -> str:
    """Canonical JSON text of a detail/changes dict (dates, decimals, UUIDs as strings)."""
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        raise TypeError("audit detail and changes must be dicts")
    return DjangoJSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode(value)


def record(
    *,
    action: Action | str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    outcome: str = "success",
    event_code: EventCode | str | None = None,
    detail: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
    actor: Any = None,
    actor_name: str | None = None,
) -> AuditEntry:
    """Append one entry to the audit trail, in the caller's transaction.

    ``detail`` and ``changes`` are small JSON and never hold PHI values
    (``changes`` is ``{"field": [before, after]}``; redacted fields say
    ``"<changed>"``).  The actor defaults to the user of the acting context.
    """
    action = Action(action)
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    model = type(obj) if obj is not None else None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        if object_id is None and obj.pk is not None:
            object_id = str(obj.pk)
    object_type = object_type or ""
    code = EventCode(event_code) if event_code else default_event_code(action, object_type, model)
    ctx = context.current()
    if actor is None:
        actor = ctx.user
    if actor_name is None:
        actor_name = actor.get_username() if actor is not None else ""
    fields: dict[str, Any] = {
        "actor_id": getattr(actor, "pk", None),
        "actor_name": actor_name[:150],
        "actor_role": str(getattr(actor, "role", "") or "")[:32],
        "client_address": ctx.client_address[:64],
        "request_id": ctx.request_id[:64],
        "channel": ctx.channel[:16],
        "action": action.value,
        "event_code": code.value,
        "object_type": object_type[:100],
        "object_id": "" if object_id is None else str(object_id)[:255],
        "outcome": outcome,
        "detail_json": to_json(detail),
        "changes_json": to_json(changes),
    }
    with transaction.atomic():
        head = lock_head()
        fields["seq"] = head.seq + 1
        fields["timestamp"] = timezone.now()
        digest = chain.entry_hash(head.entry_hash, fields)
        with appending():
            entry = AuditEntry.objects.create(
                prev_hash=head.entry_hash, entry_hash=digest, **fields
            )
        advance_head(entry.seq, digest)
        if entry.seq % CHECKPOINT_EVERY == 0:
            head.seq, head.entry_hash = entry.seq, digest
            checkpoint_locked(head)
    return entry
