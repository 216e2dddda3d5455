"""What a busy page reads that changes only through a service, kept in the cache until the
next change: the dashboard's to-do sections, the deployments list.

Each app of :data:`WATCHED` has a *generation* in Django's cache (the database cache, or
Redis when ``REDIS_URL`` is set, so every server process shares it): a random token that
the outermost ``@service`` replaces (:func:`bump_written`) for every watched app whose
records it wrote.  It does so twice: inside its transaction (the database cache commits
or rolls back with the change) and again once the transaction has committed (Redis is
not transactional, and a request that read the old rows between the two stored them under
the token the second replacement ends).  Never keyed on the audit head: every audited
read moves it, so nothing would stay cached.

:func:`cached` keeps a value beside the generations it was built under and reads both in
one round trip; a value whose generations are not the current ones is built again.  A
missing generation (never set, or culled) is given a fresh token before building, so a
value is never kept under "no generation".  Values also expire after :data:`TTL` seconds:
what a value says relative to the clock ("expires in 12 days"), and rows written outside
any service (a data migration, ``loaddata``), are at most that late.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction

# the apps whose records the cached values are built from; writes to any other app (the
# clinical records of exams, the gateway's traffic) invalidate nothing
WATCHED = frozenset({"accounts", "compliance", "evaluation", "governance", "inventory", "training"})
TTL = 60
PREFIX = "radgov:generation:"

T = TypeVar("T")


def _key(app: str) -> str:
    return f"{PREFIX}{app}"


def bump(apps: Iterable[str]) -> None:
    """New generations for ``apps``: now, and again when the current transaction commits."""
    watched = sorted(set(apps) & WATCHED)
    if not watched:
        return

    def renew() -> None:
        cache.set_many({_key(app): secrets.token_hex(8) for app in watched}, timeout=None)

    renew()
    transaction.on_commit(renew)


# what a service may record that writes nothing
NOT_WRITES = frozenset({"read", "export", "denied"})


def bump_written(entries: Iterable[Any]) -> None:
    """New generations for the apps of the records these audit entries of one service name
    (``inventory.deployment``: ``inventory``), unless an entry says it only read."""
    bump(
        entry.object_type.partition(".")[0]
        for entry in entries
        if entry.object_type and entry.action not in NOT_WRITES
    )


def cached(name: Hashable, apps: Iterable[str], build: Callable[[], T]) -> T:
    """The value ``build()`` returns, kept under ``name`` (a tuple of plain values naming
    what the value depends on besides the ``apps``' records, such as the user; the key is
    its hash, so a filter's text never reaches the cache's keys) until a service writes to
    one of ``apps`` or :data:`TTL` passes."""
    keys = [_key(app) for app in sorted(apps)]
    value_key = "radgov:cached:" + hashlib.sha256(repr(name).encode()).hexdigest()
    found = cache.get_many([*keys, value_key])
    missing = {key: secrets.token_hex(8) for key in keys if key not in found}
    if missing:
        cache.set_many(missing, timeout=None)
    now = tuple(found.get(key) or missing[key] for key in keys)
    kept = found.get(value_key)
    if not missing and kept is not None and kept[0] == now:
        return kept[1]  # type: ignore[no-any-return]
    value = build()
    cache.set(value_key, (now, value), timeout=TTL)
    return value
