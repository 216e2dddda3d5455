"""Model endpoints (docs/gateway.md, "To the model"): where each deployment's model receives
studies (a DICOM node: AE title, host, port, TLS, timeouts), set and tested by imaging
informatics and administrators (or the operator at the console).

Setting one is a service (the row's change is audited with it); testing one is a C-ECHO
against the node, recorded as an application activity with its answer.  No patient data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from radgov.core import config
from radgov.core.audit import Action, EventCode, record
from radgov.core.errors import Denied, NotFound, Refused
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.exams import access
from radgov.gateway import local, sender, stow
from radgov.gateway.models import Endpoint, EndpointKind
from radgov.inventory.models import Deployment

LIMITS = {"timeout_seconds": (1, 3600), "result_minutes": (1, 10080)}  # 10080: a week


class EndpointError(Refused):
    """An endpoint that cannot be used; the message names the field."""


class NotPermitted(Denied):
    """Only imaging informatics and administrators set and test model endpoints."""


@dataclass(frozen=True)
class Tested:
    answered: bool
    words: str


def require(user: Any) -> None:
    if access.is_operator(user):
        return
    if getattr(user, "role", None) not in (Role.ADMINISTRATOR, Role.INFORMATICS) or not getattr(
        user, "is_active", False
    ):
        raise NotPermitted("only imaging informatics and administrators set model endpoints")


def deployments(user: Any) -> list[Deployment]:
    """Every deployment with its endpoint (or none yet), for the endpoints page."""
    require(user)
    return list(
        Deployment.objects.select_related("model_version__product", "gateway_endpoint").order_by(
            "pk"
        )
    )


def listed(user: Any) -> QuerySet[Endpoint]:
    """Every model endpoint, for the API."""
    require(user)
    return Endpoint.objects.select_related("deployment").order_by("deployment_id")


def deployment_of(deployment_id: int) -> Deployment:
    found = Deployment.objects.filter(pk=deployment_id).first()
    if found is None:
        raise NotFound(f"no deployment {deployment_id}")
    return found


@service
def set_endpoint(
    user: Any,
    deployment: Deployment,
    *,
    kind: str = EndpointKind.DICOM,
    ae_title: str = "",
    host: str = "",
    port: int = 0,
    tls: bool = False,
    url: str = "",
    credentials: str | None = None,
    model: str = "",
    timeout_seconds: int = 30,
    result_minutes: int = 60,
) -> Endpoint:
    """Where ``deployment``'s model receives studies; refused naming the first bad field.
    ``credentials`` (a STOW-RS Authorization header value) None keeps the ones recorded."""
    require(user)
    ae_title, host, url, model = ae_title.strip(), host.strip(), url.strip(), model.strip()
    if kind not in EndpointKind.values:
        raise EndpointError(f"kind: one of {', '.join(EndpointKind.values)}")
    if kind == EndpointKind.DICOM:
        _check_node(ae_title, host, port)
    elif ae_title:  # the AE title a STOW-RS model's results come back from, if any
        _check_node(ae_title, "localhost", 104)
    if kind == EndpointKind.STOW and (problem := stow.check_url(url)):
        raise EndpointError(problem)
    if kind == EndpointKind.PYTHON:
        try:
            local.load(model)
        except local.LocalModelError as exc:
            raise EndpointError(str(exc)) from None
    if credentials is not None and any(c in credentials for c in "\r\n"):
        raise EndpointError("credentials: one line (an Authorization header value)")
    values = {"timeout_seconds": timeout_seconds, "result_minutes": result_minutes}
    for name, (low, high) in LIMITS.items():
        if not low <= values[name] <= high:
            raise EndpointError(f"{name}: {low} to {high}, not {values[name]}")
    fields: dict[str, Any] = {
        "kind": kind,
        "ae_title": ae_title,
        "host": host if kind == EndpointKind.DICOM else "",
        "port": port if kind == EndpointKind.DICOM else 0,
        "tls": tls and kind == EndpointKind.DICOM,
        "url": url if kind == EndpointKind.STOW else "",
        "model": model if kind == EndpointKind.PYTHON else "",
        **values,
    }
    if credentials is not None or kind != EndpointKind.STOW:
        given = (credentials or "").strip() if kind == EndpointKind.STOW else ""
        fields["credentials"] = given or None
    endpoint, _ = Endpoint.objects.update_or_create(deployment=deployment, defaults=fields)
    return endpoint


def _check_node(ae_title: str, host: str, port: int) -> None:
    if not 0 < len(ae_title) <= 16 or "\\" in ae_title:
        raise EndpointError("ae_title: 1 to 16 characters, no backslash")
    if not host or len(host) > 255 or any(c.isspace() for c in host):
        raise EndpointError("host: a host name or address is required (no spaces)")
    if not 0 < port < 65536:
        raise EndpointError(f"port: 1 to 65535, not {port}")


def node(endpoint: Endpoint) -> dict[str, Any]:
    """How ``sender`` reaches the endpoint's DICOM node, as the listener's AE title."""
    return {
        "calling_ae": config.get("RADGOV_DICOM_AE_TITLE") or "RADGOV",
        "called_ae": endpoint.ae_title,
        "host": endpoint.host,
        "port": endpoint.port,
        "timeout": float(endpoint.timeout_seconds),
        "tls": endpoint.tls,
    }


def _reach(endpoint: Endpoint) -> str | None:
    """None when the endpoint answers, else what went wrong."""
    try:
        if endpoint.kind == EndpointKind.STOW:
            return stow.reach(endpoint.url, timeout=float(endpoint.timeout_seconds))
        if endpoint.kind == EndpointKind.PYTHON:
            local.load(endpoint.model)
            return None
        return sender.echo(**node(endpoint))
    except local.LocalModelError as exc:
        return str(exc)
    except OSError as exc:
        return f"the model's node could not be reached ({type(exc).__name__})"


ANSWERED = {
    EndpointKind.DICOM: "{e.ae_title} answered the C-ECHO",
    EndpointKind.STOW: "the STOW-RS service answered (a connection was made)",
    EndpointKind.PYTHON: "the local model {e.model} is loaded",
}


def echo_endpoint(user: Any, deployment: Deployment) -> Tested:
    """Test the deployment's model endpoint: C-ECHO a DICOM node (as the listener's AE
    title), connect to a STOW-RS service (TLS checked over HTTPS), or load a local model.
    The answer is recorded (who asked, the endpoint, what it said)."""
    require(user)
    endpoint = Endpoint.objects.filter(deployment=deployment).first()
    if endpoint is None:
        raise EndpointError("this deployment has no model endpoint to test")
    problem = _reach(endpoint)
    tested = Tested(problem is None, problem or ANSWERED[endpoint.kind].format(e=endpoint))
    record(
        action=Action.EXECUTE,
        object_type="gateway.endpoint",
        object_id=str(endpoint.pk),
        outcome="success" if tested.answered else "failure",
        event_code=EventCode.APPLICATION_ACTIVITY,
        actor=user,
        detail={"what": "test connection", "answer": tested.words[:200]},
    )
    return tested
