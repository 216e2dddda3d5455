"""Each batch entry against the rows it names: part of ``radgov audit verify``.

The trail is read from the newest entry back, remembering which rows later entries wrote (a
batch's rows; the object of an entry that created, changed or deleted one object).  A batch
none of whose rows a later entry wrote must find exactly its rows, no more and no fewer,
with exactly its digest (``rows.digest`` over the columns it lists).  A batch some of whose
rows were written again later is *superseded*: the later entries hold those rows' history,
and its digest proves only a copy of the rows as they were (an export, a backup).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldError
from django.db import models

from radgov.core.audit import rows
from radgov.core.audit.chain import Problem
from radgov.core.models import AuditEntry

WRITES = frozenset({"create", "update", "delete", "import"})
RANGES_PER_QUERY = 200


@dataclass
class RowReport:
    checked: int = 0
    superseded: int = 0
    problems: list[Problem] = field(default_factory=list)


def batch_of(detail_json: str) -> dict[str, Any] | None:
    """The ``batch`` part of an entry's detail, if the entry is a batch."""
    if '"batch":' not in detail_json:
        return None
    try:
        spec = json.loads(detail_json).get("batch")
    except (ValueError, AttributeError):
        return None
    return spec if isinstance(spec, dict) and spec.get("form") == rows.FORM else None


def check_batches(*, chunk_size: int = 2000) -> RowReport:
    report = RowReport()
    written: defaultdict[str, rows.KeySet] = defaultdict(rows.KeySet)
    entries = (
        AuditEntry.objects.order_by("-id")
        .values_list("stripe", "seq", "action", "object_type", "object_id", "detail_json")
        .iterator(chunk_size=chunk_size)
    )
    for stripe, seq, action, object_type, object_id, detail_json in entries:
        spec = batch_of(detail_json)
        if spec is None:
            if action in WRITES and object_id.isdigit():
                written[object_type].add(int(object_id), int(object_id))
            continue
        keys: Mapping[str, list[list[int]]] = spec.get("rows", {})
        if any(written[label].overlaps(lo, hi) for label, rs in keys.items() for lo, hi in rs):
            report.superseded += 1
        else:
            problem = _check(AuditEntry(stripe=stripe, seq=seq).position, seq, spec)
            report.checked += 1
            if problem is not None:
                report.problems.append(problem)
        for label, rs in keys.items():
            for lo, hi in rs:
                written[label].add(lo, hi)
    report.problems.reverse()  # the oldest first, as the chain's walk reports
    return report


def _check(position: str, seq: int, spec: dict[str, Any]) -> Problem | None:
    found: dict[str, dict[int, list[Any]]] = {}
    for label, keys in spec["rows"].items():
        try:
            model = apps.get_model(label)
            found[label] = dict(_read(model, spec["fields"][label], keys))
        except (LookupError, FieldError, KeyError) as exc:
            return Problem("rows", f"entry {position}: its batch cannot be checked ({exc})", seq)
        expected = rows.range_count(keys)
        if len(found[label]) != expected:
            return Problem(
                "rows",
                f"entry {position}: its batch wrote {expected} {label} rows but {len(found[label])} "
                "stand under its keys, and no later entry removed or wrote any (rows added or "
                "removed outside the audit trail)",
                seq,
            )
    if rows.digest(found) != spec["digest"]:
        return Problem(
            "rows",
            f"entry {position}: the rows of its batch no longer match its digest, and no later entry "
            "wrote them (rows altered outside the audit trail)",
            seq,
        )
    return None


def _read(
    model: type[models.Model], names: list[str], keys: list[list[int]]
) -> Iterator[tuple[int, list[Any]]]:
    for i in range(0, len(keys), RANGES_PER_QUERY):
        where = models.Q()
        for lo, hi in keys[i : i + RANGES_PER_QUERY]:
            where |= models.Q(pk__range=(lo, hi))
        for pk, *values in models.QuerySet(model).filter(where).values_list("pk", *names):
            yield pk, values
