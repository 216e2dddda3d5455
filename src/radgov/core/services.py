"""``@service``: the only place state changes happen.

A service opens ``transaction.atomic()`` and marks the context as inside a service.
``AuditedModel`` writes (save, delete, queryset update/delete, bulk writes, many-to-many
changes) raise ``AuditBypassError`` anywhere else; inside one they record their audit
entries in the same transaction.

The outermost service collects its entries and appends them to the audit chain just before
its transaction commits (``radgov.core.audit.writer.append``): the chain's head is locked
for that append and the commit only, so services run side by side on PostgreSQL (SQLite's
``BEGIN IMMEDIATE`` serialises whole transactions anyway).  The head is the last lock a
transaction takes, so two services cannot deadlock over it.  Nested services join the
outermost one's transaction and buffer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from django.db import connection, transaction

P = ParamSpec("P")
R = TypeVar("R")

_in_service: ContextVar[bool] = ContextVar("radgov_in_service", default=False)


def in_service() -> bool:
    return _in_service.get()


def service(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` in one transaction, as a service."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from radgov.core import generations
        from radgov.core.audit import pending, writer  # models import this module

        if _in_service.get():
            with transaction.atomic():
                return fn(*args, **kwargs)
        token = _in_service.set(True)
        try:
            with transaction.atomic(), pending.collecting() as buffer:
                result = fn(*args, **kwargs)
                if not connection.needs_rollback:  # else the transaction rolls back anyway
                    entries = buffer.take()
                    generations.bump_written(entries)  # before the head is locked: not under it
                    writer.append(entries)
                return result
        finally:
            _in_service.reset(token)

    wrapper.is_service = True  # type: ignore[attr-defined]
    return wrapper
