"""What the governance API's operations share: a row by its key (or 404), users by id."""

from __future__ import annotations

from typing import Any, TypeVar

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models

from radgov.core.errors import NotFound

M = TypeVar("M", bound=models.Model)


def get(model: type[M] | models.QuerySet[M], pk: int | None, kind: str) -> M:
    """The row (of a model, or of a queryset of what the caller may see), or 404."""
    rows = model if isinstance(model, models.QuerySet) else model._default_manager.all()
    row = rows.filter(pk=pk).first() if pk is not None else None
    if row is None:
        raise NotFound(f"no {kind} {pk}")
    return row


def opt(model: type[M] | models.QuerySet[M], pk: int | None, kind: str) -> M | None:
    return None if pk is None else get(model, pk, kind)


def inv(name: str) -> Any:
    return apps.get_model("inventory", name)


def user(pk: int | None) -> Any:
    return get(get_user_model(), pk, "user")


def users(ids: list[int]) -> list[Any]:
    return [user(pk) for pk in ids]
