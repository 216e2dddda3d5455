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

A busy list whose rows change only through services answers with :func:`cached_page`: the
same page, rendered as the API renders it, kept until a service writes to the apps it reads
(``radgov.core.generations``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Schema

from radgov.core import generations

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


def cached_page(
    request: HttpRequest,
    schema: type[Schema],
    name: tuple[Any, ...],
    reads: Sequence[str],
    rows: Callable[[], QuerySet[Any]],
    page: PageQuery,
    *,
    prepare: Callable[[list[Any]], None] | None = None,
) -> HttpResponse:
    """One page of ``rows()`` as ``Page[schema]``, kept under ``name`` (what the page depends
    on besides the records of the apps ``reads``: who may see what, the filters) together
    with the limit and offset."""
    from radgov.api import api

    def build() -> dict[str, Any]:
        found = paginate(rows(), page, prepare=prepare)
        context = {"request": request, "response_status": 200}
        return Page[schema].model_validate(found, context=context).model_dump(context=context)  # type: ignore[valid-type]

    data = generations.cached((*name, page.limit, page.offset), reads, build)
    return api.create_response(request, data, status=200)
