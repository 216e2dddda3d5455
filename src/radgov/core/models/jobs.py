"""Background jobs: expensive work a person asked for (a PDF, an acceptance-test run), done by
the worker while the page shows a status that updates.  See :mod:`radgov.core.jobs`."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone

from radgov.core import config
from radgov.core.models.base import AuditedModel


class Job(AuditedModel):
    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs"
    )
    kind = models.CharField(max_length=64, help_text="what to do (radgov.core.jobs.KINDS)")
    params = models.JSONField(
        default=dict, blank=True, help_text="the kind's parameters: ids, never patient data"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent done")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="times a worker started it")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result_name = models.CharField(max_length=200, blank=True, help_text="the file's name")
    result_type = models.CharField(max_length=100, blank=True, help_text="its media type")
    result_url = models.CharField(
        max_length=300, blank=True, help_text="where the result is, when it is a record"
    )
    error = models.TextField(blank=True, help_text="why it failed, in words")

    class Meta:
        ordering = ["-created_at", "-pk"]

    class Audit:
        # a refusal may repeat what the person sent (a cell of their cases file) to them; the
        # trail keeps that the job failed, not the words
        redact = ["error"]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.kind}, {self.status})"

    @property
    def folder(self) -> Path:
        return config.data_dir() / "jobs" / str(self.pk)

    @property
    def result_path(self) -> Path | None:
        return self.folder / "result" if self.result_name else None

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)
