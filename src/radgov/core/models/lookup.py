"""``Lookup``: a read of one shape on a hot path, its SQL made by the ORM once, then only run.

    by_hash = Lookup(lambda key: Exam.objects.filter(study_uid_hash=key).order_by("pk")[:1])
    found = by_hash(key)  # a list of Exam, as list(queryset) gives

Django builds a query's SQL again every time it runs: 400-800 µs of CPU for a lookup by one
column, several times the database's own work (docs/decisions/0007-lookups-made-once.md).
Routing a study makes several such lookups, and the listener routes every study.  A
``Lookup`` takes a function that builds the queryset from its arguments; the first call
on a database connection builds it and keeps its SQL, and every call runs that SQL with the
arguments prepared as the query's own filters prepare them.  So the SQL is still the
ORM's, for SQLite and PostgreSQL alike; nothing is written by hand.

What the function may build, checked when the SQL is made (``LookupShapeError`` otherwise):

* its arguments are the values of the query's last filters, one comparison each
  (``exact``, ``lt``, ``lte``, ``gt``, ``gte``), added in the order of the arguments;
  filters on constant values may come before them;
* it yields model instances (with annotations), or ``values_list`` rows (flat or not);
  ``select_related``, ``prefetch_related`` and ``values()`` are not supported.

An instance loaded ``select_for_update`` inside a service is held as ``AuditedQuerySet``
holds it, so its save needs no read of the row before.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, models
from django.db.models import lookups
from django.db.models.query import FlatValuesListIterable, ModelIterable, ValuesListIterable

from radgov.core.models.base import hold_locked

M = TypeVar("M")
COMPARISONS = (
    lookups.Exact,
    lookups.LessThan,
    lookups.LessThanOrEqual,
    lookups.GreaterThan,
    lookups.GreaterThanOrEqual,
)


class LookupShapeError(ValueError):
    """A queryset a ``Lookup`` cannot run from its SQL alone."""


@dataclass(frozen=True)
class _Made:
    sql: str
    constant: list[Any]  # the parameters before the arguments'
    filters: list[lookups.Lookup]  # the arguments' filters, in their order
    compiler: Any  # applies the columns' converters to the rows
    iterable: type  # ModelIterable, ValuesListIterable or FlatValuesListIterable
    init_list: list[str]  # ModelIterable: the model's attribute names, in the columns' order
    annotations: dict[str, int]  # ModelIterable: the annotations' columns
    model: type[models.Model]
    locks: bool  # select_for_update


class Lookup(Generic[M]):
    def __init__(self, build: Callable[..., models.QuerySet[Any]], *, using: str = "default"):
        self._build = build
        self._using = using
        self._made: weakref.WeakKeyDictionary[Any, _Made] = weakref.WeakKeyDictionary()

    def __call__(self, *arguments: Any) -> list[M]:
        if any(value is None for value in arguments):  # the ORM would compare with IS NULL
            raise LookupShapeError("a Lookup's arguments are values, not None")
        connection = connections[self._using]
        made = self._made.get(connection)
        if made is None:
            made = self._made[connection] = _make(self._build(*arguments), connection, arguments)
        params = made.constant + [
            _prepared(f, value, connection)
            for f, value in zip(made.filters, arguments, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(made.sql, params)
            rows = cursor.fetchall()
        return _rows(made, rows, self._using)


def _prepared(filter_: lookups.Lookup, value: Any, connection: Any) -> Any:
    """``value`` as the filter binds it (Django's ``get_db_prep_lookup``)."""
    field = filter_.lhs.output_field
    return filter_.get_db_prep_lookup(field.get_prep_value(value), connection)[1][0]


def _make(queryset: models.QuerySet[Any], connection: Any, arguments: tuple[Any, ...]) -> _Made:
    query = queryset.query
    iterable = queryset._iterable_class
    if iterable not in (ModelIterable, ValuesListIterable, FlatValuesListIterable):
        raise LookupShapeError("a Lookup yields model instances or values_list rows")
    if query.select_related or queryset._prefetch_related_lookups:
        raise LookupShapeError(
            "a Lookup does not follow relations (select_related, prefetch_related)"
        )
    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    filters = list(query.where.children[len(query.where.children) - len(arguments) :])
    if len(filters) != len(arguments) or not all(
        isinstance(f, COMPARISONS) and not hasattr(f.rhs, "resolve_expression") for f in filters
    ):
        raise LookupShapeError(
            "a Lookup's arguments are the values of the query's last filters, one comparison each"
        )
    given = [_prepared(f, value, connection) for f, value in zip(filters, arguments, strict=True)]
    if list(params[len(params) - len(given) :]) != given:
        raise LookupShapeError(
            "a Lookup's arguments must be the query's last parameters, in their order"
        )
    init_list, annotations = [], {}
    if iterable is ModelIterable:
        selected = compiler.klass_info["select_fields"]
        if selected[0] != 0:
            raise LookupShapeError("a Lookup's model columns come first")
        init_list = [column[0].target.attname for column in compiler.select[: selected[-1] + 1]]
        annotations = dict(compiler.annotation_col_map)
    return _Made(
        sql=sql,
        constant=list(params[: len(params) - len(given)]),
        filters=filters,
        compiler=compiler,
        iterable=iterable,
        init_list=init_list,
        annotations=annotations,
        model=queryset.model,
        locks=bool(query.select_for_update),
    )


def _rows(made: _Made, rows: list[tuple[Any, ...]], using: str) -> list[Any]:
    converted = made.compiler.results_iter([rows])
    if made.iterable is FlatValuesListIterable:
        return [row[0] for row in converted]
    if made.iterable is ValuesListIterable:
        return [tuple(row) for row in converted]
    end = len(made.init_list)
    found = []
    for row in converted:
        obj = made.model.from_db(using, made.init_list, row[:end])
        for name, position in made.annotations.items():
            setattr(obj, name, row[position])
        found.append(obj)
    if made.locks:
        hold_locked(found)
    return found
