"""Removing the oldest part of the audit trail without breaking its verification.

The trail may lose a prefix, entries 1..S, only where a signed checkpoint stands (checkpoint
at entry S, whose signature covers that entry's hash) and only with a *prune entry* in the
remaining chain that says so: action ``delete`` on ``core.auditentry`` (DICOM 110101, Audit
Log Used) with ``{"purpose": "prune", "through": S, "checkpoint": N, "removed": count}``.
``verify`` then starts its walk at entry S + 1 from the checkpoint's hash; a prefix removed
any other way is reported as a gap.  The prune entry and the deletion are one transaction,
under the chain head's lock.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import models, transaction

from radgov.core.audit.chain import GENESIS, Problem
from radgov.core.audit.codes import Action, EventCode
from radgov.core.audit.head import lock_head
from radgov.core.audit.writer import record
from radgov.core.models import AuditCheckpoint, AuditEntry

OBJECT_TYPE = "core.auditentry"
PURPOSE = "prune"


def first_kept() -> int:
    """The seq of the oldest entry still in the trail (1 when nothing was pruned)."""
    first = AuditEntry.objects.order_by("seq").values_list("seq", flat=True).first()
    return first or 1


def prunable(cutoff: dt.datetime) -> AuditCheckpoint | None:
    """The newest checkpoint whose entry is older than ``cutoff`` and not pruned yet."""
    last_old = (
        AuditEntry.objects.filter(timestamp__lt=cutoff)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    if last_old is None:
        return None
    return (
        AuditCheckpoint.objects.filter(seq__gte=first_kept(), seq__lte=last_old)
        .order_by("-number")
        .first()
    )


def prune(through: AuditCheckpoint, *, actor: Any = None) -> int:
    """Remove entries 1..``through.seq``; returns how many went."""
    with transaction.atomic():
        lock_head()
        doomed = AuditEntry.objects.filter(seq__lte=through.seq)
        count = doomed.count()
        if not count:
            return 0
        record(
            action=Action.DELETE,
            object_type=OBJECT_TYPE,
            event_code=EventCode.AUDIT_LOG_USED,
            actor=actor,
            detail={
                "purpose": PURPOSE,
                "through": through.seq,
                "checkpoint": through.number,
                "removed": count,
            },
        )
        # the one deletion of audit rows: past the append-only queryset on purpose
        models.QuerySet(AuditEntry).filter(seq__lte=through.seq).delete()
    return count


def walk_start() -> tuple[int, str, Problem | None]:
    """Where verification starts: (seq, previous hash, problem with a pruned prefix)."""
    first = AuditEntry.objects.order_by("seq").values("seq", "prev_hash", "id").first()
    if first is None or first["seq"] == 1:
        return 1, GENESIS, None
    through = first["seq"] - 1
    cp = AuditCheckpoint.objects.filter(seq=through).first()
    if cp is None or cp.entry_hash != first["prev_hash"]:
        return 1, GENESIS, None  # the walk reports the gap at entry 1
    recorded = AuditEntry.objects.filter(
        action=Action.DELETE, object_type=OBJECT_TYPE, detail_json__contains='"purpose":"prune"'
    ).values_list("detail_json", flat=True)
    if not any(json.loads(d).get("through") == through for d in recorded):
        return (
            1,
            GENESIS,
            Problem(
                "gap",
                f"entries 1..{through} are missing and no prune entry records their removal",
                1,
                first["id"],
            ),
        )
    return first["seq"], first["prev_hash"], None
