"""What an audited row holds in the database, without reading it back when that is safe.

The audit trail records the values a write *stored*, which are not always the values the
object holds: a decimal is rounded to the column's places, a date-time with a time zone is
stored as UTC, an integer given as text is stored as an integer, NaN is stored as NULL by
SQLite, a float of 1e16 in a JSON column comes back from PostgreSQL as an integer.  So a
value is taken from the object only when it is of a kind the database stores and returns
unchanged (``exact_values``): a ``str`` in a text column, an ``int`` in an integer column or
foreign key, a ``bool``, a finite ``float``, a ``date``, an aware ``datetime`` (as UTC), a
naive ``time``, a ``UUID``, ``None`` in a nullable column, and JSON made of those (floats
below 1e16, no negative zero, string keys).  Any other value, and any field of a class not
listed here (decimals, binary, files and other custom fields), is read back from the
database (``stored_values``).  An encrypted field's value is exact once it holds the token
that was saved for that field (``EncryptedValue.saved_token``); a pseudonym is a ``str``.
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
import math
import uuid
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from django.db import models

from radgov.core.fields import EncryptedTextField, EncryptedValue, PseudonymField

CHUNK = 500
NOT_EXACT = object()  # the value must be read back to know what was stored

Convert = Callable[[Any], Any]


def _plain_of(kind: type) -> Convert:
    """Values of exactly ``kind`` (an enum of choices by its value)."""

    def convert(v: Any) -> Any:
        if type(v) is kind:
            return v
        if isinstance(v, enum.Enum) and type(v.value) is kind:
            return v.value
        return NOT_EXACT

    return convert


def _float(v: Any) -> Any:
    return v if type(v) is float and math.isfinite(v) else NOT_EXACT


def _date(v: Any) -> Any:
    return v if type(v) is dt.date else NOT_EXACT


def _datetime(v: Any) -> Any:
    if type(v) is dt.datetime and v.tzinfo is not None:
        return v if v.tzinfo is dt.UTC else v.astimezone(dt.UTC)
    return NOT_EXACT


def _time(v: Any) -> Any:
    return v if type(v) is dt.time and v.tzinfo is None else NOT_EXACT


def _uuid(v: Any) -> Any:
    return v if type(v) is uuid.UUID else NOT_EXACT


def json_exact(v: Any) -> bool:
    """True when every database returns this JSON value as it is."""
    kind = type(v)
    if v is None or kind is str or kind is bool or kind is int:
        return True
    if kind is float:
        return math.isfinite(v) and abs(v) < 1e16 and not (v == 0 and math.copysign(1, v) < 0)
    if kind is dict:
        if not all(type(k) is str for k in v):
            return False
        v = v.values()
    elif kind is not list:
        return False
    for x in v:  # a loop, not all() over a generator: a bulk ingest checks a value per row
        kind = type(x)
        if not (kind is str or kind is int or kind is bool or x is None or json_exact(x)):
            return False
    return True


def _json(v: Any) -> Any:
    return v if json_exact(v) else NOT_EXACT


_str, _int, _bool = _plain_of(str), _plain_of(int), _plain_of(bool)
CONVERTERS: dict[type[models.Field], Convert] = {
    models.CharField: _str,
    models.TextField: _str,
    models.SlugField: _str,
    models.EmailField: _str,
    models.URLField: _str,
    models.IntegerField: _int,
    models.BigIntegerField: _int,
    models.SmallIntegerField: _int,
    models.PositiveIntegerField: _int,
    models.PositiveBigIntegerField: _int,
    models.PositiveSmallIntegerField: _int,
    models.AutoField: _int,
    models.BigAutoField: _int,
    models.SmallAutoField: _int,
    models.ForeignKey: _int,
    models.OneToOneField: _int,
    models.BooleanField: _bool,
    models.FloatField: _float,
    models.DateField: _date,
    models.DateTimeField: _datetime,
    models.TimeField: _time,
    models.UUIDField: _uuid,
    models.JSONField: _json,
}


def _never(v: Any) -> Any:
    return NOT_EXACT


def _encrypted(field: EncryptedTextField) -> Convert:
    """The value as read back (its token, no plaintext) once the value holds the token saved
    for this field's context (a value of another context is encrypted again on save)."""

    def convert(v: Any) -> Any:
        if isinstance(v, EncryptedValue) and v.context == field.context:
            token = v.saved_token
            if token is not None:
                return EncryptedValue(context=field.context, token=token)
        return NOT_EXACT

    return convert


def _converter(field: models.Field) -> Convert:
    convert = CONVERTERS.get(type(field), _never)
    if isinstance(field, EncryptedTextField):
        convert = _encrypted(field)
    elif isinstance(field, PseudonymField):
        convert = _str  # a saved pseudonym passed its field's check
    if type(field) in (models.ForeignKey, models.OneToOneField):
        target = field.target_field  # type: ignore[attr-defined]
        convert = CONVERTERS.get(type(target), _never)
        if convert is _json:
            convert = _never
    if field.null:
        inner = convert

        def convert(v: Any) -> Any:
            return None if v is None else inner(v)

    return convert


# per field class, the kinds of value its converter returns unchanged, always
_UNCHANGED: dict[type[models.Field], frozenset[type]] = {
    field: frozenset({kind})
    for field, kind in (
        *((f, str) for f, c in CONVERTERS.items() if c is _str),
        *((f, int) for f, c in CONVERTERS.items() if c is _int),
        (models.BooleanField, bool),
        (models.DateField, dt.date),
        (models.UUIDField, uuid.UUID),
    )
}


def exact_column(field: models.Field, column: list[Any]) -> list[Any] | None:
    """One column of many rows as the database will store it, or None when any value must
    be read back: ``exact_values`` column by column, a whole plain column at once."""
    if isinstance(field, EncryptedTextField | PseudonymField):
        return None  # COPY skips get_prep_value, which encrypts or checks these
    kinds = set(map(type, column))  # twice as fast as a set comprehension
    if field.null:
        kinds.discard(type(None))
    unchanged = _UNCHANGED.get(type(field))
    if type(field) in (models.ForeignKey, models.OneToOneField):
        unchanged = _UNCHANGED.get(type(field.target_field))  # type: ignore[attr-defined]
    if unchanged is not None and kinds <= unchanged:
        return column
    if type(field) is models.FloatField and kinds <= {float}:
        if all(math.isfinite(v) for v in column if v is not None):
            return column
    if type(field) is models.DateTimeField and kinds <= {dt.datetime}:
        if {v.tzinfo for v in column if v is not None} <= {dt.UTC}:
            return column
    convert = _converter(field)
    out = [convert(v) for v in column]
    return None if any(v is NOT_EXACT for v in out) else out


@cache
def plan(model: type[models.Model]) -> tuple[tuple[str, Convert], ...]:
    """(attname, converter) of every concrete column but the primary key."""
    return tuple(
        (f.attname, _converter(f)) for f in model._meta.concrete_fields if not f.primary_key
    )


def exact_values(obj: models.Model, names: Iterable[str] | None = None) -> dict[str, Any] | None:
    """{attname: stored value} from the object itself, or None when any must be read back."""
    held = obj.__dict__
    wanted = None if names is None else set(names)
    out = {}
    for attname, convert in plan(type(obj)):
        if wanted is not None and attname not in wanted:
            continue
        if attname not in held:  # deferred: not loaded
            return None
        v = convert(held[attname])
        if v is NOT_EXACT:
            return None
        out[attname] = v
    return out


def attnames(model: type[models.Model]) -> list[str]:
    return [name for name, _ in plan(model)]


def stored_values(model: type[models.Model], pks: Iterable[Any]) -> dict[Any, dict[str, Any]]:
    """{pk: {attname: value}} as the database holds them now."""
    pks, out = list(pks), {}
    names = attnames(model)
    for i in range(0, len(pks), CHUNK):
        qs = models.QuerySet(model).filter(pk__in=pks[i : i + CHUNK]).values("pk", *names)
        for row in qs:
            out[row.pop("pk")] = row
    return out


def as_stored(model: type[models.Model], objs: Iterable[models.Model]) -> dict[Any, dict[str, Any]]:
    """{pk: stored values} of saved objects: from the objects where exact, the rest read back."""
    out: dict[Any, dict[str, Any]] = {}
    unread = []
    for obj in objs:
        values = exact_values(obj)
        if values is None:
            unread.append(obj.pk)
        else:
            out[obj.pk] = values
    if unread:
        out.update(stored_values(model, unread))
    return out


def snapshot(values: dict[str, Any]) -> dict[str, Any]:
    """A copy that later in-place changes to the object's JSON values cannot reach."""
    return {k: (copy.deepcopy(v) if isinstance(v, dict | list) else v) for k, v in values.items()}
