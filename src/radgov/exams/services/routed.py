"""A study's inferences for every deployment it was routed to, in one go (the gateway's
routing, docs/gateway.md): what ``record_inference`` then ``move`` record for each
deployment, written as whole columns through the core's audited ``ingest`` (COPY on
PostgreSQL) inside the caller's audit batch, as the bulk path's fast lane writes them
(``fresh``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from radgov.exams import access, moves
from radgov.exams.errors import ExamError, MoveError, Problem
from radgov.exams.models import Exam, Inference, StatusChange
from radgov.exams.reasons import explain
from radgov.exams.services.fresh import HISTORY_COLUMNS, INFERENCE_COLUMNS, NO_OUTPUTS
from radgov.exams.services.inference import _status, _when, move
from radgov.exams.statuses import Status


@dataclass(frozen=True)
class Decided:
    """Where routing sends the inference of the deployment ``deployment_id``: queued,
    excluded or rejected."""

    deployment_id: int
    status: str
    reason_code: str = ""
    reason: str = ""


def _explained(exam: Exam, item: Decided) -> tuple[Status, str, str]:
    """(status, reason code, reason) of the new inference of ``item``; refused
    (``MoveError``) as ``move`` would refuse the move from received."""
    target = _status(item.status)
    try:
        code, text = explain(target, item.reason_code, item.reason)
    except ExamError as exc:
        raise MoveError(exc.problems) from None
    missing = [moves.refusal(Status.RECEIVED, target)]
    if moves.guarded(target):
        inference = Inference(exam=exam, deployment_id=item.deployment_id, status=target)
        inference.reason_code, inference.reason = code, text
        missing += moves.missing_for(inference, target)
    if any(missing):
        raise MoveError([Problem("status", "; ".join(m for m in missing if m))])
    return target, code, text


def rows_routed(count: int) -> dict[type[Inference] | type[StatusChange], int]:
    """The rows ``record_routed`` writes for ``count`` new inferences, by model (for
    ``radgov.core.models.ingest.drawn_together``): each inference with two history rows."""
    return {Inference: count, StatusChange: 2 * count}


def record_routed(
    actor: Any,
    exam: Exam,
    decided: Sequence[Decided],
    *,
    at: dt.datetime | None = None,
    new_exam: bool = False,
) -> list[int]:
    """The keys of the inferences of ``exam`` for each of ``decided``'s deployments, in
    order, inside an audit batch (``radgov.core.audit.batch``): a new one is recorded as
    received and moved to its decided status (two history rows); one already recorded and
    still received is moved there (``move``); any other is left as it is.  ``new_exam``:
    the exam was created in this transaction, so it has no inference to look for.

    Inside the caller's service and audit batch (routing's: one entry for the study), which
    ``ingest`` requires anyway: a service of its own could only ever be nested, and would
    cost a savepoint (two statements) that nothing rolls back to."""
    access.require_write(actor)
    when, now = _when(at).astimezone(dt.UTC), timezone.now().astimezone(dt.UTC)
    pks = [item.deployment_id for item in decided]
    found = (
        {}
        if new_exam
        else {i.deployment_id: i for i in Inference.objects.filter(exam=exam, deployment__in=pks)}
    )
    new = [(item, *_explained(exam, item)) for item in decided if item.deployment_id not in found]
    outputs = tuple(NO_OUTPUTS[name] for name in INFERENCE_COLUMNS[6:11])  # none yet
    keys = Inference.objects.ingest(
        INFERENCE_COLUMNS,
        [
            (
                exam.pk,
                item.deployment_id,
                target.value,
                when,
                code,
                text,
                *outputs,
                "",
                "",
                now,
                None,
            )
            for item, target, code, text in new
        ],
    )
    person = getattr(access.actor_person(actor), "pk", None)
    name, received = access.actor_name(actor), Status.RECEIVED.value
    history = []
    for key, (_, target, code, text) in zip(keys, new, strict=True):
        history += [
            (key, "", received, when, now, person, name, "", "", "", "", None),
            (key, received, target.value, when, now, person, name, code, text, "", "", None),
        ]
    StatusChange.objects.ingest(HISTORY_COLUMNS, history)
    made = {item.deployment_id: key for key, (item, *_) in zip(keys, new, strict=True)}
    inferences = []
    for item in decided:
        inference = found.get(item.deployment_id)
        if inference is not None and inference.status == Status.RECEIVED:
            move(actor, inference, item.status, reason_code=item.reason_code, reason=item.reason)
        inferences.append(inference.pk if inference is not None else made[item.deployment_id])
    return inferences
