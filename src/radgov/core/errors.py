"""The one error path: what a refusal is, how the trail keeps it, and how a page shows it.

A service refuses by raising one of three kinds, and nothing else needs to know how
the refusal reaches the caller:

- ``Refused`` (422): the request breaks a rule; the message names it (and the practice
  parameter's clause).  A ``ValueError``, as the apps' rule errors always were.
- ``Denied`` (403): the acting person or machine may not do this.  A ``PermissionError``.
- ``NotFound`` (404): no such object that the caller may see (whether it exists or not).

(``Conflict``, a ``Refused``, answers 409: the request disagrees with what is recorded;
``TooLarge``, one too, answers 413: a body or file over ``RADGOV_MAX_UPLOAD_MB``.)

Each app's own error classes are subclasses of these.  The API answers every one as
problem+json through one handler (``radgov.api.on_refusal``); a page shows the message and
calls ``refusal(request, exc)``.  Both write the same single audit entry
(``record_refusal``): the service has rolled back, so the refusal is all there is to record,
and the entry keeps the rule without the values the caller sent (``for_the_record``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from radgov.core import config
from radgov.core.audit import Action, record
from radgov.core.problems import for_the_record


class Refusal(Exception):
    """Any of the kinds below: what a view catches when it shows the message on the page."""

    def listed(self) -> list[dict[str, str]]:
        """Each problem found, as ``{"location", "message"}``, when a refusal lists several
        (a batch, a file); the API answers them in ``errors``."""
        return []

    def members(self) -> dict[str, object]:
        """Members the API adds to the problem+json body (RFC 9457 extension members), e.g.
        the FHIR OperationOutcome of a refused FHIR resource."""
        return {}


class Refused(Refusal, ValueError):
    """The request breaks a rule; nothing changed."""


class Conflict(Refused):
    """The request disagrees with what is already recorded (409)."""


class TooLarge(Refused):
    """A body or file over the upload limit (413)."""


def check_upload(size: int | None, what: str) -> None:
    """Refuse ``what`` (its ``size`` in bytes, None when not known yet) over
    ``RADGOV_MAX_UPLOAD_MB``, before a byte of it is read."""
    if size is not None and size > config.max_upload_bytes():
        raise TooLarge(
            f"the {what} is larger than {config.get_int('RADGOV_MAX_UPLOAD_MB')} MB "
            "(RADGOV_MAX_UPLOAD_MB)"
        )


class Denied(Refusal, PermissionError):
    """The acting person or machine may not do this."""


class NotFound(Refusal, LookupError):
    """No such object that the caller may see."""


def unseen(kind: str, pk: object) -> NotFound:
    """Not there, or not the caller's to see: the same answer, so ids cannot be probed."""
    return NotFound(f"no {kind} {pk} that you may see")


def status_of(exc: BaseException) -> int:
    """The HTTP status of a refusal.  A permission error is a denial even when its class
    also descends from an app's rule error (a ``GovernancePermissionError`` is both)."""
    if isinstance(exc, PermissionError):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, TooLarge):
        return 413
    return 422


def record_refusal(
    request: HttpRequest, status: int, reason: str, *, route: str | None = None
) -> None:
    """The audit entry of one refused request, on a page or through the API: who tried
    which route with which method, the status, and the rule without the caller's values."""
    match = request.resolver_match
    record(
        action=Action.DENIED,
        outcome="denied" if status in (401, 403, 404) else "failure",
        object_type="route",
        object_id=route or (match.view_name if match else request.path),
        detail={"method": request.method, "status": status, "reason": for_the_record(reason)[:300]},
    )


def refusal(request: HttpRequest, exc: BaseException) -> str:
    """A service's refusal on a page: recorded as the API records it, and the message to
    show the person who sent the request (which may repeat what they typed)."""
    message = str(exc)
    record_refusal(request, status_of(exc), message)
    return message


def denied_page(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """A page the person may not see: the refusal recorded, and the page that says why."""
    return render(request, "web/denied.html", {"reason": refusal(request, exc)}, status=403)
