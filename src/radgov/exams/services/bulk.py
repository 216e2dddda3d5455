"""The bulk path: a batch of events (exams, inferences, moves, outputs) in one transaction,
all or nothing.  The API's ``POST /api/exams/events`` and the file import
(``radgov.exams.importer``) both end here."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from radgov.core.audit import Action, EventCode, batch
from radgov.core.collector import collector_paused
from radgov.core.services import service
from radgov.exams import access
from radgov.exams.errors import BatchError, ExamError, Problem
from radgov.exams.metadata import StudyMetadata, ValidStudy, read_datetime
from radgov.exams.models import Inference
from radgov.exams.outputs import Outputs
from radgov.exams.reasons import explain
from radgov.exams.services import fresh
from radgov.exams.services.exam import record_valid
from radgov.exams.services.inference import apply_move, apply_outputs, get_or_create
from radgov.exams.statuses import Source, Status
from radgov.inventory.models import Deployment

EVENT_ID_MAX = 200
NO_OUTPUTS = Outputs()

# where a problem is: (index of the event, field) -> "events[3].patient_age"
Place = Callable[[int, str], str]


def event_place(index: int, name: str) -> str:
    return f"events[{index}].{name}" if name else f"events[{index}]"


@dataclass(frozen=True)
class Event:
    """One thing a source reports: a study, and optionally what a deployment did with it."""

    study: StudyMetadata
    deployment_id: int | None = None
    status: str = ""
    status_at: dt.datetime | str | None = None
    reason_code: str = ""
    reason: str = ""
    outputs: Outputs | None = None
    event_id: str = ""
    vendor_status: str = ""
    vendor_reason: str = ""


@dataclass(frozen=True)
class BatchResult:
    events: int
    exams_created: int
    exams_enriched: int
    inferences_created: int
    moves: int
    unchanged: int  # events that changed nothing (already recorded)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Checked:
    study: ValidStudy
    deployment: Deployment | None
    status: Status | None
    at: dt.datetime | None
    reason_code: str
    reason: str
    outputs: dict[str, Any] | None
    event_id: str
    vendor: dict[str, str]


@collector_paused()  # the batch makes many objects: see radgov.core.collector
@service
def record_events(
    actor: Any,
    events: Sequence[Event],
    *,
    source: str,
    what: str = "events",
    sha256: str = "",
    place: Place = event_place,
    on_event: Callable[[int], None] | None = None,
) -> BatchResult:
    """Record every event, in one transaction.  Every problem of the events' form is listed
    at once; then the first event that conflicts with what is stored (or with an earlier
    event) refuses the batch.  The events that create their study's exam and inference go
    in as whole columns (``fresh``, COPY on PostgreSQL) after the others, in order.  Either way ``BatchError`` names the place of each
    problem and nothing is stored."""
    access.require_write(actor)
    source = Source(source)
    checked = _check(events, place)
    counts: Counter[str] = Counter()
    # one entry for the whole batch (core's audit.batch: count, row keys, digest of the rows
    # stored), with what was imported, its SHA-256 and the counts, filled in before it closes
    detail: dict[str, Any] = {"what": what, "sha256": sha256}
    with batch(
        action=Action.IMPORT, object_type="exams.batch", event_code=EventCode.IMPORT, detail=detail
    ):
        indexes, hashes = fresh.fresh(checked)
        fast = set(indexes)
        for index, item in enumerate(checked):
            if index in fast:
                continue
            try:
                _write(actor, item, source, counts)
            except ExamError as exc:
                raise BatchError(
                    [Problem(place(index, p.field), p.message) for p in exc.problems]
                ) from None
            if on_event is not None:
                on_event(index)
        if indexes:
            counts.update(
                fresh.write(
                    actor, checked, indexes, hashes, source=source, place=place, on_event=on_event
                )
            )
        result = BatchResult(
            events=len(checked),
            exams_created=counts["created"],
            exams_enriched=counts["enriched"],
            inferences_created=counts["inference"],
            moves=counts["move"],
            unchanged=counts["unchanged_event"],
        )
        detail.update(result.as_dict())
    return result


def _check(events: Sequence[Event], place: Place) -> list[Checked]:
    problems: list[Problem] = []

    def add(index: int, exc: ExamError) -> None:
        problems.extend(Problem(place(index, p.field), p.message) for p in exc.problems)

    ids = {e.deployment_id for e in events if isinstance(e.deployment_id, int)}
    deployments = Deployment.objects.in_bulk(ids)
    now = timezone.now()  # what every time of the batch is checked against
    checked = []
    for index, event in enumerate(events):
        try:
            study = event.study.validated(now=now)
        except ExamError as exc:
            add(index, exc)
            study = None
        item = _check_inference(index, event, deployments, problems, place, now)
        if study is not None and item is not None:
            checked.append(Checked(study, *item))
    if problems:
        raise BatchError(problems)
    return checked


def _check_inference(
    index: int,
    event: Event,
    deployments: dict[int, Deployment],
    problems: list[Problem],
    place: Place,
    now: dt.datetime,
) -> tuple[Any, ...] | None:
    before = len(problems)

    def bad(name: str, message: str) -> None:
        problems.append(Problem(place(index, name), message))

    deployment = None
    if event.deployment_id is not None:
        if isinstance(event.deployment_id, bool) or not isinstance(event.deployment_id, int):
            bad("deployment_id", "must be a whole number (the inventory's deployment id)")
        else:
            deployment = deployments.get(event.deployment_id)
            if deployment is None:
                bad("deployment_id", "names no deployment of the inventory")
    status = None
    if event.status:
        if event.deployment_id is None:
            bad("status", "needs deployment_id (the status is a deployment's, of this study)")
        try:
            status = Status(event.status)
        except ValueError:
            bad("status", f"is not a status; statuses are {', '.join(Status.values)}")
    elif event.deployment_id is not None:
        status = Status.RECEIVED
    try:
        at = read_datetime(event.status_at, now=now)
    except ValueError as exc:
        bad("status_at", str(exc))
        at = None
    if status is not None:
        try:  # checked here so that every problem is listed; the move explains it again
            explain(status, event.reason_code, event.reason)
        except ExamError as exc:
            problems.extend(Problem(place(index, p.field), p.message) for p in exc.problems)
    vendor = {
        "vendor_status": (event.vendor_status or "").strip(),
        "vendor_reason": (event.vendor_reason or "").strip(),
    }
    for name, limit in (("vendor_status", 64), ("vendor_reason", 2000)):
        if len(vendor[name]) > limit:
            bad(name, f"is longer than {limit} characters")
    outputs = None
    if event.outputs is not None and event.outputs != NO_OUTPUTS:
        if status != Status.INFERRED:
            bad("status", "outputs (score, call, findings...) go with status inferred")
        try:
            outputs = event.outputs.validated()
        except ExamError as exc:
            problems.extend(Problem(place(index, p.field), p.message) for p in exc.problems)
        else:
            outputs.update({k: v for k, v in vendor.items() if v})
    event_id = (event.event_id or "").strip()
    if len(event_id) > EVENT_ID_MAX:
        bad("event_id", f"is longer than {EVENT_ID_MAX} characters")
    if len(problems) > before:
        return None
    return deployment, status, at, event.reason_code, event.reason, outputs, event_id, vendor


def _write(actor: Any, item: Checked, source: str, counts: Counter[str]) -> None:
    recorded = record_valid(item.study, source=source)
    counts[recorded.outcome] += 1
    changed = recorded.outcome != "unchanged"
    if item.deployment is not None and item.status is not None:
        # first seen in a later status: received no later than that
        inference, created = get_or_create(actor, recorded.exam, item.deployment, at=item.at)
        counts["inference"] += created
        changed = changed or created
        if item.status != Status.RECEIVED:
            locked = Inference.objects.select_for_update().get(pk=inference.pk)
            if item.outputs is not None:
                moved = apply_outputs(
                    actor, locked, dict(item.outputs), at=item.at, event_id=item.event_id
                )
            else:
                moved = apply_move(
                    actor,
                    locked,
                    item.status,
                    reason_code=item.reason_code,
                    reason=item.reason,
                    at=item.at,
                    event_id=item.event_id,
                    vendor=item.vendor,
                )
            counts["move"] += moved.changed
            changed = changed or moved.changed
    counts["unchanged_event"] += not changed
