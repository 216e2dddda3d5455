"""Unusual-access cases found in the audit trail, and privacy incidents with the HIPAA breach
workflow (docs/privacy-incidents.md).

A case names the audit entries that triggered it (by seq) and the person or token involved;
an incident names the affected patients only by pseudonym (``PatientIdentity.pseudonym``),
computed from the audit trail, with their count.  The four factors are those of 45 CFR
164.402(2); the clocks are computed (``radgov.compliance.clocks``), never stored.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from radgov.core.models import AuditedModel


class AccessCase(AuditedModel):
    class Rule(models.TextChoices):
        AFTER_HOURS = "after_hours", "patient records read outside working hours"
        ABOVE_BASELINE = "above_baseline", "far more patient records read than usual"
        EXPORT_BURST = "export_burst", "a burst of exports"
        NEW_ADDRESS = "new_address", "an API token used from a new address"

    class Status(models.TextChoices):
        OPEN = "open", "open"
        DISMISSED = "dismissed", "dismissed"
        INCIDENT = "incident", "became an incident"

    rule = models.CharField(max_length=16, choices=Rule.choices)
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="user id, as audited")
    actor_name = models.CharField(max_length=150)
    actor_role = models.CharField(max_length=32, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    entry_seqs = models.JSONField(default=list, help_text="the audit entries that triggered it")
    records = models.PositiveIntegerField(default=0, help_text="patient records read or exported")
    summary = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_reason = models.CharField(max_length=500, blank=True)
    incident = models.ForeignKey(
        "Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "actor_name", "window_start"], name="compliance_case_once"
            )
        ]

    def __str__(self) -> str:
        return f"access case {self.pk} ({self.rule})"


class Incident(AuditedModel):
    class Decision(models.TextChoices):
        PENDING = "pending", "not decided yet"
        BREACH = "breach", "a breach: notify"
        NOT_BREACH = "not_breach", "not a breach (low probability of compromise)"

    class Source(models.TextChoices):
        ACCESS_CASE = "access_case", "unusual-access case"
        ADVERSE_EVENT = "adverse_event", "AI adverse event flagged as a possible privacy breach"
        REPORT = "report", "reported by a person"

    title = models.CharField(max_length=200)
    what = models.TextField(help_text="what happened, without patient identifiers")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.REPORT)
    source_ref = models.CharField(
        max_length=100, blank=True, help_text="e.g. the adverse event's id in monitoring"
    )
    adverse_event = models.OneToOneField(
        "monitoring.AdverseEvent",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="privacy_incident",
        help_text="the AI adverse event flagged as a possible privacy breach it came from",
    )
    exam = models.ForeignKey(
        "exams.Exam",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the exam the event names",
    )
    deployment = models.ForeignKey(
        "inventory.Deployment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the deployment the event names",
    )
    discovered_on = models.DateField(help_text="the day the breach was known (164.404(a)(2))")
    discovered_by = models.CharField(max_length=150)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    data_classes = models.JSONField(default=list, help_text="which kinds of data were involved")
    actor_ids = models.JSONField(default=list, help_text="user ids involved, as audited")
    actor_names = models.JSONField(default=list, help_text="users and API tokens involved")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    affected_patients = models.JSONField(
        default=list, help_text="pseudonyms of the patients whose records were touched"
    )
    affected_count = models.PositiveIntegerField(default=0)
    most_in_one_state = models.PositiveIntegerField(
        null=True, blank=True, help_text="residents of the most affected state (media notice)"
    )
    nature_and_extent = models.TextField(blank=True, help_text="164.402(2)(i)")
    unauthorized_person = models.TextField(blank=True, help_text="164.402(2)(ii)")
    acquired_or_viewed = models.TextField(blank=True, help_text="164.402(2)(iii)")
    mitigation = models.TextField(blank=True, help_text="164.402(2)(iv)")
    decision = models.CharField(max_length=12, choices=Decision.choices, default=Decision.PENDING)
    decision_reasons = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    individuals_notified_on = models.DateField(null=True, blank=True)
    hhs_notified_on = models.DateField(null=True, blank=True)
    media_notified_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-discovered_on", "-pk"]

    class Audit:
        redact = ["affected_patients"]

    def __str__(self) -> str:
        return f"privacy incident {self.pk}"
