"""Paging for the exams API and pages: limit, offset and the total.  One small function
until core's shared paging helper lands; then the callers switch to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None

    @property
    def previous_offset(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset > 0 else None

    @property
    def first(self) -> int:
        return self.offset + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.items)


def paginate(rows: QuerySet[Any], *, limit: int = DEFAULT_LIMIT, offset: int = 0) -> Page:
    """One page of ``rows`` (a limit outside 1..MAX_LIMIT is brought inside; a negative
    offset counts as 0) and how many rows there are in all."""
    limit = min(max(int(limit), 1), MAX_LIMIT)
    offset = max(int(offset), 0)
    return Page(list(rows[offset : offset + limit]), rows.count(), limit, offset)
