from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from radgov.core.context import ActingContext, acting_as, client_address


class Middleware:
    """What every radgov middleware shares: it keeps the next handler and, unless it overrides
    ``__call__``, passes the request straight on (one that acts only in ``process_view``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


class RequestContextMiddleware(Middleware):
    """Gives every request an id and a client address for the audit trail."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = "api" if request.path.startswith("/api/") else "web"
        ctx = ActingContext(
            client_address=client_address(request), channel=channel, request=request
        )
        request.request_id = ctx.request_id  # type: ignore[attr-defined]
        with acting_as(ctx):
            response = self.get_response(request)
        response["X-Request-ID"] = ctx.request_id
        return response


# What a page may be asked to do: read (GET, HEAD) and submit a form (POST).  No page handles
# PUT, PATCH, DELETE, OPTIONS or anything else; the API's operations answer for themselves.
PAGE_METHODS = ("GET", "HEAD", "POST")


class PageMethodsMiddleware(Middleware):
    """Answers 405 (with ``Allow``) when a page is asked with a method no page handles, before
    login or any other check: without it a function view treats PUT or DELETE like GET.  A
    class-based view narrows the methods to those it implements; a view that handles fewer
    (``require_GET``, ``require_POST``) refuses the rest itself.  An API path asked with a
    method none of its operations answers gets the same 405, as problem+json."""

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is None:
            return None
        if match.view_name.startswith("api:"):
            return _api_method_refused(request, match.view_name)
        allowed = list(PAGE_METHODS)
        view_class = getattr(view, "view_class", None)
        if view_class is not None:
            own = {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)}
            allowed = [m for m in allowed if m in own or (m == "HEAD" and "GET" in own)]
        if request.method in allowed:
            return None
        return HttpResponseNotAllowed(allowed)


def _api_method_refused(request: HttpRequest, route_name: str) -> HttpResponse | None:
    from radgov.api import methods_of  # the API imports every app's router
    from radgov.core.problems import problem

    allowed = methods_of(route_name)
    if not allowed or request.method in allowed:
        return None
    response = problem(
        405,
        f"{request.method} is not an operation of this path; it answers {', '.join(allowed)}",
        kind="method-not-allowed",
    )
    response["Allow"] = ", ".join(allowed)
    return response


def content_security_policy(nonce: str) -> str:
    """Self only: no inline script anywhere, no inline style but a ``<style>`` block with this
    response's nonce, images from radgov or ``data:`` (the charts), nothing framed, no form
    posted elsewhere."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class SecurityHeadersMiddleware(Middleware):
    """A strict Content-Security-Policy on every page, and ``Cache-Control: no-store`` on
    every answer but the static files (served before this middleware): a page, a report, an
    export or an API answer may carry patient data, and the rule is simplest kept whole.  A
    view that must answer with another policy (the standalone acceptance-test report) sets its
    own ``Content-Security-Policy``, which is kept."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["Cache-Control"] = "no-store"
        if "Content-Security-Policy" not in response and response.get(
            "Content-Type", ""
        ).startswith("text/html"):
            response["Content-Security-Policy"] = content_security_policy(nonce)
        return response
