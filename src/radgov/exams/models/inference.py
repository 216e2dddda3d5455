"""What one deployment did with one exam: the inference, its append-only history of status
moves, and the objects the model sent back (docs/exams.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from radgov.core.fields import EncryptedTextField, PseudonymField
from radgov.exams.models.base import ProcedureRecord
from radgov.exams.models.exam import Exam
from radgov.exams.statuses import Call, ResultKind, Status
from radgov.inventory.models import Deployment


class Inference(ProcedureRecord):
    # no index of their own: the unique (exam, deployment) and the (deployment, ...) indexes
    # lead with them, and each index more is work on every row a bulk ingest adds (issue 17)
    exam = models.ForeignKey(
        Exam, on_delete=models.PROTECT, related_name="inferences", db_index=False
    )
    deployment = models.ForeignKey(
        Deployment, on_delete=models.PROTECT, related_name="inferences", db_index=False
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    status_at = models.DateTimeField(help_text="when the current status was reached")
    reason_code = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True, help_text="why, in words a technologist understands")
    score = models.FloatField(null=True, blank=True)
    call = models.CharField(max_length=8, choices=Call.choices, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    findings = models.JSONField(default=list, blank=True)
    model_version = models.CharField(
        max_length=64, blank=True, help_text="the version the model reported with its result"
    )
    vendor_status = models.CharField(max_length=64, blank=True)
    vendor_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    inferred_at = models.DateTimeField(null=True, blank=True)
    # Set per reader by ``radgov.exams.visibility.mark`` (not stored): why the AI output is
    # hidden from them, or None.  Unset on a row no reader was decided for, so showing
    # such a row's output fails instead of leaking.
    ai_hidden: str | None

    class Meta:
        ordering = ["exam", "deployment"]
        constraints = [
            models.UniqueConstraint(
                fields=["exam", "deployment"], name="exams_inference_exam_deployment"
            )
        ]
        indexes = [
            models.Index(fields=["deployment", "status"], name="exams_inf_dep_status"),
            models.Index(fields=["deployment", "inferred_at"], name="exams_inf_dep_inferred"),
        ]

    def __str__(self) -> str:
        return f"inference {self.pk} ({self.status})"


class StatusChange(ProcedureRecord):
    """One move of an inference's status.  Written once: saving it again raises."""

    # no index of its own, nor has key_hash: the unique (inference, key_hash) serves both
    inference = models.ForeignKey(
        Inference, on_delete=models.CASCADE, related_name="history", db_index=False
    )
    from_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices)
    at = models.DateTimeField(help_text="when it happened, as the source says")
    recorded_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, help_text="the person or machine that moved it")
    reason_code = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    vendor_status = models.CharField(max_length=64, blank=True)
    vendor_reason = models.TextField(blank=True)
    key_hash = PseudonymField(
        null=True,
        blank=True,
        db_index=False,
        help_text="keyed hash of the caller's idempotency key",
    )

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["inference", "key_hash"], name="exams_statuschange_inference_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("a status change is never edited; record a new move instead")
        super().save(*args, **kwargs)


class ResultObject(ProcedureRecord):
    """A DICOM object (or file) the model sent back for an inference."""

    inference = models.ForeignKey(Inference, on_delete=models.CASCADE, related_name="results")
    kind = models.CharField(max_length=8, choices=ResultKind.choices)
    sop_uid_hash = PseudonymField(unique=True, help_text="keyed pseudonym of the SOP Instance UID")
    sop_uid_encrypted = EncryptedTextField(help_text="the SOP Instance UID, AES-GCM encrypted")
    sop_class_uid = models.CharField(max_length=64, blank=True)
    file_ref = models.CharField(
        max_length=300, blank=True, help_text="the file's place in the gateway's spool (relative)"
    )
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} result of inference {self.inference_id}"
