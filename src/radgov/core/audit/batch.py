"""``batch``: one audit entry for a bulk write, with the count and digest of what it stored.

    from radgov.core.audit import batch

    @service
    def ingest(user, events):
        with batch(action="import", detail={"source": "inference-feed"}):
            Inference.objects.bulk_create([Inference(...) for e in events])

Inside the block every audited create or update (``save()``, ``create()``, ``bulk_create()``,
``bulk_update()``, ``QuerySet.update()``) adds its rows to the batch instead of recording an
entry per row; leaving the block records one entry whose ``detail["batch"]`` holds the
count, the rows' keys, the columns covered and the digest of the values stored
(``radgov.core.audit.rows``).  Deletions and many-to-many changes inside the block still
record one entry each.  Blocks nest: each entry covers the rows written directly in its
block.  Rows written inside a savepoint that rolls back are left out, as the rows are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from operator import itemgetter
from typing import Any

from django.db import models

from radgov.core.audit import pending, rows
from radgov.core.audit.codes import Action, EventCode, default_event_code
from radgov.core.audit.writer import record

# new rows added whole (``add_rows``): marker, sorted column names, keys, rows (values in
# the order of the names), and the rows' canonical JSON (``rows.columns_json``)
Block = tuple[pending.Marker, list[str], list[int], list[Any], str]
# per row, what each write stored, in order: (marker, values, created)
History = list[tuple[pending.Marker, Mapping[str, Any], bool]]


class Batch:
    """The rows written in one ``batch`` block, by model label and primary key."""

    def __init__(self, buffer: pending.Pending) -> None:
        self._markers = buffer.markers
        self._models: dict[str, type[models.Model]] = {}
        self._rows: dict[str, dict[int, History]] = {}
        self._blocks: dict[str, list[Block]] = {}

    def add(
        self,
        model: type[models.Model],
        stored: Mapping[Any, Mapping[str, Any]],
        *,
        created: bool,
    ) -> None:
        """Rows of ``model`` just written: {pk: {column: value as stored}}."""
        label = model._meta.label_lower
        self._models[label] = model
        by_pk = self._rows.setdefault(label, {})
        for marker, names, keys, block, _ in self._blocks.pop(label, ()):
            for pk, row in zip(keys, block, strict=True):
                by_pk.setdefault(pk, []).append((marker, dict(zip(names, row, strict=True)), True))
        marker = self._markers.current()
        for pk, values in stored.items():
            if type(pk) is not int:
                raise TypeError(
                    f"{model._meta.label} has a primary key of type {type(pk).__name__}; "
                    "an audit batch names its rows by integer keys"
                )
            by_pk.setdefault(pk, []).append((marker, values, created))

    def add_rows(
        self,
        model: type[models.Model],
        names: list[str],
        keys: list[int],
        values: list[Any],
        table: str,
    ) -> None:
        """New rows of ``model`` at machine pace (``ingest``): their keys, their values as
        stored in the order of ``names`` (every column but the key, sorted), and ``table``,
        the rows in the digest's canonical JSON (``rows.columns_json``), made by the caller
        while the database stored them.  Kept whole until a row-by-row write of the same
        model in the block needs them as rows."""
        label = model._meta.label_lower
        if label in self._rows:
            stored = {
                pk: dict(zip(names, row, strict=True)) for pk, row in zip(keys, values, strict=True)
            }
            self.add(model, stored, created=True)
            return
        self._models[label] = model
        block = (self._markers.current(), names, keys, values, table)
        self._blocks.setdefault(label, []).append(block)

    def summary(self) -> dict[str, Any] | None:
        """``detail["batch"]`` of the entry, or None when no row stands."""
        alive = pending.still_pending()
        tables: dict[str, str] = {}
        fields: dict[str, list[str]] = {}
        keys: dict[str, list[list[int]]] = {}
        created = count = 0
        for label in sorted(self._blocks):
            blocks = [block for block in self._blocks[label] if id(block[0]) in alive]
            if not blocks:
                continue
            fields[label] = blocks[0][1]
            if len(blocks) == 1:  # the common case: its canonical JSON is made already
                _, _, block_keys, _, tables[label] = blocks[0]
                keys[label] = rows.to_ranges(block_keys)
                written = len(block_keys)
            else:
                by_pk = {
                    pk: row for _, _, ks, vs, _ in blocks for pk, row in zip(ks, vs, strict=True)
                }
                tables[label] = rows.table_json(by_pk)
                keys[label] = rows.to_ranges(by_pk)
                written = len(by_pk)
            created += written
            count += written
        for label in sorted(self._rows):
            standing = {}
            for pk, history in self._rows[label].items():
                kept = [(values, made) for marker, values, made in history if id(marker) in alive]
                if kept:
                    standing[pk] = kept
            if not standing:
                continue
            names = fields[label] = sorted(next(iter(standing.values()))[-1][0])
            pick = _picker(names)
            tables[label] = rows.table_json(
                {pk: pick(kept[-1][0]) for pk, kept in standing.items()}
            )
            keys[label] = rows.to_ranges(standing)
            created += sum(1 for kept in standing.values() if any(made for _, made in kept))
            count += len(standing)
        if not count:
            return None
        return {
            "form": rows.FORM,
            "count": count,
            "created": created,
            "updated": count - created,
            "digest": rows.digest_of_tables(tables),
            "fields": fields,
            "rows": keys,
        }

    def only_model(self) -> type[models.Model] | None:
        return next(iter(self._models.values())) if len(self._models) == 1 else None


def _picker(names: list[str]) -> Any:
    """values -> the tuple of ``names``' values, in their order."""
    return itemgetter(*names) if len(names) > 1 else lambda v: tuple(v[n] for n in names)


_current: ContextVar[Batch | None] = ContextVar("radgov_audit_batch", default=None)


def current() -> Batch | None:
    return _current.get()


@contextmanager
def batch(
    *,
    action: Action | str = Action.CREATE,
    object_type: str | None = None,
    object_id: str | None = None,
    detail: dict[str, Any] | None = None,
    event_code: EventCode | str | None = None,
) -> Iterator[Batch]:
    """Gather the audited writes of the block into one entry (inside a service).

    ``object_type`` defaults to the model's label when the block wrote one model;
    ``detail`` is the caller's (a source, a message control id: never PHI) and gets
    ``"batch"`` added.  No entry is recorded when no row was written."""
    buffer = pending.current()
    if buffer is None:
        raise RuntimeError(
            "an audit batch is opened inside a service (radgov.core.services.service), "
            "whose transaction it belongs to"
        )
    action = Action(action)
    gathered = Batch(buffer)
    token = _current.set(gathered)
    try:
        yield gathered
    finally:
        _current.reset(token)
    summary = gathered.summary()
    if summary is None:
        return
    model = gathered.only_model()
    label = model._meta.label_lower if model is not None else ""
    record(
        action=action,
        object_type=object_type if object_type is not None else label,
        object_id=object_id,
        event_code=event_code or default_event_code(action, label, model),
        detail={**(detail or {}), "batch": summary},
    )
