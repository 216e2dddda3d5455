"""The shapes the exams API reads and answers (docs/exams.md).  Identifiers appear only in
``ExamDetail.identifiers``, for the roles that may see them; a SOP Instance UID never."""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING
from datetime import datetime
from functools import cache
from operator import itemgetter
from typing import Any

from ninja import Schema
from pydantic import BaseModel, Field, TypeAdapter

from radgov.exams.models import Exam, Inference, ResultObject, StatusChange

MAX_EVENTS = 10_000


class InferenceBrief(Schema):
    id: int
    exam_id: int
    deployment_id: int
    deployment: str
    status: str
    status_at: datetime
    reason_code: str
    reason: str
    score: float | None
    call: str | None
    confidence: float | None
    hidden_reason: str | None = Field(
        None, description="why the AI output (score, call, findings, results) is null for you"
    )


class ExamBrief(Schema):
    id: int
    site: str
    study_datetime: datetime | None
    modality: str
    body_part: str
    station_name: str


class ExamOut(ExamBrief):
    manufacturer: str
    manufacturer_model: str
    software_versions: str
    protocol_name: str
    series_description: str
    slice_thickness_mm: float | None
    kvp: float | None
    pixel_spacing_mm: float | None
    contrast: str
    contrast_agent: str
    contrast_phase: str
    age_band: int | None
    age_band_label: str
    sex: str
    source: str
    created_at: datetime
    updated_at: datetime
    inferences: list[InferenceBrief]


class ChangeOut(Schema):
    from_status: str
    to_status: str
    at: datetime
    recorded_at: datetime
    actor_name: str
    reason_code: str
    reason: str
    vendor_status: str
    vendor_reason: str


class ResultOut(Schema):
    id: int
    kind: str
    sop_class_uid: str
    file_ref: str
    sha256: str
    size: int | None
    received_at: datetime


class InferenceOut(InferenceBrief):
    findings: list[dict[str, Any]] | None
    model_version: str
    vendor_status: str
    vendor_reason: str
    created_at: datetime
    inferred_at: datetime | None
    history: list[ChangeOut]
    results: list[ResultOut] | None


class InferenceRow(InferenceBrief):
    exam: ExamBrief


class IdentifiersOut(Schema):
    study_instance_uid: str
    patient_id: str | None = None
    patient_id_issuer: str | None = None
    accession_number: str | None = None


class ExamDetail(ExamOut):
    identifiers: IdentifiersOut | None
    inferences: list[InferenceOut]  # type: ignore[assignment]


class ExamPage(Schema):
    items: list[ExamOut]
    total: int
    limit: int
    offset: int


class InferencePage(Schema):
    items: list[InferenceRow]
    total: int
    limit: int
    offset: int


class Input(BaseModel):
    """A body the API reads: checked by pydantic alone.  (ninja's ``Schema`` hands each
    object to a Python getter made for ORM rows first, which was most of the CPU a bulk
    body's event took.)"""


class StudyIn(Input):
    study_instance_uid: str
    patient_id: str = ""
    patient_id_issuer: str = ""
    accession_number: str = ""
    accession_issuer: str = ""
    site: str = ""
    study_datetime: datetime | None = None
    modality: str = ""
    body_part: str = ""
    manufacturer: str = ""
    manufacturer_model: str = ""
    software_versions: str = ""
    station_name: str = ""
    protocol_name: str = ""
    series_description: str = ""
    slice_thickness_mm: float | None = None
    kvp: float | None = None
    pixel_spacing_mm: float | None = None
    contrast: str = ""
    contrast_agent: str = ""
    contrast_phase: str = ""
    patient_age: float | str | None = Field(
        default=None, description="years, or a DICOM age such as 065Y"
    )
    patient_sex: str = ""


class RecordedOut(Schema):
    outcome: str
    exam: ExamOut


class InferenceIn(Schema):
    deployment_id: int
    status_at: datetime | None = None


class MoveIn(Schema):
    status: str
    reason_code: str = ""
    reason: str = ""
    status_at: datetime | None = None
    event_id: str = Field(
        default="", description="the source's id of this event: sent twice, recorded once"
    )
    vendor_status: str = ""
    vendor_reason: str = ""


class OutputFields(Input):
    score: float | None = None
    call: str = ""
    confidence: float | None = None
    findings: list[dict[str, Any]] | None = None
    model_version: str = ""
    vendor_status: str = ""
    vendor_reason: str = ""


class OutputsIn(OutputFields):
    status_at: datetime | None = None
    event_id: str = ""


class MovedOut(Schema):
    changed: bool
    inference: InferenceOut


class ResultIn(Schema):
    kind: str
    sop_instance_uid: str
    sop_class_uid: str = ""
    file_ref: str = ""
    sha256: str = ""
    size: int | None = None


class EventIn(StudyIn, OutputFields):
    """One row of the bulk format (docs/exams.md), as JSON."""

    deployment_id: int | None = None
    status: str = ""
    status_at: datetime | None = None
    reason_code: str = ""
    reason: str = ""
    event_id: str = ""

    def as_event(self) -> Any:
        """The bulk service's ``Event`` (``radgov.exams.services.Event``) for this row."""
        Event, StudyMetadata, Outputs = _event_classes()  # noqa: N806 - classes
        data = self.__dict__  # the fields' values as validated, not copied
        event = _made(Event, data, EVENT_FIELDS)
        event.__dict__["study"] = _made(StudyMetadata, data, STUDY_FIELDS)
        event.__dict__["outputs"] = _made(Outputs, data, OUTPUT_FIELDS)
        return event


def _made(cls: type, data: dict[str, Any], names: tuple[str, ...]) -> Any:
    """``cls(**{name: data[name] for name in names})`` for a frozen dataclass of plain
    defaults and no ``__post_init__`` (``Event``, ``StudyMetadata``, ``Outputs``), its fields
    filled in one step: its ``__init__`` sets each field through ``object.__setattr__``,
    half the CPU a bulk body's event took to be read (issue 17)."""
    made: Any = object.__new__(cls)
    made.__dict__.update(_defaults(cls))
    made.__dict__.update(zip(names, itemgetter(*names)(data), strict=True))
    return made


@cache  # imported at the first call (the services build on this module), not at each
def _event_classes() -> tuple[type, type, type]:
    from radgov.exams.metadata import StudyMetadata
    from radgov.exams.outputs import Outputs
    from radgov.exams.services import Event

    return Event, StudyMetadata, Outputs


@cache
def _defaults(cls: type) -> dict[str, Any]:
    assert not hasattr(cls, "__post_init__")  # noqa: S101 - _made skips __init__
    return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not MISSING}


STUDY_FIELDS = tuple(StudyIn.model_fields)
OUTPUT_FIELDS = ("score", "call", "confidence", "findings", "model_version")
EVENT_FIELDS = tuple(k for k in EventIn.model_fields if k not in {*STUDY_FIELDS, *OUTPUT_FIELDS})
# a bulk body's events checked in one call (its errors' places start with the event's index)
EVENT_LIST = TypeAdapter(list[EventIn])


class EventsIn(Input):
    events: list[EventIn] = Field(max_length=MAX_EVENTS)


class BatchOut(Schema):
    events: int
    exams_created: int
    exams_enriched: int
    inferences_created: int
    moves: int
    unchanged: int


# --- rows to answers ----------------------------------------------------------------------


def inference_brief(row: Inference) -> dict[str, Any]:
    """``row`` marked by ``visibility.mark``: its AI output, or nulls and the reason."""
    hidden = row.ai_hidden
    return {
        "id": row.pk,
        "exam_id": row.exam_id,
        "deployment_id": row.deployment_id,
        "deployment": str(row.deployment),
        "status": row.status,
        "status_at": row.status_at,
        "reason_code": row.reason_code,
        "reason": row.reason,
        "score": None if hidden else row.score,
        "call": None if hidden else row.call,
        "confidence": None if hidden else row.confidence,
        "hidden_reason": hidden,
    }


def exam_brief(exam: Exam) -> dict[str, Any]:
    return {k: getattr(exam, k) for k in ExamBrief.model_fields if k != "id"} | {"id": exam.pk}


def exam_out(exam: Exam, inferences: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    values = {
        k: getattr(exam, k)
        for k in ExamOut.model_fields
        if k not in ("inferences", "age_band_label")
    }
    values["age_band_label"] = exam.get_age_band_display() if exam.age_band is not None else ""
    values["inferences"] = (
        [inference_brief(i) for i in exam.inferences.all()] if inferences is None else inferences
    )
    return values


def _change(c: StatusChange) -> dict[str, Any]:
    return {k: getattr(c, k) for k in ChangeOut.model_fields}


def result_out(r: ResultObject) -> dict[str, Any]:
    return {k: getattr(r, k) for k in ResultOut.model_fields if k != "id"} | {"id": r.pk}


def inference_out(row: Inference) -> dict[str, Any]:
    return inference_brief(row) | {
        "findings": None if row.ai_hidden else row.findings,
        "model_version": row.model_version,
        "vendor_status": row.vendor_status,
        "vendor_reason": row.vendor_reason,
        "created_at": row.created_at,
        "inferred_at": row.inferred_at,
        "history": [_change(c) for c in row.history.all()],
        "results": None if row.ai_hidden else [result_out(r) for r in row.results.all()],
    }


def inference_row(row: Inference) -> dict[str, Any]:
    return inference_brief(row) | {"exam": exam_brief(row.exam)}
