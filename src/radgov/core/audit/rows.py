"""The canonical form of the rows a batch entry covers, and their keys as ranges; pure.

A batch entry's ``detail["batch"]["digest"]`` is ``digest(rows)`` where ``rows`` maps a
model label to ``{pk: [v1, v2, ...]}``, the values in the order of the entry's
``fields[label]`` (sorted column names).  The digest is SHA-256 over the canonical JSON (keys
sorted, no whitespace, ASCII: the chain's own form) of
``{"form": "radgov-rows/1", "rows": {label: [[pk, v1, ...], ...]}}`` with each label's rows in
key order.  Values are encoded by ``value``: what the database stores, as JSON.  The same
function runs when the batch is written and when ``radgov audit verify`` reads the rows back.
No Django import.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from itertools import pairwise
from operator import attrgetter
from typing import Any

from radgov.core.audit.chain import canonical_json, format_timestamp

FORM = "radgov-rows/1"

Range = tuple[int, int]


def value(v: Any) -> Any:
    """One stored value as it enters the canonical JSON."""
    kind = type(v)
    if v is None or kind is str or kind is int or kind is float or kind is bool:
        return v
    if kind is dict or kind is list:
        return v  # a JSON column's value; canonical_json sorts nested keys
    if isinstance(v, dt.datetime):
        return format_timestamp(v) if v.tzinfo is not None else v.isoformat()
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, Decimal | uuid.UUID):
        return str(v)
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).hex()
    token = getattr(v, "token", None)  # an encrypted value: its stored token, never the plaintext
    if isinstance(token, str):
        return token
    return str(v)


# values that enter the canonical JSON as they are (``value`` returns them unchanged)
_AS_THEY_ARE = frozenset({type(None), str, int, float, bool, dict, list})
_TZINFO = attrgetter("tzinfo")


def digest(rows: Mapping[str, Mapping[int, Sequence[Any]]]) -> str:
    return digest_of_tables({label: table_json(by_pk) for label, by_pk in rows.items()})


def digest_of_tables(tables: Mapping[str, str]) -> str:
    """``digest`` from each label's rows already in canonical JSON (``table_json``,
    ``columns_json``): the same bytes as the whole document's canonical JSON, labels sorted."""
    text = ",".join(f"{canonical_json(label)}:{tables[label]}" for label in sorted(tables))
    doc = f'{{"form":{canonical_json(FORM)},"rows":{{{text}}}}}'
    return hashlib.sha256(doc.encode("ascii")).hexdigest()


def table_json(by_pk: Mapping[int, Sequence[Any]]) -> str:
    """One label's rows, ``{pk: [v1, v2, ...]}``, as ``[[pk, v1, v2, ...], ...]`` in key
    order, in canonical JSON."""
    keys = sorted(by_pk)
    return columns_json(keys, list(zip(*(by_pk[k] for k in keys), strict=True)))


def columns_json(keys: Sequence[int], columns: Sequence[Sequence[Any]]) -> str:
    """``table_json`` of rows given as their keys and their values column by column (a bulk
    ingest's shape).  Column by column, each value as ``value`` gives it: a column whose values
    all enter as they are is taken whole (most of a bulk write's columns)."""
    if any(later <= earlier for earlier, later in pairwise(keys)):
        order = sorted(range(len(keys)), key=keys.__getitem__)
        keys = [keys[i] for i in order]
        columns = [[column[i] for i in order] for column in columns]
    # a tuple is a JSON array, as a list is
    return canonical_json(list(zip(keys, *map(_column, columns), strict=True)))


def _column(column: Sequence[Any]) -> Sequence[Any]:
    kinds = set(map(type, column))
    if kinds <= _AS_THEY_ARE:
        return column
    if kinds <= {dt.datetime} and set(map(_TZINFO, column)) == {dt.UTC}:
        return [format_timestamp(v) for v in column]
    return [value(v) for v in column]


def to_ranges(keys: Iterable[int]) -> list[list[int]]:
    """Sorted integer keys as inclusive [low, high] ranges: [1, 2, 3, 7] -> [[1, 3], [7, 7]]."""
    out: list[list[int]] = []
    for k in sorted(set(keys)):
        if out and k == out[-1][1] + 1:
            out[-1][1] = k
        else:
            out.append([k, k])
    return out


def range_count(ranges: Iterable[Sequence[int]]) -> int:
    return sum(high - low + 1 for low, high in ranges)


class KeySet:
    """Integer keys as disjoint, sorted, merged ranges: what later entries of the trail wrote."""

    def __init__(self) -> None:
        self._lows: list[int] = []
        self._highs: list[int] = []

    def add(self, low: int, high: int) -> None:
        # every range that overlaps or touches [low, high] merges with it
        i = bisect_left(self._highs, low - 1)
        j = bisect_right(self._lows, high + 1)
        if i < j:
            low = min(low, self._lows[i])
            high = max(high, self._highs[j - 1])
        self._lows[i:j] = [low]
        self._highs[i:j] = [high]

    def overlaps(self, low: int, high: int) -> bool:
        i = bisect_left(self._highs, low)
        return i < len(self._lows) and self._lows[i] <= high

    def __len__(self) -> int:
        return range_count(zip(self._lows, self._highs, strict=True))
