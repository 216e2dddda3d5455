"""Inferences: recorded once per exam and deployment, moved along the status table, given
their outputs and result objects.  Every write is idempotent (docs/exams.md)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from radgov.core import crypto
from radgov.core.services import service
from radgov.exams import access, moves
from radgov.exams.errors import ExamConflict, ExamError, MoveError, Problem
from radgov.exams.metadata import is_uid
from radgov.exams.models import Exam, Inference, ResultObject, StatusChange
from radgov.exams.outputs import Outputs
from radgov.exams.reasons import explain
from radgov.exams.statuses import ResultKind, Status
from radgov.inventory.models import Deployment

EVENT_NAMESPACE = "exams:event"
SOP_UID_NAMESPACE = "exams:sop_instance_uid"
CLOCK_SLACK = dt.timedelta(minutes=5)  # a source's clock may run a little ahead of ours
WITH_OUTPUTS = (Status.INFERRED, Status.RELEASED, Status.WITHDRAWN)
OUTPUT_FIELDS = ("score", "call", "confidence", "findings", "model_version")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Moved:
    inference: Inference
    changed: bool


@service
def record_inference(
    actor: Any, exam: Exam, deployment: Deployment, *, at: dt.datetime | None = None
) -> Inference:
    """The inference of ``deployment`` on ``exam``, created as ``received`` if new."""
    access.require_write(actor)
    return get_or_create(actor, exam, deployment, at=at)[0]


def get_or_create(
    actor: Any, exam: Exam, deployment: Deployment, *, at: dt.datetime | None = None
) -> tuple[Inference, bool]:
    """(inference, created): ``record_inference`` without the permission check (the bulk
    path); inside a service."""
    found = Inference.objects.filter(exam=exam, deployment=deployment).first()
    if found is not None:
        return found, False
    when = _when(at)
    inference = Inference(exam=exam, deployment=deployment, status=Status.RECEIVED, status_at=when)
    try:
        with transaction.atomic():  # a concurrent source may record it first
            inference.save()
    except IntegrityError:
        return Inference.objects.get(exam=exam, deployment=deployment), False
    change_row(actor, inference, "", Status.RECEIVED, when).save()
    return inference, True


@service
def move(
    actor: Any,
    inference: Inference,
    to: Status | str,
    *,
    reason_code: str = "",
    reason: str = "",
    at: dt.datetime | None = None,
    event_id: str = "",
    vendor_status: str = "",
    vendor_reason: str = "",
) -> Moved:
    """Move ``inference`` to status ``to``; refused (``MoveError``) when the table or a guard
    does not allow it.  A move already recorded under ``event_id``, or the same move reported
    again, changes nothing (``changed`` is False)."""
    access.require_write(actor)
    locked = Inference.objects.select_for_update().get(pk=inference.pk)
    return apply_move(
        actor,
        locked,
        to,
        reason_code=reason_code,
        reason=reason,
        at=at,
        event_id=event_id,
        vendor={"vendor_status": vendor_status, "vendor_reason": vendor_reason},
    )


@service
def record_outputs(
    actor: Any,
    inference: Inference,
    outputs: Outputs,
    *,
    at: dt.datetime | None = None,
    event_id: str = "",
) -> Moved:
    """The model's outputs and the move to ``inferred``, in one transaction.  The same
    outputs again change nothing; different ones for an inference that has outputs are
    refused (a result is evidence; a reviewer's changes are the review's)."""
    access.require_write(actor)
    locked = Inference.objects.select_for_update().get(pk=inference.pk)
    return apply_outputs(actor, locked, outputs.validated(), at=at, event_id=event_id)


def apply_outputs(
    actor: Any, inference: Inference, values: dict[str, Any], *, at: Any, event_id: str
) -> Moved:
    """``record_outputs`` on a locked inference with validated outputs; inside a service."""
    if inference.status in WITH_OUTPUTS and _has_outputs(inference):
        if all(getattr(inference, k) == v for k, v in values.items() if k in OUTPUT_FIELDS):
            return Moved(inference, False)
        raise ExamConflict(
            [
                Problem(
                    "outputs",
                    f"inference {inference.pk} already has the model's outputs; different "
                    "outputs for the same inference are refused",
                )
            ]
        )
    vendor = {k: values.pop(k) for k in ("vendor_status", "vendor_reason")}
    for name, value in values.items():
        setattr(inference, name, value)
    if inference.status in WITH_OUTPUTS:
        for name, value in vendor.items():
            if value:
                setattr(inference, name, value)
        inference.save()
        return Moved(inference, True)
    moved = apply_move(
        actor, inference, Status.INFERRED, at=at, event_id=event_id, vendor=vendor, save_all=True
    )
    if moved.changed:
        from radgov.exams.services.review import release_if_direct  # review builds on this

        release_if_direct(actor, inference)
    return moved


def _has_outputs(inference: Inference) -> bool:
    return any(getattr(inference, name) not in (None, "", []) for name in OUTPUT_FIELDS)


def _status(value: Status | str) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise MoveError(
            [
                Problem(
                    "status",
                    f"{str(value)[:32]!r} is not a status; statuses are {', '.join(Status.values)}",
                )
            ]
        ) from None


def _when(at: Any) -> dt.datetime:
    if at is None:
        return timezone.now()
    if not isinstance(at, dt.datetime):
        raise MoveError([Problem("status_at", "is not a date and time")])
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > timezone.now() + CLOCK_SLACK:
        raise MoveError([Problem("status_at", "is in the future")])
    return at


def event_hash(event_id: str) -> str:
    return crypto.pseudonym(event_id, namespace=EVENT_NAMESPACE)


def apply_move(
    actor: Any,
    inference: Inference,
    to: Status | str,
    *,
    reason_code: str = "",
    reason: str = "",
    at: Any = None,
    event_id: str = "",
    vendor: dict[str, str] | None = None,
    save_all: bool = False,
) -> Moved:
    """``move`` on a locked inference; inside a service.  ``save_all`` saves the other
    fields the caller set (outputs) with the move."""
    target = _status(to)
    key = event_hash(event_id.strip()) if event_id and event_id.strip() else None
    if key is not None:
        done = inference.history.filter(key_hash=key).first()
        if done is not None:
            if done.to_status == target:
                return Moved(inference, False)
            raise MoveError([Problem("event_id", f"already used for the move to {done.to_status}")])
    try:
        code, text = explain(target, reason_code, reason)
    except ExamError as exc:
        raise MoveError(exc.problems) from None
    current = Status(inference.status)
    if current == target:
        if inference.reason_code == code:
            return Moved(inference, False)
        raise MoveError(
            [
                Problem(
                    "reason_code",
                    f"the inference is already {target.value} with reason {inference.reason_code!r}; "
                    f"{code!r} would be a different report",
                )
            ]
        )
    refused = moves.refusal(current, target)
    if refused:
        raise MoveError([Problem("status", refused)])
    missing = moves.missing_for(inference, target)
    if missing:
        raise MoveError([Problem("status", f"cannot move to {target.value}: {'; '.join(missing)}")])
    vendor = {k: (v or "").strip() for k, v in (vendor or {}).items()}
    for name, limit in (("vendor_status", 64), ("vendor_reason", 2000)):
        if len(vendor.get(name, "")) > limit:
            raise MoveError([Problem(name, f"is longer than {limit} characters")])
    when = _when(at)
    inference.status, inference.status_at = target, when
    inference.reason_code, inference.reason = code, text
    if target == Status.INFERRED:
        inference.inferred_at = when
    for name, value in vendor.items():
        if value:
            setattr(inference, name, value)
    fields = ["status", "status_at", "reason_code", "reason", "inferred_at", *vendor]
    inference.save(update_fields=None if save_all else fields)
    change_row(actor, inference, current, target, when, key=key, vendor=vendor).save()
    if target in (Status.RELEASED, Status.WITHDRAWN):
        from radgov.exams.services.review import send_release  # review builds on this

        send_release(inference, correction=target == Status.WITHDRAWN)
    return Moved(inference, True)


def change_row(
    actor: Any,
    inference: Inference,
    current: str,
    target: str,
    when: dt.datetime,
    *,
    key: str | None = None,
    vendor: dict[str, str] | None = None,
) -> StatusChange:
    """The history row of a move of ``inference`` (not saved)."""
    return StatusChange(
        inference=inference,
        from_status=current,
        to_status=target,
        at=when,
        actor=access.actor_person(actor),
        actor_name=access.actor_name(actor),
        reason_code=inference.reason_code,
        reason=inference.reason,
        key_hash=key,
        **(vendor or {}),
    )


@service
def add_result_object(
    actor: Any,
    inference: Inference,
    *,
    kind: str,
    sop_instance_uid: str,
    sop_class_uid: str = "",
    file_ref: str = "",
    sha256: str = "",
    size: int | None = None,
) -> ResultObject:
    """A DICOM object the model sent back, stored once by its SOP Instance UID."""
    access.require_write(actor)
    uid = crypto.normalize(sop_instance_uid or "") if (sop_instance_uid or "").strip() else ""
    sha256, file_ref = (sha256 or "").strip().lower(), (file_ref or "").strip()
    problems = _result_problems(kind, uid, sop_class_uid, file_ref, sha256, size)
    if problems:
        raise ExamError(problems)
    uid_hash = crypto.pseudonym(uid, namespace=SOP_UID_NAMESPACE)
    found = ResultObject.objects.filter(sop_uid_hash=uid_hash).first()
    if found is not None:
        if found.inference_id != inference.pk:
            raise ExamConflict(
                [Problem("sop_instance_uid", "is already recorded for another inference")]
            )
        if sha256 and found.sha256 and sha256 != found.sha256:
            raise ExamConflict(
                [
                    Problem(
                        "sop_instance_uid",
                        "is already recorded with different content (another SHA-256)",
                    )
                ]
            )
        return found
    row = ResultObject(
        inference=inference,
        kind=kind,
        sop_uid_hash=uid_hash,
        sop_uid_encrypted=uid,
        sop_class_uid=(sop_class_uid or "").strip(),
        file_ref=file_ref,
        sha256=sha256,
        size=size,
    )
    row.save()
    return row


def _result_problems(
    kind: str, uid: str, sop_class_uid: str, file_ref: str, sha256: str, size: int | None
) -> list[Problem]:
    problems = []
    if kind not in ResultKind.values:
        problems.append(Problem("kind", f"must be one of {', '.join(ResultKind.values)}"))
    for name, value, required in (
        ("sop_instance_uid", uid, True),
        ("sop_class_uid", (sop_class_uid or "").strip(), False),
    ):
        if (required or value) and not is_uid(value):
            problems.append(Problem(name, "is not a DICOM UID"))
    parts = file_ref.replace("\\", "/").split("/")
    if file_ref and (file_ref.startswith(("/", "\\")) or ".." in parts or len(file_ref) > 300):
        problems.append(
            Problem(
                "file_ref",
                "must be a path inside the spool (relative, no '..', 300 characters at most)",
            )
        )
    if sha256 and not _SHA256.match(sha256):
        problems.append(Problem("sha256", "must be 64 hexadecimal characters"))
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        problems.append(Problem("size", "must be a whole number of bytes, 0 or more"))
    return problems
