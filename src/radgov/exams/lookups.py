"""A row by id for the exams API and its review routes, or a 404 (problem+json, through the
one error handler) that names what is missing."""

from __future__ import annotations

from typing import TypeVar

from django.db import models

from radgov.core.errors import NotFound

M = TypeVar("M", bound=models.Model)


def row_or_404(model: type[M], pk: int) -> M:
    """Row ``pk`` of ``model``, or ``NotFound`` naming what is missing ("no inference 7")."""
    row = model._default_manager.filter(pk=pk).first()
    if row is None:
        raise NotFound(f"no {model._meta.verbose_name} {pk}")
    return row
