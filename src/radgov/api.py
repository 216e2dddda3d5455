"""The REST API under /api/: one NinjaAPI, one router per app, problem+json errors."""

from __future__ import annotations

import functools
import importlib
import importlib.util

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import SessionAuth

from radgov import __version__
from radgov.accounts.api import router as accounts_router
from radgov.core.api import router as core_router
from radgov.core.audit import Action, record
from radgov.core.jobs_api import router as jobs_router
from radgov.core.machines_api import router as machines_router
from radgov.core.policy import DOMAIN_APPS
from radgov.core.problems import for_the_record, problem


class PolicyAuth(SessionAuth):
    """Who the caller is was settled by the middleware (session or API token);
    the permission policy has already allowed the route.  Token callers skip CSRF."""

    def __call__(self, request: HttpRequest) -> object | None:
        if getattr(request, "api_token", None) is not None:
            return request.user
        return super().__call__(request)


api = NinjaAPI(
    title="radgov API",
    version=__version__,
    urls_namespace="api",
    auth=PolicyAuth(),
    description=(
        "Governance of imaging AI. Authenticate with a session or `Authorization: Bearer "
        "<token>` (a person's API token, or a machine's credential)."
    ),
)
api.add_router("/", accounts_router)
api.add_router("/audit", core_router)
api.add_router("/jobs", jobs_router)
api.add_router("/machines", machines_router)

# Each domain app brings its own router (radgov/<app>/api.py, `router`), mounted at
# /api/<app>/ with route names prefixed "<app>_" so the policy can tell them apart.
for _app in DOMAIN_APPS:
    if importlib.util.find_spec(f"radgov.{_app}.api") is not None:
        _module = importlib.import_module(f"radgov.{_app}.api")
        api.add_router(f"/{_app}", _module.router, url_name_prefix=_app)


@functools.cache
def _operations() -> dict[tuple[str, str], str]:
    """(route name Django resolves, HTTP method) -> the route name of the operation
    that answers it.  ninja mounts every operation of a path as its own named URL
    pattern, but Django resolves a path to its first pattern, so a POST on /users
    would otherwise be judged by the rule of GET /users.  (Reads ninja's bound
    routers; the role x route matrix test fails if that ever stops working.)"""
    names: dict[tuple[str, str], str] = {}
    for bound in api._get_bound_routers():
        for path_view in bound.path_operations.values():
            ops = []
            for op in path_view.operations:
                name = getattr(op, "url_name", "") or api.get_operation_url_name(
                    op, router=bound.template
                )
                if bound.url_name_prefix:
                    name = f"{bound.url_name_prefix}_{name}"
                ops.append((f"api:{name}", op.methods))
            for name, methods in ops:
                for method in methods:
                    names[(ops[0][0], method)] = name
    return names


def operation_route(route_name: str, method: str) -> str:
    return _operations().get((route_name, method), route_name)


def refused(request: HttpRequest, status: int, detail: str, **extra: object) -> HttpResponse:
    """Every refused API request is answered as problem+json and lands in the audit
    trail (the service that refused it has rolled back, so nothing else changed); the trail
    keeps the message without the values the caller sent (``for_the_record``)."""
    match = request.resolver_match
    record(
        action=Action.DENIED,
        outcome="denied" if status in (401, 403, 404) else "failure",
        object_type="route",
        object_id=operation_route(match.view_name, request.method or "GET")
        if match
        else request.path,
        detail={"method": request.method, "status": status, "reason": for_the_record(detail)[:300]},
    )
    return problem(status, detail, **extra)  # type: ignore[arg-type]


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"location": ".".join(str(p) for p in e.get("loc", [])), "message": e.get("msg", "invalid")}
        for e in exc.errors
    ]
    first = errors[0] if errors else {"location": "", "message": "invalid request"}
    return refused(
        request,
        422,
        f"{first['location']}: {first['message']}",
        kind="validation-error",
        errors=errors,
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return refused(request, exc.status_code, str(exc.message))


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem(
        401, "authentication required: log in or send an API token", kind="unauthenticated"
    )
