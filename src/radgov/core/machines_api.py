"""The administrator's API for machine principals, mounted at /api/machines."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import FilterLookup, FilterSchema, Query, Router, Schema, Status

from radgov.core import machines, policy
from radgov.core.errors import NotFound
from radgov.core.models import Machine, MachineCredential
from radgov.core.paging import Page, PageQuery, paginate

router = Router(tags=["machines"])


class MachineIn(Schema):
    kind: str
    name: str
    description: str = ""
    ae_title: str = ""
    address: str = ""
    application: str = ""
    grants: list[str] = []


class MachineOut(Schema):
    id: int
    kind: str
    name: str
    description: str
    ae_title: str
    address: str
    application: str
    grants: list[str]
    is_active: bool
    created_at: datetime


class GrantsIn(Schema):
    grants: list[str]


class CredentialIn(Schema):
    name: str
    days: int = 365


class CredentialOut(Schema):
    id: int
    machine_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class CredentialIssued(Schema):
    credential: CredentialOut
    secret: str


def machine_out(machine: Machine) -> dict[str, Any]:
    return {
        **{f: getattr(machine, f) for f in MachineOut.model_fields if f != "grants"},
        "grants": sorted(policy.grants_of(machine)),
    }


def _machine(machine_id: int) -> Machine:
    machine = Machine.objects.filter(pk=machine_id).first()
    if machine is None:
        raise NotFound(f"no machine {machine_id}")
    return machine


class MachineFilter(FilterSchema):
    kind: str | None = None
    name: Annotated[str | None, FilterLookup("name__icontains")] = None
    is_active: bool | None = None


@router.get("", response=Page[MachineOut])
def list_machines(
    request: HttpRequest, filters: Query[MachineFilter], page: Query[PageQuery]
) -> dict[str, Any]:
    return paginate(filters.filter(Machine.objects.order_by("name", "pk")), page, machine_out)


@router.post("", response={201: MachineOut})
def register_machine(request: HttpRequest, payload: MachineIn) -> Status[dict[str, Any]]:
    """A DICOM or MLLP peer, or an API client, with the grants it holds."""
    return Status(201, machine_out(machines.register(request.user, **payload.dict())))


@router.get("/{machine_id}", response=MachineOut)
def get_machine(request: HttpRequest, machine_id: int) -> dict[str, Any]:
    return machine_out(_machine(machine_id))


@router.put("/{machine_id}/grants", response=MachineOut)
def set_machine_grants(request: HttpRequest, machine_id: int, payload: GrantsIn) -> dict[str, Any]:
    machine = machines.set_grants(request.user, _machine(machine_id), payload.grants)
    return machine_out(machine)


@router.post("/{machine_id}/deactivate", response=MachineOut)
def deactivate_machine(request: HttpRequest, machine_id: int) -> dict[str, Any]:
    return machine_out(machines.deactivate(request.user, _machine(machine_id)))


@router.post("/{machine_id}/credentials", response={201: CredentialIssued})
def issue_machine_credential(
    request: HttpRequest, machine_id: int, payload: CredentialIn
) -> Status[dict[str, Any]]:
    """An API credential for an API client; the secret is shown this once."""
    credential, secret = machines.issue_credential(
        request.user,
        _machine(machine_id),
        name=payload.name,
        days=payload.days,
    )
    return Status(201, {"credential": credential, "secret": secret})


@router.post("/credentials/{credential_id}/revoke", response=CredentialOut)
def revoke_machine_credential(request: HttpRequest, credential_id: int) -> MachineCredential:
    credential = MachineCredential.objects.filter(pk=credential_id).first()
    if credential is None:
        raise NotFound(f"no machine credential {credential_id}")
    return machines.revoke_credential(request.user, credential)
