"""The gateway's pages: the technologist remediation queue, the association log and the
model endpoints.  Thin: reads and writes are in ``remediation`` and ``endpoints``
(restricted and audited there)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from radgov.core.errors import denied_page, refusal
from radgov.exams.errors import NotPermitted
from radgov.exams.models import Inference
from radgov.exams.reasons import REASONS
from radgov.gateway import associations, endpoints, local, remediation
from radgov.gateway.models import EndpointKind, Remedy
from radgov.inventory.models import Deployment


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """Rejected inputs by station and reason, each with what a technologist can do."""
    try:
        rows = remediation.queue(request.user)
    except NotPermitted as exc:
        return denied_page(request, exc)
    context = {
        "rows": [(i, REASONS[i.reason_code].sentence) for i in rows],
        "remedies": Remedy.choices,
    }
    return render(request, "gateway/remediation.html", context)


@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    inference = get_object_or_404(Inference, pk=pk)
    try:
        remediation.decide(
            request.user, inference, request.POST.get("outcome", ""), request.POST.get("note", "")
        )
    except NotPermitted as exc:
        return denied_page(request, exc)
    except remediation.RemediationError as exc:
        messages.error(request, f"Not recorded: {refusal(request, exc)}")
    else:
        messages.success(request, f"Recorded for study {inference.exam_id}.")
    return redirect("gateway:remediation")


@require_GET
def association_log(request: HttpRequest) -> HttpResponse:
    """The latest associations with the listener: who called, accepted or why refused, and
    how many instances were stored or refused (no patient data)."""
    return render(request, "gateway/associations.html", {"rows": associations.latest()})


@require_http_methods(["GET", "POST"])
def endpoint_list(request: HttpRequest) -> HttpResponse:
    """Every deployment's model endpoint (a DICOM node, a STOW-RS service or a local model,
    with its timeouts), with a form to set it and a test-connection action.  A refused form is shown again as it
    was filled in, with the reason."""
    error, status, tested, failed = "", 200, None, None
    if request.method == "POST":
        try:
            deployment = _deployment(request.POST.get("deployment", ""))
            if request.POST.get("action") == "test":
                tested = (deployment.pk, endpoints.echo_endpoint(request.user, deployment))
            else:
                failed = deployment.pk
                endpoints.set_endpoint(request.user, deployment, **_endpoint_form(request.POST))
                messages.success(
                    request, f"The model endpoint of deployment {deployment.pk} is recorded."
                )
                return redirect("gateway:endpoints")
        except endpoints.NotPermitted as exc:
            return denied_page(request, exc)
        except endpoints.EndpointError as exc:
            error, status = refusal(request, exc), 422
    try:
        rows = endpoints.deployments(request.user)
    except endpoints.NotPermitted as exc:
        return denied_page(request, exc)
    forms = [
        (d, {**_values(d), **_shown(request.POST)} if error and d.pk == failed else _values(d))
        for d in rows
    ]
    context = {
        "rows": forms,
        "error": error,
        "failed": failed,
        "tested": tested,
        "kinds": EndpointKind.choices,
        "models": sorted(local.registered()),
    }
    return render(request, "gateway/endpoints.html", context, status=status)


FIELDS = ("kind", "ae_title", "host", "port", "url", "model", "timeout_seconds", "result_minutes")


def _values(deployment: Deployment) -> dict[str, Any]:
    """What the deployment's form shows: its endpoint, or the defaults."""
    endpoint = getattr(deployment, "gateway_endpoint", None)
    if endpoint is None:
        return {"kind": "dicom", "timeout_seconds": 30, "result_minutes": 60}
    return {
        **{name: getattr(endpoint, name) for name in FIELDS},
        "tls": endpoint.tls,
        "has_credentials": endpoint.credentials is not None,
        "saved": True,
    }


def _shown(data: Any) -> dict[str, Any]:
    return {**{name: data.get(name, "") for name in FIELDS}, "tls": data.get("tls") == "on"}


def _deployment(value: str) -> Deployment:
    if not value.isdigit():
        raise Http404("no such deployment")
    return get_object_or_404(Deployment, pk=int(value))


def _endpoint_form(data: Any) -> dict[str, Any]:
    """The form's fields as the service takes them; a number that is not one is named."""
    kind = data.get("kind", "dicom")
    numbers = {}
    for name in ("port", "timeout_seconds", "result_minutes"):
        value = data.get(name, "")
        if name == "port" and kind != "dicom" and not value:
            value = "0"  # only a DICOM node has a port
        try:
            numbers[name] = int(value)
        except ValueError:
            raise endpoints.EndpointError(f"{name}: a whole number is required") from None
    return {
        "kind": kind,
        **{name: data.get(name, "") for name in ("ae_title", "host", "url", "model")},
        "credentials": data.get("credentials") or None,  # left empty: kept as they are
        "tls": data.get("tls") == "on",
        **numbers,
    }
