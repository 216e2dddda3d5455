"""The one error format of the API: problem details (RFC 9457), media type
application/problem+json.  Messages say what is wrong without echoing PHI."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from django.http import HttpResponse

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
