"""What the DICOM gateway keeps: the studies it is assembling, every instance it stored (and
acknowledged), and its routing decision per study and deployment (docs/gateway.md).

Nothing here names a patient: UIDs are kept as keyed hashes (and the Study Instance UID
encrypted, to find its exam), files by paths made of hashes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radgov.core.audit.codes import EventCode
from radgov.core.fields import EncryptedTextField, PseudonymField
from radgov.core.models import AuditedModel, Machine
from radgov.exams.models import Exam, Inference, ProcedureRecord
from radgov.inventory.models import Deployment


class Study(AuditedModel):
    """A study as the gateway assembles it; complete after a quiet period, then routed."""

    study_uid_hash = PseudonymField(unique=True, help_text="the exam's keyed study UID hash")
    study_uid_encrypted = EncryptedTextField(help_text="the Study Instance UID, AES-GCM encrypted")
    site = models.CharField(max_length=200, blank=True)
    first_received_at = models.DateTimeField()
    last_received_at = models.DateTimeField(db_index=True)
    instance_count = models.PositiveIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    exam = models.ForeignKey(
        Exam, null=True, blank=True, on_delete=models.PROTECT, related_name="gateway_studies"
    )
    problem = models.TextField(blank=True, help_text="why the study could not be recorded")

    class Meta:
        ordering = ["-last_received_at", "-id"]

    class Audit:
        event_code = EventCode.INSTANCES_TRANSFERRED

    def __str__(self) -> str:
        return f"gateway study {self.pk}"


class Instance(AuditedModel):
    """One stored instance: recorded (and committed) before its C-STORE is answered."""

    study = models.ForeignKey(  # the index of a study's images in order leads with it
        Study, on_delete=models.PROTECT, related_name="instances", db_index=False
    )
    sop_uid_hash = PseudonymField(
        db_index=False, help_text="keyed hash of the SOP Instance UID"
    )  # the unique (sop_uid_hash, sha256) leads with it
    sop_class_uid = models.CharField(max_length=64)
    transfer_syntax_uid = models.CharField(max_length=64)
    file_ref = models.CharField(max_length=300, help_text="place in the spool (hashes only)")
    sha256 = models.CharField(max_length=64, help_text="of the dataset as the peer sent it")
    size = models.PositiveBigIntegerField()
    calling_ae = models.CharField(max_length=16)
    peer = models.ForeignKey(Machine, null=True, on_delete=models.PROTECT, related_name="+")
    conflict = models.BooleanField(
        default=False, help_text="the same SOP Instance UID came before with other bytes"
    )
    is_result = models.BooleanField(
        default=False, help_text="a model's result (SR, SEG, SC), not an image of the study"
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sop_uid_hash", "sha256"], name="gateway_instance_uid_content"
            )
        ]
        # a study's images in the order they came: routing reads the first, the sender all
        indexes = [
            models.Index(fields=["study", "received_at", "id"], name="gateway_instance_in_order")
        ]

    class Audit:
        event_code = EventCode.INSTANCES_TRANSFERRED

    def __str__(self) -> str:
        return f"instance {self.pk} of {self.study_id}"


class Outcome(models.TextChoices):
    QUEUED = "queued", "Admitted: queued for the model"
    EXCLUDED = "excluded", "Excluded by the criteria"
    REJECTED = "rejected", "Rejected: the acquisition does not meet the IFU"


class Route(ProcedureRecord):
    """Why one deployment did or did not get one study: the criteria as they were, and
    every constraint the study met or missed."""

    study = models.ForeignKey(  # the unique (study, deployment) leads with it
        Study, on_delete=models.CASCADE, related_name="routes", db_index=False
    )
    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="+")
    inference = models.ForeignKey(Inference, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reasons = models.JSONField(default=list, help_text="each criterion missed, in words")
    criteria = models.JSONField(default=dict, help_text="the deployment's criteria, as applied")
    decided_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="sends to the model tried")
    sent_at = models.DateTimeField(null=True, blank=True)
    resent_after = models.DateTimeField(
        null=True,
        blank=True,
        help_text="routed again after a rejection: only images received after this are sent",
    )
    polled_at = models.DateTimeField(
        null=True, blank=True, help_text="last asked its STOW-RS service for results"
    )
    poll_problem = models.TextField(
        blank=True, help_text="why the last asking for results failed, in words"
    )

    class Meta:
        ordering = ["study", "deployment"]
        constraints = [
            models.UniqueConstraint(fields=["study", "deployment"], name="gateway_route_once")
        ]

    def __str__(self) -> str:
        return f"route of {self.study_id} to {self.deployment_id}: {self.outcome}"


class EndpointKind(models.TextChoices):
    DICOM = "dicom", "DICOM node (C-STORE)"
    STOW = "stow", "DICOMweb STOW-RS"
    PYTHON = "python", "Local Python model"


class Endpoint(AuditedModel):
    """Where a deployment's model receives studies: a DICOM node (the vendor's AE), a
    DICOMweb STOW-RS service, or a local Python model registered by name."""

    deployment = models.OneToOneField(
        Deployment, on_delete=models.CASCADE, related_name="gateway_endpoint"
    )
    kind = models.CharField(max_length=8, choices=EndpointKind.choices, default=EndpointKind.DICOM)
    ae_title = models.CharField(
        max_length=16, blank=True, help_text="the model node's AE title (its results come from it)"
    )
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(default=0)
    url = models.CharField(max_length=500, blank=True, help_text="the STOW-RS studies URL")
    credentials = EncryptedTextField(
        null=True, blank=True, help_text="the STOW-RS Authorization header value; never shown"
    )
    model = models.CharField(max_length=100, blank=True, help_text="a registered local model")
    tls = models.BooleanField(
        default=False, help_text="DICOM TLS (TLS 1.2 or later), the node's certificate checked"
    )
    timeout_seconds = models.PositiveIntegerField(default=30)
    result_minutes = models.PositiveIntegerField(
        default=60, help_text="an inference sent this long ago without a result has failed"
    )

    class Meta:
        ordering = ["deployment"]

    def __str__(self) -> str:
        return f"endpoint of {self.deployment_id}: {self.kind} {self.target}"

    @property
    def authorization(self) -> str:
        """The STOW-RS Authorization header value ("" without credentials)."""
        return self.credentials.reveal() if self.credentials is not None else ""

    @property
    def target(self) -> str:
        """Where studies go, in words (no credentials)."""
        if self.kind == EndpointKind.STOW:
            return self.url
        if self.kind == EndpointKind.PYTHON:
            return f"local model {self.model}"
        return f"{self.ae_title}@{self.host}:{self.port}"


class Remedy(models.TextChoices):
    RESENT = "resent", "Resent from the scanner"
    NOT_FIXABLE = "not_fixable", "Not fixable"


class Remediation(ProcedureRecord):
    """A technologist's answer to a rejected input (III.E.1.d): resent or not fixable."""

    inference = models.OneToOneField(
        Inference, on_delete=models.CASCADE, related_name="remediation"
    )
    outcome = models.CharField(max_length=16, choices=Remedy.choices)
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_name = models.CharField(max_length=150)
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"remediation of inference {self.inference_id}: {self.outcome}"


class Hl7Message(AuditedModel):
    """One HL7 message whose reports the MLLP listener stored, by its sender (MSH-3^MSH-4) and
    control id (MSH-10), so that the message sent again is answered without being stored a
    second time, even after a later message amended the same report.  No patient data: the
    control id, the sender and the SHA-256 of what the message reported."""

    application = models.CharField(max_length=255, help_text="MSH-3^MSH-4 of the sender")
    control_id = models.CharField(max_length=199, help_text="MSH-10")
    sha256 = models.CharField(max_length=64, help_text="of the reports (accession and text)")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "control_id"], name="gateway_hl7_message_once"
            )
        ]

    def __str__(self) -> str:
        return f"HL7 message {self.control_id}"


class Association(AuditedModel):
    """One DICOM association with the listener: who called, from where, whether it was
    accepted, and what it carried (no patient data: AE titles, an address, counts)."""

    calling_ae = models.CharField(max_length=16)
    address = models.CharField(max_length=64)
    peer = models.ForeignKey(Machine, null=True, on_delete=models.SET_NULL, related_name="+")
    accepted = models.BooleanField()
    reason = models.CharField(max_length=200, blank=True, help_text="why it was refused")
    stored = models.PositiveIntegerField(default=0, help_text="instances stored and acknowledged")
    refused = models.PositiveIntegerField(default=0, help_text="instances refused with a status")
    ended = models.CharField(max_length=16, blank=True, help_text="released or aborted")
    recorded_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]

    class Audit:
        event_code = EventCode.NETWORK_ENTRY

    def __str__(self) -> str:
        return f"association {self.pk} from {self.calling_ae}"
