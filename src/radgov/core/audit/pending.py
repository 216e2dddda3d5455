"""What a service has recorded but not yet appended to the chain.

The outermost ``@service`` opens a ``Pending`` buffer; ``record()`` inside it adds entries
there instead of locking the chain, and the service appends them all (``writer.append``) just
before its transaction commits.  Whatever a rolled-back savepoint recorded must vanish with
it: each item is tagged with a ``Marker``, a no-op ``transaction.on_commit`` callback, and
Django drops the callbacks registered inside a savepoint when that savepoint rolls back
(``BaseDatabaseWrapper.savepoint_rollback``).  An item whose marker is no longer pending on
the connection was rolled back.  One marker serves every item recorded at the same savepoint
depth, so tagging costs nothing per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection, transaction


class Marker:
    """A no-op on-commit callback whose presence says "not rolled back"."""

    __slots__ = ("savepoints",)

    def __init__(self, savepoints: tuple[str, ...]) -> None:
        self.savepoints = savepoints

    def __call__(self) -> None:
        return None


class Markers:
    """Hands out markers: a new one whenever the savepoint stack differs from the last."""

    def __init__(self) -> None:
        self._last: Marker | None = None

    def current(self) -> Marker:
        savepoints = tuple(connection.savepoint_ids)
        last = self._last
        if last is None or last.savepoints != savepoints:
            last = self._last = Marker(savepoints)
            transaction.on_commit(last)
        return last


def still_pending() -> set[int]:
    """The ids of the markers no rollback has discarded."""
    return {id(func) for _, func, _ in connection.run_on_commit if isinstance(func, Marker)}


def is_pending(marker: Marker) -> bool:
    return any(func is marker for _, func, _ in connection.run_on_commit)


class Pending:
    """The entries of one outermost service, each with its marker."""

    def __init__(self) -> None:
        self.markers = Markers()
        self._entries: list[tuple[Marker, Any]] = []

    def add(self, entry: Any) -> None:
        self._entries.append((self.markers.current(), entry))

    def take(self) -> list[Any]:
        """The entries still standing, in the order recorded; the buffer is emptied."""
        alive = still_pending()
        entries = [entry for marker, entry in self._entries if id(marker) in alive]
        self._entries = []
        return entries


_current: ContextVar[Pending | None] = ContextVar("radgov_audit_pending", default=None)


def current() -> Pending | None:
    return _current.get()


@contextmanager
def collecting() -> Iterator[Pending]:
    """A fresh buffer for an outermost service (inside its ``transaction.atomic()``)."""
    buffer = Pending()
    token = _current.set(buffer)
    try:
        yield buffer
    finally:
        _current.reset(token)
