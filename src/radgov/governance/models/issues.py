"""IV.F.3 / IV.G: issues end-users report about a model, reviewed by the group."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radgov.core.models.base import AuditedModel


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"
    PATIENT_SAFETY = "patient_safety", "Patient safety"


class IssueStatus(models.TextChoices):
    OPEN = "open", "Open"
    TRIAGED = "triaged", "Triaged"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class IssueReport(AuditedModel):
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    deployment = models.ForeignKey(
        "inventory.Deployment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    model_version = models.ForeignKey(
        "inventory.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.TextField(help_text="what happened; no patient identifiers")
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MODERATE)
    status = models.CharField(max_length=16, choices=IssueStatus.choices, default=IssueStatus.OPEN)
    resolution = models.TextField(blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-reported_at", "-id"]

    def __str__(self) -> str:
        return f"Issue #{self.pk} ({self.get_severity_display()}, {self.get_status_display()})"

    @property
    def subject(self) -> str:
        return str(self.deployment) if self.deployment_id else str(self.model_version)
