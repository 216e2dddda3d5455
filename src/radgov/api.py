"""The REST API under /api/: one NinjaAPI, one router per app, problem+json errors."""

from __future__ import annotations

import functools
import importlib
import importlib.util

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import SessionAuth

from radgov import __version__
from radgov.accounts.api import router as accounts_router
from radgov.core.api import router as core_router
from radgov.core.errors import NotFound, Refusal, record_refusal, status_of
from radgov.core.jobs_api import router as jobs_router
from radgov.core.machines_api import router as machines_router
from radgov.core.policy import DOMAIN_APPS
from radgov.core.problems import problem


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

# Last, so that it answers only what no operation above does: an unknown path under /api/
# is a 404 as problem+json, not the site's HTML page.  It serves nothing; its rule admits
# signed-in people only (the policy still answers anyone else first).
_unknown = Router()


@_unknown.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", include_in_schema=False
)
def not_found(request: HttpRequest, rest: str) -> None:
    raise NotFound("no API operation at this path")


api.add_router("/", _unknown)


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


@functools.cache
def _methods() -> dict[str, tuple[str, ...]]:
    by_route: dict[str, set[str]] = {}
    for route, method in _operations():
        by_route.setdefault(route, set()).add(method)
    return {route: tuple(sorted(methods)) for route, methods in by_route.items()}


def methods_of(route_name: str) -> tuple[str, ...]:
    """The HTTP methods the operations at a resolved API path answer (empty if unknown)."""
    return _methods().get(route_name, ())


def refused(request: HttpRequest, status: int, detail: str, **extra: object) -> HttpResponse:
    """Every refused API request is answered as problem+json and lands in the audit trail
    once (the service that refused it has rolled back, so nothing else changed)."""
    match = request.resolver_match
    route = operation_route(match.view_name, request.method or "GET") if match else None
    record_refusal(request, status, detail, route=route)
    return problem(status, detail, **extra)  # type: ignore[arg-type]


MAX_LISTED = 100


def on_refusal(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The one handler of a service's refusal (radgov.core.errors); a refusal that lists
    several problems names the first five in ``detail`` and up to 100 in ``errors``, and
    one may add members of its own (``Refusal.members``)."""
    status = status_of(exc)
    listed = exc.listed() if isinstance(exc, Refusal) else []
    members = exc.members() if isinstance(exc, Refusal) else {}
    if not listed:
        return refused(request, status, str(exc), **members)
    shown = listed[:MAX_LISTED]
    detail = "; ".join(": ".join(filter(None, (e["location"], e["message"]))) for e in shown[:5])
    if len(listed) > 5:
        detail += f"; ... {len(listed)} problems in all"
    kind = "conflict" if status == 409 else "invalid-input"
    return refused(request, status, detail, kind=kind, errors=shown, **members)


api.add_exception_handler(Refusal, on_refusal)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return refused(request, 404, str(exc) or "not found")


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
