"""The monitoring API (mounted at /api/monitoring/): reports in (one, or a CSV), an audited
read of one report, a deployment's watch, the labeller's check, performance with its charts
and alerts, and closing an alert.  Refusals are problem+json as in the exams API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, File, Router, Schema, Status
from ninja.files import UploadedFile

from radgov.core.errors import NotFound, Refused, check_upload
from radgov.inventory.models import Deployment
from radgov.monitoring import (
    alarms,
    bulk,
    configure,
    drift,
    estimate,
    events,
    fhir,
    intake,
    interactions,
    selectors,
)
from radgov.monitoring.models import AdverseEvent, Alert

router = Router(tags=["monitoring"])


class ReportIn(Schema):
    accession_number: str
    text: str
    issuer: str = ""


class WatchIn(Schema):
    finding: str
    baseline_start: dt.date
    baseline_end: dt.date
    run_length: int = 7
    cusum_shift: float = 2.0
    arl0: int = 1000
    ewma_lambda: float = 0.1
    ewma_arl0: int = 370
    absent_is_negative: bool = True


class DriftReferenceIn(Schema):
    reference_start: dt.date
    reference_end: dt.date
    window_days: int = 30
    psi_threshold: float = 0.2
    alpha: float = 0.01


class EventIn(Schema):
    deployment_id: int
    kind: str
    occurred_on: dt.date
    description: str
    inference_id: int | None = None
    anonymous: bool = False


class ReviewIn(Schema):
    finding: str
    factors: list[str]
    action: str
    reportable: str = ""


class InteractionIn(Schema):
    """One interaction: the inference by ``inference_id`` or by ``study_instance_uid`` and
    ``deployment_id``; the user by ``username``."""

    action: str
    at: dt.datetime
    username: str
    inference_id: int | None = None
    study_instance_uid: str | None = None
    deployment_id: int | None = None


class InteractionsIn(Schema):
    interactions: list[InteractionIn] = Field(max_length=10_000)


class CloseIn(Schema):
    note: str


def _file(file: UploadedFile) -> bytes:
    check_upload(file.size, "file")
    return bytes(file.read())


def _stored(stored: intake.Stored) -> dict[str, Any]:
    return {
        "id": stored.report.pk,
        "exam_id": stored.report.exam_id,
        "outcome": stored.outcome,
        "compared": stored.compared,
        "labels": [
            {"finding": lab.finding, "label": lab.label} for lab in stored.report.labels.all()
        ],
        "labeller_version": stored.report.labeller_version,
    }


@router.post("/reports", response={201: dict[str, Any]})
def record_report(request: HttpRequest, payload: ReportIn) -> Any:
    """A final report for an accession: stored encrypted, labelled, compared with the AI. A
    report whose exam is not recorded yet is kept (``exam_id`` null) and compared later."""
    stored = intake.record_report(
        request.user,
        accession_number=payload.accession_number,
        text=payload.text,
        issuer=payload.issuer,
    )
    return Status(201, _stored(stored))


FHIR_BODY = {
    "required": True,
    "content": {
        media: {"schema": {"type": "object", "description": "a FHIR R4 DiagnosticReport"}}
        for media in ("application/fhir+json", "application/json")
    },
}


@router.post(
    "/fhir/DiagnosticReport",
    response={200: dict[str, Any], 201: dict[str, Any]},
    openapi_extra={"requestBody": FHIR_BODY},
)
def record_fhir_report(request: HttpRequest) -> Any:
    """A final FHIR R4 DiagnosticReport (``application/fhir+json``): its accession from the
    identifier of type ACSN (or basedOn's), its text from ``text/plain`` presentedForm (or
    conclusion).  201 when new; 200 when the accession's report was already stored (the same
    text changes nothing, another amends it).  A resource that does not validate is refused
    as problem+json naming each FHIRPath, with an ``operation_outcome``; nothing is stored."""
    check_upload(len(request.body), "resource")
    stored = fhir.record_fhir_report(request.user, request.body)
    return Status(201 if stored.outcome == "created" else 200, _stored(stored))


@router.post("/reports/import", response=dict[str, int])
def import_reports(request: HttpRequest, file: File[UploadedFile]) -> Any:
    """A CSV or Parquet file of ``accession_number,text[,issuer]`` (multipart ``file``): all
    rows or none."""
    return intake.record_report_file(request.user, _file(file))


@router.get("/reports/{report_id}", response=dict[str, Any])
def get_report(request: HttpRequest, report_id: int) -> Any:
    """One report's text and labels, for the roles that see identifiers; the read is audited."""
    return selectors.report(request.user, report_id)


@router.put("/deployments/{deployment_id}/watch", response=dict[str, Any])
def set_watch(request: HttpRequest, deployment_id: int, payload: WatchIn) -> Any:
    deployment = get_object_or_404(Deployment, pk=deployment_id)
    watch = configure.set_watch(request.user, deployment, **payload.dict())
    return selectors.watch_out(watch)


@router.post("/labeller-checks", response={201: dict[str, Any]})
def labeller_check(request: HttpRequest, file: File[UploadedFile]) -> Any:
    """A sample of reports a person labelled (CSV ``report_id,text,finding,label``): the
    labeller's sensitivity and specificity per finding, kept (the text is not)."""
    check = configure.record_labeller_check(request.user, _file(file))
    return Status(201, {"id": check.pk, "reports": check.reports, "results": check.results})


@router.get("/deployments/{deployment_id}/performance", response=dict[str, Any])
def performance(
    request: HttpRequest, deployment_id: int, frequency: str = "month", by: str | None = None
) -> Any:
    """Concordance, sensitivity, specificity, PPV, NPV per period (``frequency``: day, week,
    month) or subgroup (``by``: site, manufacturer, model, protocol, age_band, sex), with the
    labeller's accuracy beside them, the baseline, the stop rules' charts and the alerts."""
    deployment = get_object_or_404(Deployment, pk=deployment_id)
    try:
        return selectors.deployment_view(deployment, frequency=frequency, by=by)
    except ValueError as exc:  # a frequency or grouping the analysis does not know
        raise Refused(str(exc)) from None


@router.get("/alerts", response=list[dict[str, Any]])
def list_alerts(request: HttpRequest, open_only: bool = True) -> Any:
    """The governance group's queue: alerts not yet closed (or all, ``open_only=false``);
    for the compliance role, with its privacy reminders."""
    privacy = selectors.sees_privacy_alerts(request.user)
    return selectors.alerts(open_only=open_only, privacy=privacy)


@router.post("/alerts/{alert_id}/close", response=dict[str, Any])
def close_alert(request: HttpRequest, alert_id: int, payload: CloseIn) -> Any:
    alert = get_object_or_404(Alert, pk=alert_id)
    closed = alarms.close_alert(request.user, alert, note=payload.note)
    return selectors.alert_out(closed)


@router.put("/deployments/{deployment_id}/drift-reference", response=dict[str, Any])
def set_drift_reference(request: HttpRequest, deployment_id: int, payload: DriftReferenceIn) -> Any:
    """The reference window drift is measured against, and when a difference is drift."""
    deployment = get_object_or_404(Deployment, pk=deployment_id)
    ref = drift.set_reference(request.user, deployment, **payload.dict())
    return selectors.drift_reference_out(ref)


def _windowed(view: Callable[[Deployment, dt.date], Any], deployment_id: int, as_of: Any) -> Any:
    """What ``view`` says of the deployment's window up to ``as_of`` (default today) against
    its drift reference window; 404 when no reference window is set."""
    found = view(get_object_or_404(Deployment, pk=deployment_id), as_of or timezone.localdate())
    if found is None:
        raise NotFound("no drift reference window is set for this deployment")
    return found


@router.get("/deployments/{deployment_id}/drift", response=dict[str, Any])
def get_drift(request: HttpRequest, deployment_id: int, as_of: dt.date | None = None) -> Any:
    """Input and output drift per column in the ``window_days`` up to ``as_of`` (default
    today) against the reference window, and the values first seen since."""
    return _windowed(drift.view, deployment_id, as_of)


@router.post("/events", response={201: dict[str, Any]})
def report_event(request: HttpRequest, payload: EventIn) -> Any:
    """An AI-related complication, near miss or adverse event, into the peer-learning queue."""
    deployment = get_object_or_404(Deployment, pk=payload.deployment_id)
    values = payload.dict()
    values.pop("deployment_id")
    event = events.report_event(request.user, deployment, **values)
    return Status(201, events.event_out(event, request.user))


@router.get("/events", response=list[dict[str, Any]])
def list_events(request: HttpRequest, open_only: bool = True, reportable: bool = False) -> Any:
    """The peer-learning queue (``open_only=false``: every event; ``reportable=true``: those
    flagged for compliance), for the governance group and compliance."""
    rows = events.queue(request.user, open_only=open_only, reportable=reportable)
    return [events.event_out(e, request.user) for e in rows]


@router.post("/events/{event_id}/review", response=dict[str, Any])
def review_event(request: HttpRequest, event_id: int, payload: ReviewIn) -> Any:
    event = get_object_or_404(AdverseEvent, pk=event_id)
    reviewed = events.review_event(request.user, event, **payload.dict())
    return events.event_out(reviewed, request.user)


@router.get("/deployments/{deployment_id}/estimate", response=dict[str, Any])
def get_estimate(request: HttpRequest, deployment_id: int, as_of: dt.date | None = None) -> Any:
    """The label-free performance estimate (CBPE) of the reference window and of the
    ``window_days`` up to ``as_of``, or why it is refused (scores not calibrated)."""
    return _windowed(estimate.view, deployment_id, as_of)


@router.post("/interactions", response={201: dict[str, int]})
def record_interactions(request: HttpRequest, payload: InteractionsIn) -> Any:
    """Interaction events from a PACS or viewer (viewed, accepted, modified, rejected,
    dismissed, not_opened), all or none; an unknown inference or user is refused, naming
    the place (``interactions[2].inference_id``)."""
    rows = [item.dict(exclude_none=True) for item in payload.interactions]
    return Status(201, {"interactions": interactions.record_interactions(request.user, rows)})


NDJSON_BODY = {
    "required": True,
    "content": {
        "application/x-ndjson": {
            "schema": {"type": "string", "description": "one JSON event a line, with type"}
        }
    },
}


@router.post(
    "/events.ndjson", response={201: dict[str, int]}, openapi_extra={"requestBody": NDJSON_BODY}
)
def record_ndjson(request: HttpRequest) -> Any:
    """Inference and interaction events as NDJSON (``"type"``: inference or interaction),
    the whole body one batch: a line that does not parse (a stream broken mid-way) or does
    not check refuses it all, naming the line; nothing is stored."""
    check_upload(len(request.body), "stream")
    return Status(201, bulk.record_ndjson(request.user, request.body))


@router.post("/interactions/import", response={201: dict[str, int]})
def import_interactions(request: HttpRequest, file: File[UploadedFile]) -> Any:
    """A CSV or Parquet file of interactions (columns as the JSON fields), all rows or none;
    a bad row is named by row and column."""
    count = bulk.record_interaction_file(request.user, _file(file), name=file.name or "")
    return Status(201, {"interactions": count})
