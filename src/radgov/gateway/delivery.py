"""Sending queued studies to their model (docs/gateway.md, "To the model").

A study queued for a deployment with an ``Endpoint`` is sent (C-STORE of its instances, as
stored, to a DICOM node; or one STOW-RS POST of them) and its inference moves to ``sent``; a
local Python model is run on it instead, and its answer recorded as its result at once; a send that fails is tried again on the next
run, and after ``MAX_ATTEMPTS`` the inference moves to ``failed`` with the reason.  The
network is used outside any transaction; what was done is recorded in one service per
study, keyed so that running again records nothing twice.  Audit: Begin Transferring
(110102) before a send, Instances Transferred (110104) for its outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.utils import timezone

from radgov.core import machines
from radgov.core.audit import Action, EventCode, batch, record
from radgov.core.services import service
from radgov.exams import services as exams
from radgov.exams.statuses import Status
from radgov.gateway import endpoints, local, results, sender, services, spool, stow
from radgov.gateway.models import Endpoint, EndpointKind, Outcome, Route

SEND_TASK = "gateway.send"
MAX_ATTEMPTS = 3


def due() -> list[Route]:
    """Routes whose study waits, queued, for a model with an endpoint."""
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
    done = []
    with machines.acting_as(machines.task_principal(SEND_TASK)) as ctx:
        for route in due():
            endpoint = route.deployment.gateway_endpoint
            instances = services.images(route.study, after=route.resent_after)
            files = [spool.path_of(i.file_ref, base=base) for i in instances]
            to = {"to": endpoint.target, "instances": len(files)}
            record(
                action=Action.EXPORT,
                object_type="gateway.route",
                object_id=str(route.pk),
                event_code=EventCode.BEGIN_TRANSFERRING,
                detail=to,
            )
            if endpoint.kind == EndpointKind.PYTHON:
                done.append(_run_local(ctx.actor, route, endpoint, files, to, base=base))
                continue
            done.append(_send_and_record(ctx.actor, route, endpoint, files, to))
    return done


def _send_and_record(
    actor: Any, route: Route, endpoint: Endpoint, files: list[Path], to: dict[str, Any]
) -> Route:
    """Send the study and record what the send did (``record_send``)."""
    recorded: list[Route] = []  # a DICOM node's send, recorded before it was released

    def stored() -> None:
        recorded.append(record_send(actor, route.pk, None, detail=to))

    try:
        problem, note = _send(endpoint, files, stored)
    except OSError:
        problem = "the study's images could not be read from this machine's spool, or sent"
    return recorded[0] if recorded else record_send(actor, route.pk, problem, detail=to, note=note)


def _send(
    endpoint: Endpoint, files: list[Path], stored: Callable[[], None]
) -> tuple[str | None, str]:
    """Send to a DICOM node or a STOW-RS service: (problem or None, a note on warnings).
    A DICOM node's send is recorded by ``stored`` before its association is released: the
    node may answer as soon as it is, and its result must find the inference sent."""
    if endpoint.kind == EndpointKind.STOW:
        stowed = stow.send_files(
            files,
            url=endpoint.url,
            authorization=endpoint.authorization,
            timeout=float(endpoint.timeout_seconds),
        )
        note = f"Stored with warnings: {'; '.join(stowed.warnings)}." if stowed.warnings else ""
        return stowed.problem, note
    return sender.send_files(files, **endpoints.node(endpoint), on_stored=stored), ""


def _run_local(
    actor: Any,
    route: Route,
    endpoint: Endpoint,
    files: list[Path],
    detail: dict[str, Any],
    *,
    base: Path | None,
) -> Route:
    """Run a local Python model on the study and record its answer as its result."""
    answer: local.Answer | local.Rejection | None = None
    try:
        answer, problem = local.run(endpoint.model, files), None
    except local.LocalModelError as exc:
        problem = str(exc)
    except Exception as exc:  # noqa: BLE001 - a model's own fault is a failed attempt
        problem = f"the local model {endpoint.model} stopped with {type(exc).__name__}"
    return record_local(actor, route.pk, problem, answer, detail=detail, base=base)


@service
def record_local(
    actor: Any,
    pk: int,
    problem: str | None,
    answer: local.Answer | local.Rejection | None,
    *,
    detail: dict[str, Any],
    base: Path | None = None,
) -> Route:
    """A local model's run: recorded as a send, and its answer as the result, in one
    transaction (running again records nothing twice)."""
    route = record_send(actor, pk, problem, detail=detail)
    if problem is None and answer is not None:
        results.take_answer(actor, route.inference, answer, base=base)
        route.inference.refresh_from_db()
    return route


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
def record_send(
    actor: Any, pk: int, problem: str | None, *, detail: dict[str, Any], note: str = ""
) -> Route:
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
            exams.move(
                actor,
                route.inference,
                Status.SENT,
                reason=note,
                event_id=f"gateway:sent:{route.pk}",
            )
        elif route.attempts >= MAX_ATTEMPTS:
            reason = f"{problem} ({route.attempts} attempts)"
            event_id = f"gateway:failed:{route.pk}:{route.attempts}"
            _fail(actor, route, "send_failed", reason, event_id=event_id)
    route.inference.refresh_from_db()
    return route
