"""The practice's Notice of Privacy Practices, whether each live deployment's use is covered
by it, and the privacy officer's reminders (docs/privacy-incidents.md).

Section V: a deployment whose use case the current notice does not cover is flagged for the
compliance role.  The notice is reviewed on a cycle of its own.  Reminders are raised by the
daily task ``compliance.remind`` (incident deadlines, the notice's review, uncovered
deployments, records past retention, AI adverse events flagged as a possible privacy
breach), sent once per stage (due, overdue) to the alert queue
and by email, and cleared by it once their cause is gone; they name no patient.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from radgov.core.models import AuditedModel
from radgov.inventory.models import Deployment


class PrivacyNotice(AuditedModel):
    """One version of the Notice of Privacy Practices; the current one is the newest in
    force (effective on or before today)."""

    version = models.CharField(max_length=100, help_text="as the notice names itself")
    effective_on = models.DateField()
    uses = models.TextField(help_text="the uses and disclosures of PHI it describes")
    review_every_days = models.PositiveIntegerField(default=365)
    reviewed_on = models.DateField(help_text="last reviewed (the effective day at first)")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-effective_on", "-pk"]

    def __str__(self) -> str:
        return f"Notice of Privacy Practices {self.version}"


class NoticeCoverage(AuditedModel):
    """The compliance role's finding: is this deployment's use covered by this notice?"""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    notice = models.ForeignKey(PrivacyNotice, on_delete=models.CASCADE, related_name="coverage")
    covered = models.BooleanField()
    note = models.CharField(max_length=500, blank=True, help_text="the notice's words, or why not")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["notice", "deployment"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "notice"], name="compliance_coverage_once"
            )
        ]

    def __str__(self) -> str:
        return f"coverage of {self.deployment_id} by notice {self.notice_id}: {self.covered}"


class Reminder(AuditedModel):
    class Kind(models.TextChoices):
        INCIDENT_NOTICE = "incident_notice", "a breach notice is due"
        NOTICE_REVIEW = "notice_review", "the Notice of Privacy Practices is due for review"
        NOTICE_COVERAGE = "notice_coverage", "a deployment's use is not covered by the notice"
        RETENTION = "retention", "records past their retention are not purged"
        AI_EVENT = "ai_event", "an AI adverse event may be a privacy breach"

    class Stage(models.TextChoices):
        DUE = "due", "due soon"
        OVERDUE = "overdue", "overdue"
        FLAGGED = "flagged", "flagged"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(
        max_length=100, unique=True, help_text="what it is about, e.g. incident:3:hhs"
    )
    subject = models.CharField(max_length=300, help_text="the sentence shown (no patient data)")
    due_on = models.DateField(null=True, blank=True)
    stage = models.CharField(max_length=8, choices=Stage.choices, default=Stage.DUE)
    alerted_stage = models.CharField(
        max_length=8, blank=True, help_text="the stage last put in the alert queue"
    )
    mailed_stage = models.CharField(
        max_length=8, blank=True, help_text="the stage last sent by email"
    )
    alert = models.ForeignKey(
        "monitoring.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["cleared_at", "due_on", "pk"]

    def __str__(self) -> str:
        return f"reminder {self.key}"
