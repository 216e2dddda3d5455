"""A study's inferences for every deployment it was routed to, in one go (the gateway's
routing, docs/gateway.md): what ``record_inference`` then ``move`` record for each
deployment, written in a few statements for all of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from radgov.core.services import service
from radgov.exams import access, moves
from radgov.exams.errors import ExamError, MoveError, Problem
from radgov.exams.models import Exam, Inference, StatusChange
from radgov.exams.reasons import explain
from radgov.exams.services.inference import _status, _when, change_row, move
from radgov.exams.statuses import Status
from radgov.inventory.models import Deployment


@dataclass(frozen=True)
class Decided:
    """Where routing sends ``deployment``'s inference: queued, excluded or rejected."""

    deployment: Deployment
    status: str
    reason_code: str = ""
    reason: str = ""


def _new(exam: Exam, item: Decided, when: dt.datetime) -> Inference:
    """The inference of ``item``, received and moved to its status (not saved); refused
    (``MoveError``) as ``move`` would refuse the move."""
    target = _status(item.status)
    try:
        code, text = explain(target, item.reason_code, item.reason)
    except ExamError as exc:
        raise MoveError(exc.problems) from None
    inference = Inference(
        exam=exam,
        deployment=item.deployment,
        status=target,
        status_at=when,
        reason_code=code,
        reason=text,
    )
    missing = [moves.refusal(Status.RECEIVED, target)] + moves.missing_for(inference, target)
    if any(missing):
        raise MoveError([Problem("status", "; ".join(m for m in missing if m))])
    return inference


@service
def record_routed(
    actor: Any, exam: Exam, decided: Sequence[Decided], *, at: dt.datetime | None = None
) -> list[Inference]:
    """The inference of ``exam`` for each of ``decided``'s deployments, in order: a new one
    is recorded as received and moved to its decided status (two history rows); one already
    recorded and still received is moved there (``move``); any other is left as it is."""
    access.require_write(actor)
    when = _when(at)
    pks = [item.deployment.pk for item in decided]
    found = {i.deployment_id: i for i in Inference.objects.filter(exam=exam, deployment__in=pks)}
    new = [_new(exam, item, when) for item in decided if item.deployment.pk not in found]
    Inference.objects.bulk_create(new)
    history: list[StatusChange] = []
    for inference in new:
        received = change_row(actor, inference, "", Status.RECEIVED, when)
        received.reason_code = received.reason = ""
        history += [received, change_row(actor, inference, Status.RECEIVED, inference.status, when)]
    StatusChange.objects.bulk_create(history)
    made = {i.deployment_id: i for i in new}
    inferences = []
    for item in decided:
        inference = found.get(item.deployment.pk) or made[item.deployment.pk]
        if item.deployment.pk in found and inference.status == Status.RECEIVED:
            inference = move(
                actor, inference, item.status, reason_code=item.reason_code, reason=item.reason
            ).inference
        inferences.append(inference)
    return inferences
