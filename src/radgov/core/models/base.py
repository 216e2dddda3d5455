"""``AuditedModel``: the base of every radgov domain model.

Outside a ``@service`` every write raises ``AuditBypassError``.  Inside one:

* ``save()`` records ``create`` or ``update`` with field-level changes
  ``{"field": [before, after]}``, both what the database held and holds.  The row is read
  before the write unless this service loaded it with ``select_for_update()`` or wrote it
  already (the row is then locked by this transaction), and after the write unless every
  value is of a kind the database stores unchanged (``radgov.core.models.stored``);
* deleting (``delete()``, ``QuerySet.delete()`` and cascades, through Django's
  delete signals) records one ``delete`` per object with its last values;
* ``QuerySet.update()``, ``bulk_create()`` and ``bulk_update()`` record one
  entry per affected object (``bulk_create`` refuses ``ignore_conflicts`` and
  ``update_conflicts``, whose affected rows are unknown);
* many-to-many ``add``/``remove``/``set``/``clear`` record an ``update`` with
  the relation and the related ids.

Inside ``radgov.core.audit.batch(...)`` creates and updates join the batch's one entry
instead (its digest covers the values stored); deletions and many-to-many changes still
record an entry each.  ``Model.objects.ingest(columns, rows)`` adds many rows from plain
tuples at machine pace, inside a batch only (``radgov.core.models.ingest``).

Fields named in the model's ``class Audit: redact = [...]``, fields whose class
has ``audit_redact = True`` (encrypted fields) and binary values appear as
``"<changed>"``.  ``class Audit: event_code = EventCode.PATIENT_RECORD`` picks the
DICOM event code of the model's entries.  Data migrations and fixtures
(``loaddata``, raw saves) are not audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models.signals import class_prepared, m2m_changed, post_delete, pre_delete

from radgov.core.models.ingest import ingest
from radgov.core.models.stored import (
    CHUNK,
    as_stored,
    exact_values,
    snapshot,
    stored_values,
)
from radgov.core.services import in_service

REDACTED = "<changed>"


class AuditBypassError(RuntimeError):
    """A change to an audited model outside a service."""


def require_service(model: type[models.Model], what: str) -> None:
    if not in_service():
        raise AuditBypassError(
            f"{model._meta.label} {what} outside a service; state changes go through services "
            "(radgov.core.services.service), which record them in the audit trail"
        )


def redacted_fields(model: type[models.Model]) -> set[str]:
    names = set(getattr(getattr(model, "Audit", None), "redact", ()))
    for field in model._meta.concrete_fields:
        if getattr(field, "audit_redact", False) or field.name in names:
            names.update({field.name, field.attname})
    return names


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return REDACTED
    return str(value)


def _comparable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    token = getattr(value, "token", None)  # encrypted values compare by their stored token
    return token if isinstance(token, str) else _plain(value)


def _mark(value: Any) -> str | None:
    return None if value is None or (isinstance(value, str) and value == "") else REDACTED


def diff(
    model: type[models.Model], before: dict[str, Any] | None, after: dict[str, Any] | None
) -> dict[str, list[Any]]:
    """{field: [before, after]} of the fields that differ; redacted ones as "<changed>"."""
    hidden = redacted_fields(model)
    before, after = before or {}, after or {}
    changes = {}
    for name in sorted(after.keys() | before.keys()):
        old, new = before.get(name), after.get(name)
        if _comparable(old) == _comparable(new):
            continue
        if name in hidden:
            changes[name] = [_mark(old), _mark(new)]
        else:
            changes[name] = [_plain(old), _plain(new)]
    return changes


def _record(
    model: type[models.Model],
    action: str,
    pk: Any,
    changes: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    from radgov.core.audit import record

    record(
        action=action,
        object_type=model._meta.label_lower,
        object_id=str(pk),
        changes=changes,
        event_code=_event_code(model, action),
        **extra,
    )


def _event_code(model: type[models.Model], action: str) -> Any:
    from radgov.core.audit.codes import Action, default_event_code

    return default_event_code(Action(action), model._meta.label_lower, model)


def _batch() -> Any:
    from radgov.core.audit.batch import current

    return current()


def _record_writes(
    model: type[models.Model],
    after: dict[Any, dict[str, Any]],
    before: dict[Any, dict[str, Any]] | None,
) -> None:
    """Entries for rows just written (``before`` None: created), or their batch's rows."""
    batch = _batch()
    if batch is not None:
        batch.add(model, after, created=before is None)
        return
    for pk, values in after.items():
        old = None if before is None else before.get(pk)
        _record(model, "create" if old is None else "update", pk, diff(model, old, values))


def _locked_values(obj: models.Model) -> dict[str, Any] | None:
    """What the row holds, if this service locked it (loaded it for update or wrote it) and
    no rollback has undone that since."""
    from radgov.core.audit import pending

    held = obj.__dict__.get("_audit_locked")
    if held is None or held[0] is not pending.current() or not pending.is_pending(held[1]):
        return None
    return dict(held[2])


def _lock(obj: models.Model, values: dict[str, Any]) -> None:
    from radgov.core.audit import pending

    buffer = pending.current()
    if buffer is not None:
        obj.__dict__["_audit_locked"] = (buffer, buffer.markers.current(), snapshot(values))


def hold_locked(objs: Iterable[Any]) -> None:
    """Inside a service, objects just loaded ``select_for_update``: held as locked, so their
    save needs no read of the row before."""
    if not in_service():
        return
    for obj in objs:
        if isinstance(obj, AuditedModel):
            values = exact_loaded(obj)
            if values is not None:
                _lock(obj, values)


class AuditedQuerySet(models.QuerySet):
    def _fetch_all(self) -> None:
        first = self._result_cache is None
        super()._fetch_all()
        if first and self.query.select_for_update:
            hold_locked(self._result_cache or ())

    def update(self, **kwargs: Any) -> int:
        require_service(self.model, "updated (QuerySet.update)")
        if self.query.is_sliced:
            raise TypeError("Cannot update a query once a slice has been taken.")
        pks = list(self.values_list("pk", flat=True))
        before = None if _batch() is not None else stored_values(self.model, pks)
        count = 0
        for i in range(0, len(pks), CHUNK):
            chunk = models.QuerySet(self.model, using=self.db).filter(pk__in=pks[i : i + CHUNK])
            count += chunk.update(**kwargs)
        _record_writes(self.model, stored_values(self.model, pks), before or {})
        return count

    def delete(self) -> tuple[int, dict[str, int]]:
        require_service(self.model, "deleted (QuerySet.delete)")
        return super().delete()  # each object is recorded by the delete signals

    def bulk_create(
        self, objs: Iterable[models.Model], *args: Any, **kwargs: Any
    ) -> list[models.Model]:
        require_service(self.model, "created (bulk_create)")
        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            raise AuditBypassError(
                f"{self.model._meta.label} bulk_create with ignore_conflicts/update_conflicts cannot be "
                "audited per object; create or update the objects one by one"
            )
        created = super().bulk_create(objs, *args, **kwargs)
        _record_writes(self.model, as_stored(self.model, created), None)
        return created

    def ingest(self, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[int]:
        """New rows from plain tuples, inside an audit batch: by COPY on PostgreSQL
        (``radgov.core.models.ingest``).  Returns their keys."""
        require_service(self.model, "created (ingest)")
        return ingest(self.model, self.db, columns, rows)

    def bulk_update(
        self, objs: Iterable[models.Model], fields: Iterable[str], batch_size: int | None = None
    ) -> int:
        require_service(self.model, "updated (bulk_update)")
        objs = list(objs)
        pks = [obj.pk for obj in objs]
        before = None if _batch() is not None else stored_values(self.model, pks)
        plain = models.QuerySet(
            self.model, using=self.db
        )  # its inner update() must not record again
        count = plain.bulk_update(objs, fields, batch_size=batch_size)
        _record_writes(self.model, stored_values(self.model, pks), before or {})
        return count


class AuditedManager(models.Manager.from_queryset(AuditedQuerySet)):  # type: ignore[misc]
    pass


def exact_loaded(obj: models.Model) -> dict[str, Any] | None:
    """The values of an object just loaded from the database (all columns, as returned)."""
    from radgov.core.models.stored import attnames

    held = obj.__dict__
    names = attnames(type(obj))
    if any(name not in held for name in names):
        return None
    return {name: held[name] for name in names}


class AuditedModel(models.Model):
    objects = AuditedManager()

    class Meta:
        abstract = True
        base_manager_name = "objects"

    def save(self, *args: Any, **kwargs: Any) -> None:
        model = type(self)
        require_service(model, "saved")
        update_fields = kwargs.get("update_fields")
        batch = _batch()
        adding = self._state.adding
        before = _locked_values(self)
        if before is None and self.pk is not None and not kwargs.get("force_insert"):
            if batch is None or update_fields is not None:  # a batch needs no before values
                before = stored_values(model, [self.pk]).get(self.pk)
        super().save(*args, **kwargs)
        after = self._after_save(before, update_fields)
        _lock(self, after)
        if batch is not None:
            batch.add(model, {self.pk: after}, created=adding)
            return
        _record(
            model, "create" if before is None else "update", self.pk, diff(model, before, after)
        )

    def _after_save(
        self, before: dict[str, Any] | None, update_fields: Iterable[str] | None
    ) -> dict[str, Any]:
        """What the row holds now, from the object where exact, else read back."""
        if update_fields is not None and before is not None:
            names = {self._meta.get_field(name).attname for name in update_fields}
            written = exact_values(self, names)
            if written is not None:
                return {**before, **written}
        elif update_fields is None:
            values = exact_values(self)
            if values is not None:
                return values
        return stored_values(type(self), [self.pk])[self.pk]

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        require_service(type(self), "deleted")
        return super().delete(*args, **kwargs)


# --- deletes (including cascades) and many-to-many changes -----------------------------------


def _before_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    require_service(sender, "deleted")
    instance._audit_last_values = stored_values(sender, [instance.pk]).get(instance.pk)  # type: ignore[attr-defined]


def _after_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    last = getattr(instance, "_audit_last_values", None)
    _record(sender, "delete", instance.pk, diff(sender, last, None))


def _connect(sender: type[models.Model], **kwargs: Any) -> None:
    if issubclass(sender, AuditedModel) and not sender._meta.abstract:
        pre_delete.connect(_before_delete, sender=sender, weak=False)
        post_delete.connect(_after_delete, sender=sender, weak=False)


def _m2m(
    sender: type[models.Model],
    instance: models.Model,
    action: str,
    model: type[models.Model],
    pk_set: Any,
    **kwargs: Any,
) -> None:
    if not (isinstance(instance, AuditedModel) or issubclass(model, AuditedModel)):
        return
    op = action.split("_", 1)[1]
    if action.startswith("pre_"):
        require_service(type(instance), f"many-to-many {op} ({sender._meta.model_name})")
        return
    detail = {
        "relation": sender._meta.model_name,
        "op": op,
        "ids": sorted(pk_set) if pk_set else None,
    }
    _record(type(instance), "update", instance.pk, None, detail=detail)


class_prepared.connect(_connect, dispatch_uid="radgov-audited-model")
m2m_changed.connect(_m2m, dispatch_uid="radgov-audited-m2m")
