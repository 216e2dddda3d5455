from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from radgov.core.context import ActingContext, acting_as, client_address


class RequestContextMiddleware:
    """Gives every request an id and a client address for the audit trail."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

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


class PageMethodsMiddleware:
    """Answers 405 (with ``Allow``) when a page is asked with a method no page handles, before
    login or any other check: without it a function view treats PUT or DELETE like GET.  A
    class-based view narrows the methods to those it implements; a view that handles fewer
    (``require_GET``, ``require_POST``) refuses the rest itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is None or match.view_name.startswith("api:"):
            return None
        allowed = list(PAGE_METHODS)
        view_class = getattr(view, "view_class", None)
        if view_class is not None:
            own = {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)}
            allowed = [m for m in allowed if m in own or (m == "HEAD" and "GET" in own)]
        if request.method in allowed:
            return None
        return HttpResponseNotAllowed(allowed)
