"""``record``: the one way to write an audit entry; ``append``: the one serialised step.

Inside a service, ``record`` builds the entry and leaves it in the service's buffer
(``pending``); the service appends the buffer just before its transaction commits.  Outside
a service, ``record`` appends at once, in the caller's transaction.  ``append`` locks a
free stripe's head, numbers and hashes the entries, inserts them in one statement, moves the head
and signs a checkpoint when the append passed a multiple of ``CHECKPOINT_EVERY``.  On
PostgreSQL one entry (a batch's, a single change's) is appended in one prepared statement
that does all of it (``head.append_one``).  See docs/decisions/0002-audit-at-volume.md.
"""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from radgov.core import context
from radgov.core.audit import chain, pending
from radgov.core.audit.checkpoint import CHECKPOINT_EVERY, checkpoint_locked
from radgov.core.audit.codes import OUTCOMES, Action, EventCode, default_event_code
from radgov.core.audit.head import (
    advance_head,
    append_one,
    insert_and_advance,
    lock_head,
)
from radgov.core.models import AuditEntry
from radgov.core.models.audit import appending

APPEND_BATCH = 1000  # rows per INSERT: 17 columns each, well under PostgreSQL's 65,535 parameters
_ENCODER = DjangoJSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)
# an unsaved entry's columns, in the model's order, and those the append fills in
_COLUMNS = tuple(f.attname for f in AuditEntry._meta.concrete_fields)
_UNCHAINED = dict(id=None, stripe=0, seq=None, timestamp=None, prev_hash="", entry_hash="")


def to_json(value: dict[str, Any] | None) -> str:
    """Canonical JSON text of a detail/changes dict (dates, decimals, UUIDs as strings)."""
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        raise TypeError("audit detail and changes must be dicts")
    text: str = _ENCODER.encode(value)
    return text


def new_entry(values: dict[str, Any]) -> AuditEntry:
    """An entry not yet on the chain, of ``values`` (every column but the chain's): built
    from positional values, which Django's model constructor takes several times faster than
    keywords (an entry per message is on the writer's path)."""
    values = _UNCHAINED | values
    return AuditEntry(*[values[name] for name in _COLUMNS])


def actor_fields(actor: Any, actor_name: str | None) -> dict[str, Any]:
    """Who acted, as the entry names them: a person by id, user name and role; a machine
    (``is_machine``) by its principal's name and ``machine:<kind>``, with no user id."""
    if getattr(actor, "is_machine", False):
        return {
            "actor_id": None,
            "actor_name": (actor_name or actor.name)[:150],
            "actor_role": f"machine:{actor.kind}"[:32],
        }
    if actor_name is None:
        actor_name = actor.get_username() if actor is not None else ""
    return {
        "actor_id": getattr(actor, "pk", None),
        "actor_name": actor_name[:150],
        "actor_role": str(getattr(actor, "role", "") or "")[:32],
    }


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
    """Add one entry to the audit trail, in the caller's transaction.

    ``detail`` and ``changes`` are small JSON and never hold PHI values
    (``changes`` is ``{"field": [before, after]}``; redacted fields say
    ``"<changed>"``).  The actor defaults to the one of the acting context (a person or a
    machine).  Inside a service the entry joins the chain when the service commits: its
    ``seq``, ``timestamp`` and hashes are filled in then.
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
    entry = new_entry(
        {
            **actor_fields(actor if actor is not None else ctx.user, actor_name),
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
    )
    buffer = pending.current()
    if buffer is not None:
        buffer.add(entry)
    else:
        with transaction.atomic():
            append([entry])
    return entry


def append(entries: list[AuditEntry], *, stripe: int | None = None) -> None:
    """Join ``entries`` to a stripe of the chain, in order: the first free one, or ``stripe``
    (waiting for its head); call inside the transaction that wrote them."""
    if not entries:
        return
    now = timezone.now()
    if stripe is None and len(entries) == 1 and connection.vendor == "postgresql":
        entry = entries[0]
        entry.timestamp = now
        if append_one(entry):
            if entry.seq % CHECKPOINT_EVERY == 0:
                _checkpoint(entry.stripe)
            return
    head = lock_head(stripe)
    stripe, seq, prev = head.pk - 1, head.seq, head.entry_hash
    for entry in entries:
        seq += 1
        entry.stripe, entry.seq, entry.timestamp, entry.prev_hash = stripe, seq, now, prev
        entry.entry_hash = prev = chain.entry_hash(prev, entry.__dict__)
    checkpoint = seq // CHECKPOINT_EVERY > head.seq // CHECKPOINT_EVERY
    if connection.vendor == "postgresql" and not checkpoint and len(entries) <= APPEND_BATCH:
        insert_and_advance(head, entries, seq, prev)
        return
    with appending():
        models.QuerySet(AuditEntry).bulk_create(entries, batch_size=APPEND_BATCH)
    advance_head(head, seq, prev)
    if checkpoint:
        _checkpoint(stripe)


def _checkpoint(stripe: int) -> None:
    """Sign a checkpoint after an append to ``stripe`` passed a multiple of CHECKPOINT_EVERY."""
    if stripe != 0:
        lock_head(0)  # checkpoints are made under stripe 0's head, one at a time
    checkpoint_locked()
