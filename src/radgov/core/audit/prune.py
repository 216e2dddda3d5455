"""Removing the oldest part of the audit trail without breaking its verification.

The trail may lose a prefix only where a signed checkpoint stands: every stripe's entries up
to that checkpoint's head of the stripe (whose hash the signature covers), and only with a
*prune entry* in the remaining chain that says so: action ``delete`` on ``core.auditentry``
(DICOM 110101, Audit Log Used) with ``{"purpose": "prune", "through": S, "checkpoint": N,
"removed": count}`` (S the checkpoint's entry of stripe 0).  ``verify`` then starts each
stripe's walk after the checkpoint's head of that stripe, from its hash; a prefix removed any
other way is reported as a gap.  The prune entry and the deletion are one transaction, under
stripe 0's head, the lock checkpoints are made under.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import models, transaction
from django.db.models import Q

from radgov.core.audit.chain import GENESIS, Problem
from radgov.core.audit.checkpoint import heads
from radgov.core.audit.codes import Action, EventCode
from radgov.core.audit.head import lock_head
from radgov.core.audit.writer import record
from radgov.core.models import AuditCheckpoint, AuditEntry

OBJECT_TYPE = "core.auditentry"
PURPOSE = "prune"


def first_kept() -> int:
    """The seq of stripe 0's oldest entry still in the trail (1 when nothing was pruned):
    checkpoints and prune entries are numbered by stripe 0's seq."""
    kept = AuditEntry.objects.filter(stripe=0).order_by("seq")
    return kept.values_list("seq", flat=True).first() or 1


def prunable(cutoff: dt.datetime) -> AuditCheckpoint | None:
    """The newest checkpoint whose entries are older than ``cutoff`` and not pruned yet (one
    covering other stripes than 0 must itself be older: their entries are no newer)."""
    last_old = (
        AuditEntry.objects.filter(stripe=0, timestamp__lt=cutoff)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    if last_old is None:
        return None
    return (
        AuditCheckpoint.objects.filter(seq__gte=first_kept(), seq__lte=last_old)
        .filter(Q(heads_json="[]") | Q(created__lt=cutoff))
        .order_by("-number")
        .first()
    )


def _covered(through: AuditCheckpoint) -> Q:
    """Every stripe's entries up to ``through``'s head of it."""
    covered = Q(pk__in=[])
    for stripe, (seq, _) in heads(through.__dict__).items():
        covered |= Q(stripe=stripe, seq__lte=seq)
    return covered


def count_prunable(through: AuditCheckpoint) -> int:
    """How many entries, over all stripes, a prune through ``through`` would remove."""
    return AuditEntry.objects.filter(_covered(through)).count()


def prune(through: AuditCheckpoint, *, actor: Any = None) -> int:
    """Remove every stripe's entries up to ``through``'s head of it; returns how many went."""
    covered = _covered(through)
    with transaction.atomic():
        lock_head(0)
        count = AuditEntry.objects.filter(covered).count()
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
        models.QuerySet(AuditEntry).filter(covered).delete()
    return count


def walk_start(stripe: int = 0) -> tuple[int, str, Problem | None]:
    """Where a stripe's verification starts: (seq, previous hash, problem with a pruned
    prefix)."""
    first = (
        AuditEntry.objects.filter(stripe=stripe)
        .order_by("seq")
        .values("seq", "prev_hash", "id")
        .first()
    )
    if first is None or first["seq"] == 1:
        return 1, GENESIS, None
    through = first["seq"] - 1
    numbers = {
        cp["number"]
        for cp in AuditCheckpoint.objects.values("number", "seq", "entry_hash", "heads_json")
        if heads(cp).get(stripe) == (through, first["prev_hash"])
    }
    if not numbers:
        return 1, GENESIS, None  # the walk reports the gap at entry 1
    recorded = AuditEntry.objects.filter(
        action=Action.DELETE, object_type=OBJECT_TYPE, detail_json__contains='"purpose":"prune"'
    ).values_list("detail_json", flat=True)
    if not any(json.loads(d).get("checkpoint") in numbers for d in recorded):
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
