"""``@service``: the only place state changes happen.

A service opens ``transaction.atomic()``, takes the audit chain head lock first
(so every service takes its locks in the same order: no deadlock between two
services that each hold a row the other wants; on SQLite ``BEGIN IMMEDIATE``
already does the same), and marks the context as inside a service.  ``AuditedModel`` writes (save, delete, queryset update/delete, bulk
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
        from radgov.core.audit.head import lock_head  # models import this module

        outermost = not _in_service.get()
        token = _in_service.set(True)
        try:
            with transaction.atomic():
                if outermost:
                    lock_head()
                return fn(*args, **kwargs)
        finally:
            _in_service.reset(token)

    wrapper.is_service = True  # type: ignore[attr-defined]
    return wrapper
