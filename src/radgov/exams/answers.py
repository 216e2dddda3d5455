"""How the clinical APIs (exams, its review routes, monitoring) answer: a service or selector
call whose refusal becomes problem+json, and a row by id or a 404.  The one place both apps
import; ``radgov.exams.api`` and ``radgov.monitoring.api`` use these names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models
from django.http import HttpRequest, HttpResponse
from ninja.errors import HttpError

from radgov.exams.errors import ExamConflict, ExamError, NotPermitted

T = TypeVar("T")
M = TypeVar("M", bound=models.Model)
MAX_ERRORS = 100


def answer(
    request: HttpRequest, fn: Callable[..., T], *args: Any, **kwargs: Any
) -> T | HttpResponse:
    """Call a service or selector; its refusal becomes problem+json (audited, as every refused
    API request is), with each problem in ``errors``: the service has rolled back."""
    from radgov.api import refused  # the API module mounts the routers that call this

    try:
        return fn(*args, **kwargs)
    except NotPermitted as exc:
        return refused(request, 403, str(exc))
    except ExamError as exc:
        status = 409 if isinstance(exc, ExamConflict) else 422
        shown = exc.problems[:MAX_ERRORS]
        detail = "; ".join(str(p) for p in shown[:5])
        if len(exc.problems) > 5:
            detail += f"; ... {len(exc.problems)} problems in all"
        return refused(
            request,
            status,
            detail,
            kind="conflict" if status == 409 else "invalid-input",
            errors=[{"location": p.field, "message": p.message} for p in shown],
        )


def row_or_404(model: type[M], pk: int) -> M:
    """Row ``pk`` of ``model``, or a 404 that names what is missing ("no inference 7")."""
    row = model._default_manager.filter(pk=pk).first()
    if row is None:
        raise HttpError(404, f"no {model._meta.verbose_name} {pk}")
    return row
