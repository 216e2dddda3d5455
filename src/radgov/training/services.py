"""Every change to training procedures, training records and IFU attestations.

Who may do what (decided here, enforced here; the route policy only admits the
roles that could ever qualify):

* writing or editing a training procedure: governance-group members (of any
  role) and administrators.  The governance group oversees deployment (IV.A.1)
  and training is part of it; a clinical champion brings the request but does not
  decide how end-users are trained.
* recording a completion: a trainer signs it off by recording it for the trainee (a
  governance-group member, an administrator, or a clinical champion of a deployment of
  that model version); the trainee records it for themselves only where the procedure
  allows self-attestation, which only basic self-study may (IV.F.1).
* attesting reading an IFU: the trainee only.  Nobody attests for someone else,
  so a record made by a trainer carries no attestation until the trainee gives it.

Records are appended, never edited: a renewal is a new record, and changing a
procedure's validity affects only completions recorded afterwards.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from typing import NotRequired, TypedDict, Unpack

from django.utils import timezone

from radgov.accounts.models import User
from radgov.core.errors import Denied, Refused
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.inventory.selectors import current_ifu
from radgov.training.models import (
    SELF_ATTESTABLE,
    Complexity,
    IfuAttestation,
    TrainingProcedure,
    TrainingRecord,
)

MAX_VALIDITY_MONTHS = 60


class TrainingError(Refused):
    """A training request that breaks a rule; the message says which (and the clause)."""


class NotAllowed(Denied):
    """The acting person may not make this change; the message says who may."""


def governs_training(user: User) -> bool:
    return user.is_active and (user.role == Role.ADMINISTRATOR or user.is_governance_member)


def champions(user: User, model_version) -> bool:  # type: ignore[no-untyped-def]
    from radgov.inventory.models import Deployment

    return Deployment.objects.filter(model_version=model_version, clinical_champions=user).exists()


def may_record_for_others(user: User, model_version) -> bool:  # type: ignore[no-untyped-def]
    return governs_training(user) or champions(user, model_version)


def add_months(when: dt.datetime, months: int) -> dt.datetime:
    """``when`` plus calendar months, the day clamped to the month's length."""
    month0 = when.month - 1 + months
    year, month = when.year + month0 // 12, month0 % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def _require_governs(actor: User) -> None:
    if not governs_training(actor):
        raise NotAllowed(
            "only governance-group members and administrators write training procedures (IV.A.1)"
        )


def _clean_roles(roles: Iterable[str]) -> list[str]:
    chosen = sorted({str(r) for r in roles})
    if not chosen:
        raise TrainingError(
            "IV.F.1: say which roles the training is for (e.g. physician, technologist)"
        )
    unknown = [r for r in chosen if r not in Role.values]
    if unknown:
        raise TrainingError(f"unknown role {unknown[0]!r}; the roles are: {', '.join(Role.values)}")
    return chosen


def _clean_text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise TrainingError(what)
    return value


class ProcedureText(TypedDict):
    """What a person writes of a training procedure, the same on creating and on editing it."""

    title: str
    content: str
    complexity: str
    complexity_note: str
    self_attestation: NotRequired[bool]


def _check_fields(
    *,
    title: str,
    content: str,
    complexity: str,
    complexity_note: str,
    validity_months: int,
    self_attestation: bool = False,
) -> dict[str, object]:
    if complexity not in Complexity.values:
        raise TrainingError(
            f"unknown complexity {complexity!r}; choose one of: {', '.join(Complexity.values)}"
        )
    if self_attestation and complexity not in SELF_ATTESTABLE:
        raise TrainingError(
            f"IV.F.1: an {complexity} training has a trainer, who signs each completion off; "
            "only basic self-study may be self-attested"
        )
    if not 1 <= validity_months <= MAX_VALIDITY_MONTHS:
        raise TrainingError(
            f"validity must be 1 to {MAX_VALIDITY_MONTHS} months, not {validity_months}"
        )
    return {
        "title": _clean_text(title, "a training procedure needs a title"),
        "content": _clean_text(
            content, "IV.F.1: a training procedure is documented: write what it covers"
        ),
        "complexity": complexity,
        "complexity_note": _clean_text(
            complexity_note,
            "IV.F.1: say why this complexity suits the clinical use case",
        ),
        "validity_months": validity_months,
        "self_attestation": bool(self_attestation),
    }


@service
def create_procedure(
    actor: User,
    *,
    model_version,  # type: ignore[no-untyped-def]
    required_roles: Iterable[str],
    validity_months: int = 12,
    is_supplemental: bool = False,
    **text: Unpack[ProcedureText],
) -> TrainingProcedure:
    _require_governs(actor)
    fields = _check_fields(validity_months=validity_months, **text)
    now = timezone.now()
    return TrainingProcedure.objects.create(
        model_version=model_version,
        required_roles=_clean_roles(required_roles),
        is_supplemental=is_supplemental,
        created_by=actor,
        created_at=now,
        updated_at=now,
        **fields,
    )


@service
def update_procedure(
    actor: User,
    procedure: TrainingProcedure,
    *,
    required_roles: Iterable[str],
    validity_months: int,
    **text: Unpack[ProcedureText],
) -> TrainingProcedure:
    """Edit a procedure's text, complexity, roles, validity and who signs completions
    off.  Its model version and whether it is supplemental are fixed once made; records
    already made keep their expiry."""
    _require_governs(actor)
    fields = _check_fields(validity_months=validity_months, **text)
    for name, value in fields.items():
        setattr(procedure, name, value)
    procedure.required_roles = _clean_roles(required_roles)
    procedure.updated_at = timezone.now()
    procedure.save()
    return procedure


def _attest(user: User, model_version, at: dt.datetime) -> IfuAttestation:  # type: ignore[no-untyped-def]
    ifu = current_ifu(model_version, at=at)
    if ifu is None:
        raise TrainingError(
            f"IV.F.2: {model_version} has no IFU on file yet, so reading it cannot be attested"
        )
    existing = IfuAttestation.objects.filter(user=user, document=ifu).first()
    if existing is not None:
        return existing
    return IfuAttestation.objects.create(user=user, document=ifu, attested_at=at)


@service
def attest_ifu(actor: User, model_version) -> IfuAttestation:  # type: ignore[no-untyped-def]
    """The acting person attests reading the version's current IFU (once per IFU)."""
    return _attest(actor, model_version, timezone.now())


@service
def record_completion(
    actor: User,
    *,
    procedure: TrainingProcedure,
    user: User | None = None,
    completed_at: dt.datetime | None = None,
    attest_ifu: bool = False,
    trainer: User | None = None,
    notes: str = "",
) -> TrainingRecord:
    """Append a training record.  ``user`` is the trainee (the actor by default).
    Recording for someone else, the actor is the trainer who signs the training off (a
    ``trainer`` other than the actor is refused); they may give the date the training
    took place, but cannot attest the IFU for the trainee.  The trainee records their own
    completion only where the procedure allows self-attestation.  A supplemental
    procedure makes a supplemental record, which needs the base training first (IV.F.3)."""
    trainee = user or actor
    mv = procedure.model_version
    now = timezone.now()
    if trainee.pk != actor.pk:
        if not may_record_for_others(actor, mv):
            raise NotAllowed(
                "only governance-group members, administrators and the model's clinical "
                "champions record training for someone else"
            )
        if attest_ifu:
            raise TrainingError(
                f"IV.F.2: only {trainee.get_username()} can attest having read the IFU"
            )
        if trainer is not None and trainer.pk not in (actor.pk, trainee.pk):
            raise TrainingError(
                f"IV.F.1: the trainer signs it off by recording it; {trainer.get_username()} "
                "records this training, not someone else for them"
            )
        trainer = trainer or actor
    elif not procedure.self_attestation:
        raise TrainingError(
            f"IV.F.1: {procedure.title!r} is {procedure.get_complexity_display().lower()} and is "
            "signed off by a trainer, who records it for you; it is not self-attested"
        )
    elif completed_at is not None and completed_at < now - dt.timedelta(minutes=5):
        raise TrainingError(
            "a completion you record for yourself is dated now; a trainer records past sessions"
        )
    completed_at = completed_at or now
    if completed_at > now + dt.timedelta(minutes=5):
        raise TrainingError("a training cannot be completed in the future")
    if completed_at < add_months(now, -MAX_VALIDITY_MONTHS):
        raise TrainingError(
            f"completed_at: {completed_at:%Y-%m-%d} is more than {MAX_VALIDITY_MONTHS} months "
            "ago; a record of it would have expired already"
        )
    if not trainee.is_active:
        raise TrainingError(f"{trainee.get_username()}'s account is disabled")
    if trainee.role not in procedure.required_roles:
        roles = ", ".join(Role(r).label for r in procedure.required_roles)
        raise TrainingError(
            f"IV.F.1: {procedure.title!r} is for {roles}; "
            f"{trainee.get_username()} is {trainee.role_label}"
        )
    if trainer is not None and trainer.pk == trainee.pk:
        raise TrainingError("the trainer is someone other than the trainee")
    if (
        procedure.is_supplemental
        and not TrainingRecord.objects.filter(
            user=trainee, model_version=mv, is_supplemental=False
        ).exists()
    ):
        raise TrainingError(
            f"IV.F.3: supplemental training follows the base training, and "
            f"{trainee.get_username()} has no training record for {mv}"
        )
    attestation = _attest(trainee, mv, now) if attest_ifu else None
    return TrainingRecord.objects.create(
        user=trainee,
        model_version=mv,
        procedure=procedure,
        completed_at=completed_at,
        expires_at=add_months(completed_at, procedure.validity_months),
        is_supplemental=procedure.is_supplemental,
        ifu_attestation=attestation,
        trainer=trainer,
        recorded_by=actor,
        notes=notes.strip(),
        created_at=now,
    )
