"""Training procedures, training records and IFU attestations (section IV.F).

A ``TrainingProcedure`` belongs to one model version: a new version of a model
needs its own procedure, because what a qualified end-user must know (inputs,
outputs, limitations, IFU) can change between versions.  Its complexity is
chosen to suit the clinical use case (IV.F.1) and the choice is explained.

A ``TrainingRecord`` says that a person completed a procedure; records are
appended and never edited to extend them (a renewal is a new record).  A guided or
assessed training is signed off by its trainer, who records it; only a procedure that
allows self-attestation (basic self-study) lets trainees record their own.  A
supplemental record (IV.F.3) never stands in for the base training.

An ``IfuAttestation`` says that a person read one IFU document.  It is made by
that person only, at completion or later when a new IFU is uploaded (IV.F.2); a
record made at completion points at it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radgov.core.models import AuditedModel
from radgov.core.roles import Role


class Complexity(models.TextChoices):
    BASIC = "basic", "Basic (self-study of the IFU and a short briefing)"
    INTERMEDIATE = "intermediate", "Intermediate (guided session with worked cases)"
    ADVANCED = "advanced", "Advanced (hands-on cases with a trainer, assessed)"


# Only self-study may be self-attested: a guided session or an assessment has a trainer.
SELF_ATTESTABLE = frozenset({Complexity.BASIC})


class TrainingProcedure(AuditedModel):
    model_version = models.ForeignKey(
        "inventory.ModelVersion", on_delete=models.PROTECT, related_name="training_procedures"
    )
    title = models.CharField(max_length=200)
    content = models.TextField(help_text="what the training covers, as plain text")
    complexity = models.CharField(max_length=16, choices=Complexity.choices)
    complexity_note = models.TextField(
        help_text="why this complexity suits the clinical use case (IV.F.1)"
    )
    required_roles = models.JSONField(
        default=list, help_text="roles (radgov.core.roles.Role values) this training is for"
    )
    validity_months = models.PositiveSmallIntegerField(
        default=12, help_text="months a completion stays current"
    )
    is_supplemental = models.BooleanField(
        default=False, help_text="supplemental training after some time in use (IV.F.3)"
    )
    self_attestation = models.BooleanField(
        default=False,
        help_text="trainees record their own completion (basic self-study only); otherwise "
        "the trainer signs each completion off",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["model_version_id", "is_supplemental", "title"]

    def __str__(self) -> str:
        kind = "supplemental training" if self.is_supplemental else "training"
        return f"{self.title} ({kind})"

    @property
    def required_role_labels(self) -> list[str]:
        return [Role(r).label if r in Role.values else r for r in self.required_roles]


class IfuAttestation(AuditedModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ifu_attestations"
    )
    document = models.ForeignKey(
        "inventory.Document", on_delete=models.PROTECT, related_name="training_attestations"
    )
    attested_at = models.DateTimeField()

    class Meta:
        ordering = ["-attested_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "document"], name="training_one_attestation")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read IFU document {self.document_id}"


class TrainingRecord(AuditedModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="training_records"
    )
    model_version = models.ForeignKey(
        "inventory.ModelVersion", on_delete=models.PROTECT, related_name="training_records"
    )
    procedure = models.ForeignKey(
        TrainingProcedure, on_delete=models.PROTECT, related_name="records"
    )
    completed_at = models.DateTimeField()
    expires_at = models.DateTimeField(help_text="completed_at + the procedure's validity")
    is_supplemental = models.BooleanField(default=False)
    ifu_attestation = models.ForeignKey(
        IfuAttestation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the IFU attestation the trainee gave at completion, if any",
    )
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="who delivered or verified the training",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-completed_at"]
        indexes = [models.Index(fields=["user", "model_version", "expires_at"])]

    def __str__(self) -> str:
        return f"training of user {self.user_id} on model version {self.model_version_id}"

    @property
    def ifu_document(self):  # type: ignore[no-untyped-def]
        return self.ifu_attestation.document if self.ifu_attestation_id else None

    @property
    def ifu_attested_at(self):  # type: ignore[no-untyped-def]
        return self.ifu_attestation.attested_at if self.ifu_attestation_id else None
