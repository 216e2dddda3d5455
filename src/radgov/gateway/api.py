"""The gateway's API: the model endpoints (docs/gateway.md, "To the model"), listed, set and
tested (C-ECHO), for imaging informatics and administrators.  Operations raise; the API's
one handler answers problem+json."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from radgov.core.paging import Page, PageQuery, paginate
from radgov.gateway import endpoints
from radgov.gateway.models import Endpoint

router = Router(tags=["gateway"])


class EndpointIn(Schema):
    ae_title: str
    host: str
    port: int
    tls: bool = False
    timeout_seconds: int = 30
    result_minutes: int = 60


class EndpointOut(EndpointIn):
    deployment_id: int


class TestedOut(Schema):
    answered: bool
    words: str


def _out(endpoint: Endpoint) -> EndpointOut:
    return EndpointOut.from_orm(endpoint)


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
    """Test the connection: C-ECHO the model's node; the answer in words."""
    deployment = endpoints.deployment_of(deployment_id)
    tested = endpoints.echo_endpoint(request.user, deployment)
    return TestedOut(answered=tested.answered, words=tested.words)
