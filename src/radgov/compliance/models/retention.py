"""Retention policies per data class, legal holds, and the purge runs that apply them
(docs/retention.md).

A policy row exists only once the compliance role changed a class's default
(``radgov.compliance.retention.DEFAULTS``).  A purge run keeps, while it works, the files of
rows it has already deleted (``pending_files``): the rows go first, in one transaction with
that list, then the files, so an interrupted run never leaves a row pointing at a deleted file
and the next run deletes what the list still names.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from radgov.core.models import AuditedModel, PatientIdentity
from radgov.inventory.models import Deployment


class DataClass(models.TextChoices):
    EXAMS = "exams", "Exam records and AI results (inferences, status history, outputs)"
    SPOOL = "spool", "Received DICOM in the gateway's spool (images sent on to models)"
    RESULT_OBJECTS = "result_objects", "AI result objects (DICOM SR, SEG, SC files)"
    REPORTS = "reports", "Reports and report text (monitoring's copy, with its labels)"
    MONITORING_EVENTS = "monitoring_events", "Monitoring events (AI-versus-report comparisons)"
    CASE_FILES = "case_files", "Acceptance-test cases files left waiting for a run"
    DEID_JOBS = "deid_jobs", "De-identification job inputs and outputs"
    AUDIT_TRAIL = "audit_trail", "Audit trail (oldest entries, up to a signed checkpoint)"


class RetentionPolicy(AuditedModel):
    data_class = models.CharField(max_length=32, choices=DataClass.choices, unique=True)
    days = models.PositiveIntegerField(help_text="kept this many days, then purged")
    legal_minimum_days = models.PositiveIntegerField(
        default=0, help_text="the shortest retention the practice's counsel allows (0: none set)"
    )
    note = models.CharField(max_length=500, blank=True, help_text="the rule or reason behind it")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["data_class"]
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"retention of {self.data_class}: {self.days} days"


class LegalHold(AuditedModel):
    class Scope(models.TextChoices):
        EXAM = "exam", "one exam"
        PATIENT = "patient", "one patient (by pseudonym)"
        DEPLOYMENT = "deployment", "one deployment's exams"
        DATES = "dates", "everything dated in a range"

    scope = models.CharField(max_length=12, choices=Scope.choices)
    exam = models.ForeignKey(
        "exams.Exam", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    patient = models.ForeignKey(
        PatientIdentity, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=300, help_text="the matter, e.g. 'litigation 2026-CV-114'")
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    release_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-placed_at", "-pk"]

    def __str__(self) -> str:
        return f"legal hold {self.pk} ({self.get_scope_display()})"

    @property
    def active(self) -> bool:
        return self.released_at is None


class PurgeRun(AuditedModel):
    class Status(models.TextChoices):
        RUNNING = "running", "running"
        DONE = "done", "done"

    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.CharField(max_length=150, help_text="the person, command or task")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    attempt = models.PositiveIntegerField(default=1)
    removed = models.JSONField(default=dict, help_text="{data class: rows removed}")
    held = models.JSONField(default=dict, help_text="{data class: expired but under legal hold}")
    files_deleted = models.PositiveIntegerField(default=0)
    pending_files = models.JSONField(
        default=list, help_text="files of rows already deleted, still to delete (data folder)"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    class Audit:
        redact = ["pending_files"]

    def __str__(self) -> str:
        return f"purge run {self.pk} ({self.status})"
