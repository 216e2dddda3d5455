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
from radgov.core.services import service
from radgov.exams import services as exams
from radgov.exams.statuses import Status
from radgov.gateway import sender, services, spool
from radgov.gateway.models import Outcome, Route

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
            instances = services.images(route.study, after=route.resent_after)
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
                    tls=endpoint.tls,
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
