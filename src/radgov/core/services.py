"""``@service``: the only place state changes happen.

A service opens ``transaction.atomic()`` and marks the context as inside a
service.  ``AuditedModel`` writes (save, delete, queryset update/delete, bulk
writes, many-to-many changes) raise ``AuditBypassError`` anywhere else, and
inside a service they record their audit entries in the same transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from django.db import transaction

P = ParamSpec("P")
R = TypeVar("R")

_in_service: ContextVar[bool] = ContextVar("radgov_in_service", default=False)


def in_service() -> bool:
    return _in_service.get()


def service(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` in one transaction, as a service."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _in_service.set(True)
        try:
            with transaction.atomic():
                return fn(*args, **kwargs)
        finally:
            _in_service.reset(token)

    wrapper.is_service = True  # type: ignore[attr-defined]
    return wrapper
