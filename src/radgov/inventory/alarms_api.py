"""The API of suspension by a monitoring alarm (IV.G), part of the inventory's router:
the governance group allows or withdraws a machine's standing permission, and the machine
(an API client holding ``inventory.suspend_on_alarm``) suspends through it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from radgov.core.models import Machine
from radgov.inventory import lifecycle
from radgov.inventory.models import AlarmSuspension, Deployment

router = Router()


class AlarmSuspensionIn(Schema):
    machine_id: int
    note: str = ""


class AlarmSuspensionOut(Schema):
    id: int
    deployment_id: int
    machine: str = Field(alias="machine.name")
    note: str
    allowed_by: str | None
    allowed_at: datetime
    withdrawn_at: datetime | None

    @staticmethod
    def resolve_allowed_by(s: AlarmSuspension) -> str | None:
        return s.allowed_by.username if s.allowed_by else None


class AlarmIn(Schema):
    alarm: str
    reason: str


@router.post("/deployments/{deployment_id}/alarm-suspensions", response={201: AlarmSuspensionOut})
def allow_alarm_suspension(
    request: HttpRequest, deployment_id: int, payload: AlarmSuspensionIn
) -> Status[AlarmSuspension]:
    """Allow a machine's alarm to suspend this deployment (governance-group members and
    administrators); resuming stays a person's decision."""
    deployment = get_object_or_404(Deployment, pk=deployment_id)
    machine = get_object_or_404(Machine, pk=payload.machine_id)
    row = lifecycle.allow_alarm_suspension(request.user, deployment, machine, note=payload.note)
    return Status(201, row)


@router.post("/alarm-suspensions/{suspension_id}/withdraw", response=AlarmSuspensionOut)
def withdraw_alarm_suspension(request: HttpRequest, suspension_id: int) -> AlarmSuspension:
    row = get_object_or_404(AlarmSuspension, pk=suspension_id)
    return lifecycle.withdraw_alarm_suspension(request.user, row)


@router.post("/deployments/{deployment_id}/suspend-on-alarm", response={200: dict[str, Any]})
def suspend_on_alarm(request: HttpRequest, deployment_id: int, payload: AlarmIn) -> dict[str, Any]:
    """For a machine (an API client holding ``inventory.suspend_on_alarm``) whose alarm
    fired: suspend the deployment as the governance group allowed."""
    deployment = get_object_or_404(Deployment, pk=deployment_id)
    row = lifecycle.suspend_on_alarm(
        request.user,
        deployment,
        alarm=payload.alarm,
        reason=payload.reason,
    )
    return {"id": row.pk, "status": row.status}
