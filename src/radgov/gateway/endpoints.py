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
from radgov.gateway import sender
from radgov.gateway.models import Endpoint
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
    ae_title: str,
    host: str,
    port: int,
    tls: bool = False,
    timeout_seconds: int = 30,
    result_minutes: int = 60,
) -> Endpoint:
    """Where ``deployment``'s model receives studies; refused naming the first bad field."""
    require(user)
    ae_title, host = ae_title.strip(), host.strip()
    if not 0 < len(ae_title) <= 16 or "\\" in ae_title:
        raise EndpointError("ae_title: 1 to 16 characters, no backslash")
    if not host or len(host) > 255 or any(c.isspace() for c in host):
        raise EndpointError("host: a host name or address is required (no spaces)")
    if not 0 < port < 65536:
        raise EndpointError(f"port: 1 to 65535, not {port}")
    values = {"timeout_seconds": timeout_seconds, "result_minutes": result_minutes}
    for name, (low, high) in LIMITS.items():
        if not low <= values[name] <= high:
            raise EndpointError(f"{name}: {low} to {high}, not {values[name]}")
    endpoint, _ = Endpoint.objects.update_or_create(
        deployment=deployment,
        defaults={"ae_title": ae_title, "host": host, "port": port, "tls": tls, **values},
    )
    return endpoint


def echo_endpoint(user: Any, deployment: Deployment) -> Tested:
    """C-ECHO the deployment's model node, as the listener's AE title; the answer is
    recorded (who asked, the endpoint, what the node said)."""
    require(user)
    endpoint = Endpoint.objects.filter(deployment=deployment).first()
    if endpoint is None:
        raise EndpointError("this deployment has no model endpoint to test")
    try:
        problem = sender.echo(
            calling_ae=config.get("RADGOV_DICOM_AE_TITLE") or "RADGOV",
            called_ae=endpoint.ae_title,
            host=endpoint.host,
            port=endpoint.port,
            timeout=float(endpoint.timeout_seconds),
            tls=endpoint.tls,
        )
    except OSError as exc:
        problem = f"the model's node could not be reached ({type(exc).__name__})"
    tested = Tested(problem is None, problem or f"{endpoint.ae_title} answered the C-ECHO")
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
