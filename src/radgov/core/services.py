"""``@service``: the only place state changes happen.

A service opens ``transaction.atomic()`` and marks the context as inside a service.
``AuditedModel`` writes (save, delete, queryset update/delete, bulk writes, many-to-many
changes) raise ``AuditBypassError`` anywhere else; inside one they record their audit
entries in the same transaction.

The outermost service collects its entries.  On PostgreSQL, when its transaction is the
outermost one, they commit with its writes, unchained, and are appended to the audit chain
right after the commit (``radgov.core.audit.staging``), so services overlap everything but
that short append.  Otherwise they are appended just before its transaction commits
(``radgov.core.audit.writer.append``), the head being the last lock the transaction takes,
so two services cannot deadlock over it (SQLite's ``BEGIN IMMEDIATE`` serialises whole
transactions anyway).  Nested services join the outermost one's transaction and buffer.
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
        from radgov.core.audit import pending, staging, writer  # models import this module

        if _in_service.get():
            with transaction.atomic():
                return fn(*args, **kwargs)
        token = _in_service.set(True)
        staged, key = staging.staged_here(), None
        try:
            with transaction.atomic(), pending.collecting() as buffer:
                result = fn(*args, **kwargs)
                if not connection.needs_rollback:  # else the transaction rolls back anyway
                    if staged:
                        key = staging.stage(buffer.take())
                    else:
                        writer.append(buffer.take())
        finally:
            _in_service.reset(token)
        if key is not None:
            staging.sequence_after_commit(key)
        return result

    wrapper.is_service = True  # type: ignore[attr-defined]
    return wrapper
