"""Review before release (issue 16, practice parameter V and IV.F): a deployment's release
policy, the qualified end-user's review of an AI result (and addenda), and the delivery of
a released result to each destination (DICOM SR, HL7 ORU, FHIR)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radgov.core.audit.codes import EventCode
from radgov.core.fields import EncryptedTextField
from radgov.core.models import AuditedModel
from radgov.exams.models.base import ProcedureRecord
from radgov.exams.models.inference import Inference
from radgov.inventory.models import Deployment


class ReleaseMode(models.TextChoices):
    REVIEW_REQUIRED = "review_required", "Review required before release"
    DIRECT_RELEASE = "direct_release", "Direct release (governance decision)"


class Audience(models.TextChoices):
    REVIEWERS = "reviewers", "Reviewers only"
    CARE_TEAM = "care_team", "Care team"
    PATIENT_PORTAL = "patient_portal", "Care team and patient portal"


class ReleasePolicy(AuditedModel):
    """How a deployment's output goes out (V): after review (the default) or directly, the
    latter only under a recorded governance decision that says why."""

    deployment = models.OneToOneField(
        Deployment, on_delete=models.PROTECT, related_name="release_policy"
    )
    mode = models.CharField(
        max_length=16, choices=ReleaseMode.choices, default=ReleaseMode.REVIEW_REQUIRED
    )
    decision = models.ForeignKey(
        "governance.Decision",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the governance decision that set this policy (required for direct release)",
    )
    seen_before_review = models.CharField(
        max_length=16, choices=Audience.choices, default=Audience.REVIEWERS
    )
    seen_after_review = models.CharField(
        max_length=16, choices=Audience.choices, default=Audience.CARE_TEAM
    )
    report_states_ai = models.BooleanField(
        default=True, help_text="the report must state the AI output and the concordance"
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField()

    class Audit:
        event_code = EventCode.APPLICATION_ACTIVITY

    def __str__(self) -> str:
        return f"release policy of deployment {self.deployment_id}: {self.mode}"


class ReviewDecision(models.TextChoices):
    ACCEPT = "accept", "Accept"
    MODIFY = "modify", "Modify"
    REJECT = "reject", "Reject"


class RejectReason(models.TextChoices):
    """Why a reviewer rejects an AI result (in the spirit of AIDE's list)."""

    INPUT_NOT_APPROPRIATE = "input_not_appropriate", "The input was not appropriate"
    INPUT_NOT_VALID = "input_not_valid", "The input is not valid for this model"
    RESULT_NOT_CORRECT = "result_not_correct", "The result is not correct"
    POOR_QUALITY = "poor_quality", "The result is of poor quality"
    OTHER = "other", "Other (say why)"


class Concordance(models.TextChoices):
    CONCORDANT = "concordant", "Concordant with my read"
    DISCORDANT = "discordant", "Discordant with my read"


class Review(ProcedureRecord):
    """A qualified end-user's decision on one AI result.  An inference has one review; a
    changed mind is an addendum (``amends``), a new row, never an overwrite."""

    inference = models.ForeignKey(Inference, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=8, choices=ReviewDecision.choices)
    reason_code = models.CharField(max_length=32, choices=RejectReason.choices, blank=True)
    reason = models.TextField(blank=True)
    findings = models.JSONField(
        default=list, blank=True, help_text="the reviewer's findings, for a modified result"
    )
    concordance = models.CharField(max_length=12, choices=Concordance.choices)
    report_states_ai = models.BooleanField(
        default=False,
        help_text="the reviewer confirmed their report states the AI output and the concordance",
    )
    reviewed_at = models.DateTimeField()
    amends = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="addenda"
    )

    class Meta:
        ordering = ["reviewed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["inference"],
                condition=models.Q(amends__isnull=True),
                name="exams_review_once",
            )
        ]

    class Audit(ProcedureRecord.Audit):
        redact = ["reason"]  # the reviewer's words: the trail keeps that they changed

    def __str__(self) -> str:
        return f"review {self.pk} of inference {self.inference_id}: {self.decision}"

    @property
    def releases(self) -> bool:
        return self.decision in (ReviewDecision.ACCEPT, ReviewDecision.MODIFY)


class Standard(models.TextChoices):
    DICOM_SR = "dicom_sr", "DICOM SR (TID 1500) to the PACS"
    HL7_ORU = "hl7_oru", "HL7 v2.5.1 ORU^R01 to the RIS"
    FHIR = "fhir", "FHIR R4 DiagnosticReport to the EMR"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Delivery(AuditedModel):
    """One released (or corrected) result, in one standard, on its way to one destination.
    The message is built once at release and kept encrypted, so a retry sends the same
    bytes and an acknowledged message is never sent again."""

    inference = models.ForeignKey(Inference, on_delete=models.PROTECT, related_name="deliveries")
    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    standard = models.CharField(max_length=8, choices=Standard.choices)
    correction = models.BooleanField(default=False, help_text="a correction of a withdrawn release")
    message_id = models.CharField(
        max_length=64, help_text="SR SOP Instance UID, HL7 message control id or FHIR bundle id"
    )
    message = EncryptedTextField(help_text="the message as sent (base64 for DICOM)")
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    answer = models.TextField(blank=True, help_text="the peer's answer, in words")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    class Audit:
        event_code = EventCode.INSTANCES_TRANSFERRED
        redact = ["answer"]  # the peer's words may quote what it was sent

    def __str__(self) -> str:
        return f"{self.standard} delivery of inference {self.inference_id}: {self.status}"


class Destination(AuditedModel):
    """Where one standard's releases go (one per standard, practice-wide): the PACS for the
    SR (C-STORE), the RIS for the ORU (MLLP), the EMR's FHIR endpoint.  Imaging informatics
    keeps it; nothing is sent while it is missing or inactive."""

    standard = models.CharField(max_length=8, choices=Standard.choices, unique=True)
    host = models.CharField(max_length=255, blank=True, help_text="PACS or RIS host")
    port = models.PositiveIntegerField(null=True, blank=True)
    called_ae = models.CharField(max_length=16, blank=True, help_text="the PACS's AE title")
    calling_ae = models.CharField(max_length=16, blank=True, default="RADGOV")
    base_url = models.CharField(max_length=500, blank=True, help_text="FHIR base URL")
    tls = models.BooleanField(default=False, help_text="TLS with the system's trusted CAs")
    active = models.BooleanField(default=True)
    failures_in_a_row = models.PositiveIntegerField(
        default=0, help_text="delivery attempts failed since the last one delivered"
    )
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="set when that count reached the alert threshold"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Audit:
        event_code = EventCode.APPLICATION_ACTIVITY

    def __str__(self) -> str:
        return f"{self.get_standard_display()}"
