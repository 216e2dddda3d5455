"""The gateway's API: the model endpoints (docs/gateway.md, "To the model"), listed, set and
tested, for imaging informatics and administrators; credentials are written, never read.  Operations raise; the API's
one handler answers problem+json."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from radgov.core.paging import Page, PageQuery, paginate
from radgov.gateway import endpoints
from radgov.gateway.models import Endpoint

router = Router(tags=["gateway"])


class EndpointFields(Schema):
    kind: str = "dicom"  # dicom, stow or python
    ae_title: str = ""
    host: str = ""
    port: int = 0
    tls: bool = False
    url: str = ""
    model: str = ""
    timeout_seconds: int = 30
    result_minutes: int = 60


class EndpointIn(EndpointFields):
    credentials: str | None = None  # write-only; absent keeps the recorded ones


class EndpointOut(EndpointFields):
    deployment_id: int
    has_credentials: bool


class TestedOut(Schema):
    answered: bool
    words: str


def _out(endpoint: Endpoint) -> EndpointOut:
    fields = {name: getattr(endpoint, name) for name in EndpointFields.model_fields}
    return EndpointOut(
        **fields,
        deployment_id=endpoint.deployment_id,
        has_credentials=endpoint.credentials is not None,
    )


@router.get("/endpoints", response=Page[EndpointOut])
def list_endpoints(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """Where each deployment's model receives studies."""
    return paginate(endpoints.listed(request.user), page, _out)


@router.put("/endpoints/{deployment_id}", response=EndpointOut)
def set_endpoint(request: HttpRequest, deployment_id: int, payload: EndpointIn) -> EndpointOut:
    """Set the deployment's model endpoint; 422 names the bad field."""
    deployment = endpoints.deployment_of(deployment_id)
    return _out(endpoints.set_endpoint(request.user, deployment, **payload.dict()))


@router.post("/endpoints/{deployment_id}/test", response=TestedOut)
def test_endpoint(request: HttpRequest, deployment_id: int) -> TestedOut:
    """Test the connection (C-ECHO, a connection to the STOW-RS service, or loading the local
    model); the answer in words."""
    deployment = endpoints.deployment_of(deployment_id)
    tested = endpoints.echo_endpoint(request.user, deployment)
    return TestedOut(answered=tested.answered, words=tested.words)
