"""THE training gate (IV.F): may this person see this model version's outputs?

Every component that shows AI output asks ``missing_training`` (the review of AI output in
``exams`` does; ``is_trained`` for a yes or no) before it does.  A person is trained on a model version at a moment when, at
that moment:

1. they hold a base (not supplemental) training record for that model version
   that has not expired (supplemental training never stands in for it), and
2. they have attested reading the version's current IFU, i.e. the latest IFU
   document uploaded for it; a model version with no IFU cannot be attested,
   so nobody is trained on it (IV.F.2: the IFU is available to end-users
   concurrent to deployment).

``missing_training`` says, in a sentence naming the clause, what is missing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from radgov.accounts.models import User
from radgov.inventory.selectors import current_ifu
from radgov.training.models import IfuAttestation, TrainingRecord


def base_record(user: User, model_version, *, at: dt.datetime | None = None):  # type: ignore[no-untyped-def]
    """The user's base training record for the version that lasts longest, among
    those completed by ``at`` (None when there is none)."""
    at = at or timezone.now()
    return (
        TrainingRecord.objects.filter(
            user=user, model_version=model_version, is_supplemental=False, completed_at__lte=at
        )
        .order_by("-expires_at", "-id")
        .first()
    )


def has_attested(user: User, document, *, at: dt.datetime | None = None) -> bool:  # type: ignore[no-untyped-def]
    rows = IfuAttestation.objects.filter(user=user, document=document)
    if at is not None:
        rows = rows.filter(attested_at__lte=at)
    return rows.exists()


@dataclass(frozen=True)
class TrainingStatus:
    """Where a person stands on a model version: ``state`` is one of TRAINED,
    NO_RECORD, EXPIRED, NO_IFU, NOT_ATTESTED; ``reason`` is None when trained."""

    state: str
    reason: str | None
    record: TrainingRecord | None = None
    ifu: Any = None

    @property
    def trained(self) -> bool:
        return self.state == TRAINED


TRAINED, NO_RECORD, EXPIRED, NO_IFU, NOT_ATTESTED = (
    "trained",
    "no_record",
    "expired",
    "no_ifu",
    "not_attested",
)


def training_status(user: User, model_version, *, at: dt.datetime | None = None) -> TrainingStatus:  # type: ignore[no-untyped-def]
    at = at or timezone.now()
    record = base_record(user, model_version, at=at)
    ifu = current_ifu(model_version, at=at)
    attested = ifu is not None and has_attested(user, ifu, at=at)
    return _status(user, model_version, at, record, ifu, attested)


def training_statuses(
    pairs: list[tuple[User, Any]], *, at: dt.datetime | None = None
) -> dict[tuple[Any, Any], TrainingStatus]:
    """``training_status`` of many (person, model version) pairs, in three queries:
    {(user pk, version pk): status}."""
    from radgov.inventory.models import Document, DocumentKind

    at = at or timezone.now()
    users = {u.pk for u, _ in pairs}
    versions = {mv.pk for _, mv in pairs}
    records: dict[tuple[Any, Any], TrainingRecord] = {}
    for r in TrainingRecord.objects.filter(
        user_id__in=users,
        model_version_id__in=versions,
        is_supplemental=False,
        completed_at__lte=at,
    ).order_by("-expires_at", "-id"):
        records.setdefault((r.user_id, r.model_version_id), r)
    ifus: dict[Any, Any] = {}
    for doc in Document.objects.filter(
        model_version_id__in=versions, kind=DocumentKind.IFU, uploaded_at__lte=at
    ).order_by("-uploaded_at", "-id"):
        ifus.setdefault(doc.model_version_id, doc)
    attested = set(
        IfuAttestation.objects.filter(
            user_id__in=users, document__in=list(ifus.values()), attested_at__lte=at
        ).values_list("user_id", "document_id")
    )
    out = {}
    for user, mv in pairs:
        ifu = ifus.get(mv.pk)
        seen = ifu is not None and (user.pk, ifu.pk) in attested
        out[(user.pk, mv.pk)] = _status(user, mv, at, records.get((user.pk, mv.pk)), ifu, seen)
    return out


def _status(
    user: User, model_version, at: dt.datetime, record, ifu, attested: bool
) -> TrainingStatus:  # type: ignore[no-untyped-def]
    who = user.get_username()
    if record is None:
        reason = f"IV.F: {who} has no current training record for {model_version}"
        return TrainingStatus(NO_RECORD, reason, None, ifu)
    if record.expires_at <= at:
        reason = (
            f"IV.F: {who}'s training for {model_version} expired on "
            f"{timezone.localtime(record.expires_at):%Y-%m-%d}"
        )
        return TrainingStatus(EXPIRED, reason, record, ifu)
    if ifu is None:
        reason = (
            f"IV.F.2: {model_version} has no IFU on file, so {who} cannot have attested reading it"
        )
        return TrainingStatus(NO_IFU, reason, record, None)
    if not attested:
        reason = (
            f"IV.F.2: {who} has not attested reading the IFU (version {ifu.version_label}) "
            f"of {model_version}"
        )
        return TrainingStatus(NOT_ATTESTED, reason, record, ifu)
    return TrainingStatus(TRAINED, None, record, ifu)


def missing_training(user: User, model_version, *, at: dt.datetime | None = None) -> str | None:  # type: ignore[no-untyped-def]
    """None when the user is trained on the version at ``at``; otherwise why not."""
    return training_status(user, model_version, at=at).reason


def is_trained(user: User, model_version, *, at: dt.datetime | None = None) -> bool:  # type: ignore[no-untyped-def]
    return missing_training(user, model_version, at=at) is None


def trained_users(model_version, *, at: dt.datetime | None = None) -> QuerySet[User]:  # type: ignore[no-untyped-def]
    """Everyone trained on the version at ``at``: the same test as ``is_trained``."""
    at = at or timezone.now()
    candidates = User.objects.filter(
        training_records__model_version=model_version,
        training_records__is_supplemental=False,
        training_records__completed_at__lte=at,
        training_records__expires_at__gt=at,
    ).distinct()
    ifu = current_ifu(model_version, at=at)
    if ifu is None:
        return User.objects.none()
    attested = IfuAttestation.objects.filter(document=ifu, attested_at__lte=at).values("user_id")
    return User.objects.filter(pk__in=candidates.values("pk")).filter(pk__in=attested)


def end_users_of(deployment) -> list[User]:  # type: ignore[no-untyped-def]
    """Qualified end-users and pilot-group members of a deployment, each once."""
    people = {u.pk: u for u in deployment.end_users.all()}
    people.update({u.pk: u for u in deployment.pilot_users.all()})
    return sorted(people.values(), key=lambda u: u.username)


def untrained_end_users(deployment, *, at: dt.datetime | None = None) -> list[User]:  # type: ignore[no-untyped-def]
    """The deployment's qualified end-users and pilot-group members who are not
    trained on its model version now (or at ``at``)."""
    trained = set(trained_users(deployment.model_version, at=at).values_list("pk", flat=True))
    return [u for u in end_users_of(deployment) if u.pk not in trained]
