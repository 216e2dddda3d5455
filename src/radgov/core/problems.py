"""The one error format of the API: problem details (RFC 9457), media type
application/problem+json.  Messages say what is wrong without echoing PHI."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from django.http import HttpResponse
from ninja.errors import HttpError

T = TypeVar("T")

PROBLEM_BASE = "https://radgov.invalid/problems/"


def problem(status: int, detail: str, *, kind: str | None = None, **extra: Any) -> HttpResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (kind or HTTPStatus(status).phrase.lower().replace(" ", "-")),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return HttpResponse(json.dumps(body), status=status, content_type="application/problem+json")


def call_service(
    fn: Callable[..., T],
    *args: Any,
    denied: type[Exception],
    invalid: type[Exception],
    **kwargs: Any,
) -> T:
    """Call a service for an API operation: its refusal (``denied``) answers 403 and a broken
    rule (``invalid``) 422, as problem+json audited by the API's error handler; the service
    has rolled back, so nothing changed.  ``denied`` is tried first: it may be a kind of
    ``invalid``."""
    try:
        return fn(*args, **kwargs)
    except denied as exc:
        raise HttpError(403, str(exc)) from None
    except invalid as exc:
        raise HttpError(422, str(exc)) from None
