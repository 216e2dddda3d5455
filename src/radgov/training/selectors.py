"""Reads of training data, restricted to what the person may see.

Governance-group members and administrators see everyone's training; a clinical
champion sees the training of the people on the deployments they champion;
everyone sees their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse

from radgov.accounts.models import User
from radgov.training.access import TrainingStatus, end_users_of, training_status
from radgov.training.models import IfuAttestation, TrainingProcedure, TrainingRecord
from radgov.training.services import governs_training


def document_url(document: Any) -> str | None:
    """Where a person reads an inventory document (None while the inventory has no page for it)."""
    if document is None:
        return None
    try:
        return reverse("inventory:document", args=[document.pk])
    except NoReverseMatch:
        return None


# Deployments whose people must be trained: everything not yet retired.
RETIRED_STAGES = ("sunset",)
STAGE_ORDER = {"deployed": 0, "pilot": 1, "suspended": 2, "approved": 3}


def deployments_of(user: User) -> QuerySet[Any]:
    """Live deployments where the person is a qualified end-user or in the pilot group."""
    from radgov.inventory.models import Deployment

    return (
        Deployment.objects.filter(Q(end_users=user) | Q(pilot_users=user))
        .exclude(status__in=RETIRED_STAGES)
        .select_related("model_version__product__company")
        .distinct()
        .order_by("model_version__product__name", "model_version__version", "site")
    )


@dataclass
class MyModel:
    """One model version in a person's "My training"."""

    model_version: Any
    deployments: list[tuple[Any, bool]]  # (deployment, the person is in its pilot group)
    status: TrainingStatus
    procedures: list[TrainingProcedure]  # base procedures meant for the person's role
    supplemental: list[TrainingProcedure]
    records: list[TrainingRecord] = field(default_factory=list)
    ifu_attestation: IfuAttestation | None = None  # the person's, of the current IFU

    @property
    def ifu_url(self) -> str | None:
        return document_url(self.status.ifu)

    @property
    def rank(self) -> int:
        """Models in use first, then those on their way (approved, under review...)."""
        return min(STAGE_ORDER.get(d.status, len(STAGE_ORDER)) for d, _ in self.deployments)

    @property
    def live(self) -> bool:
        return self.rank < STAGE_ORDER["approved"]


def my_training(user: User) -> list[MyModel]:
    """Per model version the person uses: their status, the procedures meant for
    their role, and their records (newest first)."""
    rows: dict[int, MyModel] = {}
    piloting = set(user.pilot_deployments.values_list("pk", flat=True))
    for deployment in deployments_of(user):
        mv = deployment.model_version
        entry = (deployment, deployment.pk in piloting)
        if mv.pk in rows:
            rows[mv.pk].deployments.append(entry)
            continue
        status = training_status(user, mv)
        procedures = [
            p
            for p in TrainingProcedure.objects.filter(model_version=mv)
            if user.role in p.required_roles
        ]
        rows[mv.pk] = MyModel(
            model_version=mv,
            deployments=[entry],
            status=status,
            procedures=[p for p in procedures if not p.is_supplemental],
            supplemental=[p for p in procedures if p.is_supplemental],
            records=list(
                TrainingRecord.objects.filter(user=user, model_version=mv).select_related(
                    "procedure", "ifu_attestation__document", "trainer"
                )
            ),
            ifu_attestation=IfuAttestation.objects.filter(user=user, document=status.ifu).first()
            if status.ifu is not None
            else None,
        )
    return sorted(rows.values(), key=lambda row: (row.rank, str(row.model_version)))


def visible_deployments(user: User) -> QuerySet[Any]:
    """Deployments whose training the person may review."""
    from radgov.inventory.models import Deployment

    rows = Deployment.objects.exclude(status__in=RETIRED_STAGES).select_related(
        "model_version__product__company"
    )
    if not governs_training(user):
        rows = rows.filter(clinical_champions=user)
    return rows.distinct().order_by(
        "model_version__product__name", "model_version__version", "site"
    )


@dataclass
class DeploymentTraining:
    deployment: Any
    procedures: list[TrainingProcedure]
    people: list[tuple[User, TrainingStatus, bool]]  # (person, status, in the pilot group)

    @property
    def trained(self) -> int:
        return sum(1 for _, s, _ in self.people if s.trained)

    @property
    def base_procedure(self) -> TrainingProcedure | None:
        return next((p for p in self.procedures if not p.is_supplemental), None)


def training_by_deployment(user: User) -> list[DeploymentTraining]:
    """Deployments in use first (deployed, pilot...), then those on their way."""
    out = []
    deployments = sorted(
        visible_deployments(user),
        key=lambda d: STAGE_ORDER.get(d.status, len(STAGE_ORDER)),
    )  # stable: keeps the name order within a stage
    for deployment in deployments:
        mv = deployment.model_version
        piloting = set(deployment.pilot_users.values_list("pk", flat=True))
        out.append(
            DeploymentTraining(
                deployment=deployment,
                procedures=list(TrainingProcedure.objects.filter(model_version=mv)),
                people=[
                    (p, training_status(p, mv), p.pk in piloting) for p in end_users_of(deployment)
                ],
            )
        )
    return out


def visible_records(user: User) -> QuerySet[TrainingRecord]:
    rows = TrainingRecord.objects.select_related(
        "user",
        "procedure",
        "model_version__product__company",
        "ifu_attestation__document",
        "trainer",
        "recorded_by",
    )
    if governs_training(user):
        return rows
    from radgov.inventory.models import Deployment

    championed = Deployment.objects.filter(clinical_champions=user)
    return rows.filter(
        Q(user=user)
        | Q(model_version__in=championed.values("model_version"), user__in=_people(championed))
    )


def _people(deployments: QuerySet[Any]) -> QuerySet[User]:
    return User.objects.filter(
        Q(qualified_deployments__in=deployments) | Q(pilot_deployments__in=deployments)
    )


def may_see_training_of(viewer: User, person: User, model_version) -> bool:  # type: ignore[no-untyped-def]
    """Whether ``viewer`` may learn ``person``'s training status on the version."""
    if viewer.pk == person.pk or governs_training(viewer):
        return True
    from radgov.inventory.models import Deployment

    championed = Deployment.objects.filter(clinical_champions=viewer, model_version=model_version)
    return _people(championed).filter(pk=person.pk).exists()


def recordable(user: User) -> tuple[QuerySet[TrainingProcedure], QuerySet[User]]:
    """The procedures and the people for which ``user`` may record someone's training."""
    procedures = TrainingProcedure.objects.select_related("model_version__product__company")
    people = User.objects.filter(is_active=True)
    if governs_training(user):
        return procedures, people
    from radgov.inventory.models import Deployment

    championed = Deployment.objects.filter(clinical_champions=user)
    return (
        procedures.filter(model_version__in=championed.values("model_version")),
        people.filter(pk__in=_people(championed).values("pk")).exclude(pk=user.pk),
    )
