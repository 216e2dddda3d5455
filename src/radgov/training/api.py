"""Training procedures, records, IFU attestations and the training check (IV.F)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.http import HttpRequest
from ninja import Field, FilterLookup, FilterSchema, Query, Router, Schema, Status

from radgov.accounts.models import User
from radgov.core.errors import unseen
from radgov.core.paging import Page, PageQuery, paginate
from radgov.core.roles import Role
from radgov.training import selectors, services
from radgov.training.access import training_status
from radgov.training.models import IfuAttestation, TrainingProcedure, TrainingRecord

router = Router(tags=["training"])


class ProcedureOut(Schema):
    id: int
    model_version: int = Field(alias="model_version_id")
    model_version_label: str
    title: str
    content: str
    complexity: str
    complexity_note: str
    required_roles: list[str]
    validity_months: int
    is_supplemental: bool
    self_attestation: bool
    created_by: str = Field(alias="created_by.username")
    created_at: datetime

    @staticmethod
    def resolve_model_version_label(procedure: TrainingProcedure) -> str:
        return str(procedure.model_version)


class ProcedureIn(Schema):
    model_version: int
    title: str
    content: str
    complexity: str
    complexity_note: str
    required_roles: list[str]
    validity_months: int = 12
    is_supplemental: bool = False
    self_attestation: bool = Field(
        False, description="trainees record their own completion (basic complexity only)"
    )


class RecordOut(Schema):
    id: int
    user: str = Field(alias="user.username")
    model_version: int = Field(alias="model_version_id")
    procedure: int = Field(alias="procedure_id")
    completed_at: datetime
    expires_at: datetime
    is_supplemental: bool
    ifu_document: int | None
    ifu_attested_at: datetime | None
    trainer: str | None
    recorded_by: str = Field(alias="recorded_by.username")
    notes: str

    @staticmethod
    def resolve_ifu_document(record: TrainingRecord) -> int | None:
        return record.ifu_document.pk if record.ifu_attestation_id else None

    @staticmethod
    def resolve_trainer(record: TrainingRecord) -> str | None:
        return record.trainer.username if record.trainer_id else None


class RecordIn(Schema):
    procedure: int
    user: int | None = None
    completed_at: datetime | None = None
    attest_ifu: bool = False
    trainer: int | None = None
    notes: str = ""


class AttestIn(Schema):
    model_version: int


class AttestationOut(Schema):
    id: int
    user: str = Field(alias="user.username")
    document: int = Field(alias="document_id")
    ifu_version: str = Field(alias="document.version_label")
    attested_at: datetime


class CheckOut(Schema):
    user: str
    model_version: int
    trained: bool
    state: str
    reason: str | None
    expires_at: datetime | None
    ifu_version: str | None


def _model_version(model_version_id: int):  # type: ignore[no-untyped-def]
    from radgov.inventory.models import ModelVersion

    mv = ModelVersion.objects.select_related("product__company").filter(pk=model_version_id).first()
    if mv is None:
        raise unseen("model version", model_version_id)
    return mv


def _user(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise unseen("user", user_id)
    return user


class ProcedureFilter(FilterSchema):
    model_version: Annotated[int | None, FilterLookup("model_version_id")] = None
    is_supplemental: bool | None = None


@router.get("/procedures", response=Page[ProcedureOut])
def list_procedures(
    request: HttpRequest, filters: Query[ProcedureFilter], page: Query[PageQuery]
) -> dict[str, object]:
    rows = TrainingProcedure.objects.select_related("model_version__product__company", "created_by")
    return paginate(filters.filter(rows.order_by("model_version_id", "-pk")), page)


@router.post("/procedures", response={201: ProcedureOut})
def create_procedure(request: HttpRequest, payload: ProcedureIn) -> Status[TrainingProcedure]:
    fields = payload.dict(exclude={"model_version"})
    proc = services.create_procedure(
        request.user, model_version=_model_version(payload.model_version), **fields
    )
    return Status(201, proc)


class RecordFilter(FilterSchema):
    user: Annotated[int | None, FilterLookup("user_id")] = None
    model_version: Annotated[int | None, FilterLookup("model_version_id")] = None


@router.get("/records", response=Page[RecordOut])
def list_records(
    request: HttpRequest, filters: Query[RecordFilter], page: Query[PageQuery]
) -> dict[str, object]:
    """Your own records; all records for governance-group members and administrators;
    your deployments' people's records for a clinical champion."""
    rows = selectors.visible_records(request.user)  # type: ignore[arg-type]
    return paginate(filters.filter(rows).order_by("-completed_at", "-pk"), page)


@router.post("/records", response={201: RecordOut})
def record_completion(request: HttpRequest, payload: RecordIn) -> Status[TrainingRecord]:
    procedure = (
        TrainingProcedure.objects.select_related("model_version__product__company")
        .filter(pk=payload.procedure)
        .first()
    )
    if procedure is None:
        raise unseen("training procedure", payload.procedure)
    row = services.record_completion(
        request.user,
        procedure=procedure,
        user=_user(payload.user) if payload.user is not None else None,
        completed_at=payload.completed_at,
        attest_ifu=payload.attest_ifu,
        trainer=_user(payload.trainer) if payload.trainer is not None else None,
        notes=payload.notes,
    )
    return Status(201, row)


@router.post("/attestations", response={201: AttestationOut})
def attest_ifu(request: HttpRequest, payload: AttestIn) -> Status[IfuAttestation]:
    """You attest reading the current IFU of a model version (yourself only)."""
    return Status(201, services.attest_ifu(request.user, _model_version(payload.model_version)))


class CheckQuery(Schema):
    model_version: int
    user: int | None = None


@router.get("/check", response=CheckOut)
def check(request: HttpRequest, query: Query[CheckQuery]) -> CheckOut:
    """May this person see this model version's outputs now?  Anyone may ask about
    themselves; governance-group members, administrators, the model's clinical
    champions (about their deployments' people) and imaging informatics (for
    integrations that gate the display of AI results) may ask about others."""
    viewer: User = request.user  # type: ignore[assignment]
    mv = _model_version(query.model_version)
    person = _user(query.user) if query.user is not None else viewer
    allowed = viewer.role == Role.INFORMATICS or selectors.may_see_training_of(viewer, person, mv)
    if not allowed:
        raise unseen("user", person.pk)
    status = training_status(person, mv)
    return CheckOut(
        user=person.username,
        model_version=mv.pk,
        trained=status.trained,
        state=status.state,
        reason=status.reason,
        expires_at=status.record.expires_at if status.record else None,
        ifu_version=status.ifu.version_label if status.ifu else None,
    )
