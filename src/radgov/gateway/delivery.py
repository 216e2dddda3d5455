"""Sending queued studies to their model's DICOM node (docs/gateway.md, "To the model").

A study queued for a deployment with an ``Endpoint`` is sent (C-STORE of its instances, as
stored) and its inference moves to ``sent``; a send that fails is tried again on the next
run, and after ``MAX_ATTEMPTS`` the inference moves to ``failed`` with the reason.  The
network is used outside any transaction; what was done is recorded in one service per
study, keyed so that running again records nothing twice.  Audit: Begin Transferring
(110102) before a send, Instances Transferred (110104) for its outcome.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.utils import timezone

from radgov.core import config, machines
from radgov.core.audit import Action, EventCode, batch, record
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.exams import access
from radgov.exams import services as exams
from radgov.exams.statuses import Status
from radgov.gateway import sender, spool
from radgov.gateway.models import Endpoint, Outcome, Route

SEND_TASK = "gateway.send"
MAX_ATTEMPTS = 3


def due() -> list[Route]:
    """Routes whose study waits, queued, for a model with a DICOM endpoint."""
    return list(
        Route.objects.filter(
            outcome=Outcome.QUEUED,
            inference__status=Status.QUEUED,
            deployment__gateway_endpoint__isnull=False,
            attempts__lt=MAX_ATTEMPTS,
        )
        .select_related("deployment__gateway_endpoint", "inference")
        .order_by("decided_at", "pk")
    )


def send_queued(*, base: Path | None = None) -> list[Route]:
    """Send every due study once; returns the routes as recorded afterwards."""
    calling = config.get("RADGOV_DICOM_AE_TITLE") or "RADGOV"
    done = []
    with machines.acting_as(machines.task_principal(SEND_TASK)) as ctx:
        for route in due():
            endpoint = route.deployment.gateway_endpoint
            instances = route.study.instances.filter(conflict=False, is_result=False).order_by(
                "received_at", "id"
            )
            files = [spool.path_of(i.file_ref, base=base) for i in instances]
            to = {"to": endpoint.ae_title, "instances": len(files)}
            record(
                action=Action.EXPORT,
                object_type="gateway.route",
                object_id=str(route.pk),
                event_code=EventCode.BEGIN_TRANSFERRING,
                detail=to,
            )
            try:
                problem = sender.send_files(
                    files,
                    calling_ae=calling,
                    called_ae=endpoint.ae_title,
                    host=endpoint.host,
                    port=endpoint.port,
                    timeout=float(endpoint.timeout_seconds),
                )
            except OSError:
                problem = "the study's images could not be read from this machine's spool, or sent"
            done.append(record_send(ctx.actor, route.pk, problem, detail=to))
    return done


def time_out(*, now: dt.datetime | None = None) -> list[Route]:
    """Fail (reason ``timeout``) every inference sent longer ago than its endpoint's
    ``result_minutes`` without a result; returns the routes timed out."""
    now = now or timezone.now()
    waiting = Route.objects.filter(
        inference__status__in=(Status.SENT, Status.PROCESSING), sent_at__isnull=False
    ).select_related("deployment__gateway_endpoint")
    late = [
        r.pk
        for r in waiting
        if r.sent_at + dt.timedelta(minutes=r.deployment.gateway_endpoint.result_minutes) <= now
    ]
    with machines.acting_as(machines.task_principal(SEND_TASK)) as ctx:
        return [_time_out(ctx.actor, pk) for pk in late]


@service
def _time_out(actor: Any, pk: int) -> Route:
    route = Route.objects.select_related("inference", "deployment__gateway_endpoint").get(pk=pk)
    minutes = route.deployment.gateway_endpoint.result_minutes
    reason = f"No result within {minutes} minutes of sending."
    _fail(actor, route, "timeout", reason, event_id=f"gateway:timeout:{route.pk}")
    return route


def _fail(actor: Any, route: Route, code: str, reason: str, *, event_id: str) -> None:
    """The routed inference ``failed``, with the reason in words."""
    exams.move(
        actor, route.inference, Status.FAILED, reason_code=code, reason=reason, event_id=event_id
    )


@service
def record_send(actor: Any, pk: int, problem: str | None, *, detail: dict[str, Any]) -> Route:
    """What one send did: the inference ``sent``, or one more attempt, or ``failed`` with
    the reason once the attempts are spent."""
    route = Route.objects.select_for_update().select_related("inference").get(pk=pk)
    if route.inference.status != Status.QUEUED:
        return route  # recorded by an earlier run
    with batch(
        action=Action.EXPORT,
        object_type="gateway.route",
        object_id=str(route.pk),
        event_code=EventCode.INSTANCES_TRANSFERRED,
        detail={**detail, "sent": problem is None},
    ):
        route.attempts += 1
        if problem is None:
            route.sent_at = timezone.now()
        route.save()
        if problem is None:
            exams.move(actor, route.inference, Status.SENT, event_id=f"gateway:sent:{route.pk}")
        elif route.attempts >= MAX_ATTEMPTS:
            reason = f"{problem} ({route.attempts} attempts)"
            event_id = f"gateway:failed:{route.pk}:{route.attempts}"
            _fail(actor, route, "send_failed", reason, event_id=event_id)
    route.inference.refresh_from_db()
    return route


class EndpointError(ValueError):
    """An endpoint that cannot be used; the message names the field."""


@service
def set_endpoint(
    user: Any,
    deployment: Any,
    *,
    ae_title: str,
    host: str,
    port: int,
    timeout_seconds: int = 30,
    result_minutes: int = 60,
) -> Endpoint:
    """Where ``deployment``'s model receives studies (an administrator or informatics, or
    the operator at the console)."""
    if not (
        access.is_operator(user)
        or getattr(user, "role", None) in (Role.ADMINISTRATOR, Role.INFORMATICS)
    ):
        raise PermissionError("only imaging informatics and administrators set model endpoints")
    ae_title, host = ae_title.strip(), host.strip()
    if not 0 < len(ae_title) <= 16 or "\\" in ae_title:
        raise EndpointError("ae_title: 1 to 16 characters, no backslash")
    if not host or len(host) > 255:
        raise EndpointError("host: a host name or address is required")
    if not 0 < port < 65536:
        raise EndpointError(f"port: 1 to 65535, not {port}")
    if not 1 <= timeout_seconds <= 3600:
        raise EndpointError(f"timeout_seconds: 1 to 3600, not {timeout_seconds}")
    if not 1 <= result_minutes <= 10080:
        raise EndpointError(f"result_minutes: 1 to 10080 (a week), not {result_minutes}")
    endpoint, _ = Endpoint.objects.update_or_create(
        deployment=deployment,
        defaults={
            "ae_title": ae_title,
            "host": host,
            "port": port,
            "timeout_seconds": timeout_seconds,
            "result_minutes": result_minutes,
        },
    )
    return endpoint
