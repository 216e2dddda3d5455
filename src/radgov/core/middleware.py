from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
