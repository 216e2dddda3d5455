"""The one error format of the API: problem details (RFC 9457), media type
application/problem+json.  Messages say what is wrong without echoing PHI."""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from django.http import HttpResponse

PROBLEM_BASE = "https://radgov.invalid/problems/"

# A value the user sent (a file name, a column, a cell) is quoted where a message repeats it:
# 'x' or "x" as Python's repr writes it, or typographic quotes.  An apostrophe inside a word
# ("the protocol's") opens nothing.
_QUOTED = re.compile(r"""(?<!\w)(?:'[^'\n]*'|"[^"\n]*"|‘[^’\n]*’|“[^”\n]*”)(?!\w)""")
WITHHELD = "'…'"


def for_the_record(message: str) -> str:
    """A refusal's message as the audit trail and the logs may keep it: every quoted value
    the user sent replaced by '…'.  The user who sent them sees the whole message; the trail,
    which cannot be changed afterwards, keeps the rule that was broken, never the name of a
    patient's file or a cell of their data."""
    return _QUOTED.sub(WITHHELD, message)


def problem(status: int, detail: str, *, kind: str | None = None, **extra: Any) -> HttpResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (kind or HTTPStatus(status).phrase.lower().replace(" ", "-")),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return HttpResponse(json.dumps(body), status=status, content_type="application/problem+json")
