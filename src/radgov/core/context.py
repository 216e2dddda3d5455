"""Who is acting, from where: set once per request (or command) and read by the audit trail.

Services do not take the request: the middleware (and ``acting_as`` for commands,
tasks and listeners) put the request id, the client address and the actor here.  The
actor is the request's user (a person, or a machine that presented its API credential),
or the ``actor`` given: a machine (``radgov.core.machines``) acting without a request.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from radgov.core import config


@dataclass(frozen=True)
class ActingContext:
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    client_address: str = ""
    channel: str = "system"  # web, api, cli, worker, dicom, mllp, system
    request: Any = None  # the HttpRequest, when there is one
    actor: Any = None  # who acts when there is no request: a machine

    @property
    def user(self) -> Any:
        if self.actor is not None:
            return self.actor
        user = getattr(self.request, "user", None)
        return user if user is not None and user.is_authenticated else None


_current: ContextVar[ActingContext | None] = ContextVar("radgov_acting_context", default=None)


def current() -> ActingContext:
    return _current.get() or ActingContext()


@contextmanager
def acting_as(ctx: ActingContext) -> Iterator[ActingContext]:
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def client_address(request: Any) -> str:
    """The peer's address.  X-Forwarded-For is trusted only for the number of
    proxies the administrator declared (RADGOV_TRUSTED_PROXY_COUNT); by default a
    client cannot choose its own address by sending that header."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = config.get_int("RADGOV_TRUSTED_PROXY_COUNT")
    if proxies <= 0:
        return remote
    hops = [
        h.strip() for h in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if h.strip()
    ]
    return hops[-proxies] if len(hops) >= proxies else remote
