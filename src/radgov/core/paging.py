"""Lists that page: the one way every API list endpoint answers.

    class DeploymentFilter(FilterSchema):
        stage: str | None = Field(None, q="status")
        site: str | None = Field(None, q="site__icontains")

    @router.get("/deployments", response=Page[DeploymentOut])
    def list_deployments(request, filters: Query[DeploymentFilter], page: Query[PageQuery]):
        rows = filters.filter(Deployment.objects.order_by("pk"))
        return paginate(rows, page, prepare=_load_for_out)

The answer is ``{"items": [...], "total": N, "limit": L, "offset": O}``: ``total`` counts
every row the filters match, ``items`` are rows ``offset`` to ``offset + limit`` in the
list's fixed order.  ``limit`` is 1 to ``MAX_LIMIT`` (default ``DEFAULT_LIMIT``); anything
else is refused with problem+json naming the parameter.  Filters are ninja
``FilterSchema``s (each field names its lookup); a list endpoint filters by its obvious
fields.  The items are the records themselves, read by the response schema (aliases,
resolvers); ``convert`` is for a list whose items are not records.  ``prepare(rows)`` runs
once on the page's rows first, so what each row needs from other tables is read for the
whole page in a few queries (no query per row: ``tests/test_list_queries.py`` counts them
for every list).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from ninja import Field, Schema

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

T = TypeVar("T")


class PageQuery(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="rows per page")
    offset: int = Field(0, ge=0, description="rows to skip")


class Page(Schema, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def paginate(
    rows: QuerySet[Any] | Sequence[Any],
    page: PageQuery,
    convert: Callable[[Any], Any] | None = None,
    *,
    prepare: Callable[[list[Any]], None] | None = None,
) -> dict[str, Any]:
    """One page of ``rows`` (a queryset is counted and sliced in the database)."""
    total = rows.count() if isinstance(rows, QuerySet) else len(rows)
    chunk = list(rows[page.offset : page.offset + page.limit])
    if prepare is not None:
        prepare(chunk)
    items = [convert(row) for row in chunk] if convert is not None else chunk
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}
