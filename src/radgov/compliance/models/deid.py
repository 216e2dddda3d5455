"""De-identification jobs: DICOM from an upload, a server folder or a path given to
``radgov deid`` at the console, to de-identified output.

A job's source holds PHI; its output lives under ``DATA_DIR/deid/<job id>/`` (a console job's in
the DST its operator named), named after the de-identified UIDs.  The report names source files by keyed reference; their names (PHI: a
folder can be called after a patient) are kept encrypted beside it.
Every save is an audit entry, so the worker saves progress in batches (see
``radgov.compliance.services``).  The source path and the report (which lists the source's
file names) are redacted in the audit trail: paths can carry PHI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from radgov.core import config
from radgov.core.fields import EncryptedTextField
from radgov.core.models import AuditedModel


class DeidJob(AuditedModel):
    class SourceKind(models.TextChoices):
        UPLOAD = "upload", "uploaded files"
        SERVER_FOLDER = "server_folder", "server folder"
        APP_FOLDER = "app_folder", "folder held by another radgov app"
        CONSOLE = "console", "path given to radgov deid at the server's console"

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deid_jobs",
        help_text="who started the job; empty: the operator of radgov deid at the console",
    )
    created_at = models.DateTimeField(default=timezone.now)
    shared_with = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="shared_deid_jobs",
        help_text="people the owner (or compliance) let see the job, its report and output",
    )
    purpose = models.CharField(
        max_length=300, help_text="why, e.g. 'local acceptance testing of ICH triage v2'"
    )
    source_kind = models.CharField(max_length=16, choices=SourceKind.choices)
    source_root = models.CharField(
        max_length=1000,
        blank=True,
        help_text="the allowed root the source lies in (server and app folders)",
    )
    source = models.CharField(
        max_length=1000,
        blank=True,
        help_text="server/app folder: path relative to source_root; upload: the stored input "
        "folder, relative to the data folder (deleted after a successful run); console: the "
        "absolute path",
    )
    output = models.CharField(
        max_length=1000,
        blank=True,
        help_text="output folder, relative to the data folder (console: the absolute DST)",
    )
    options = models.JSONField(
        default=list, blank=True, help_text="PS3.15 options (CID 7050) by their radgov names"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempt = models.PositiveIntegerField(default=0, help_text="how many times a worker started it")
    files_total = models.PositiveIntegerField(default=0, help_text="files found in the source")
    files = models.PositiveIntegerField(default=0, help_text="files processed so far")
    ok = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    report = models.TextField(
        blank=True, help_text="the engine's JSON report (source files by keyed reference)"
    )
    source_names = EncryptedTextField(
        null=True,
        blank=True,
        help_text="JSON: each source file's keyed reference -> its name in the source (PHI, "
        "AES-GCM encrypted); shown to the people who may see the job",
    )
    error = models.TextField(blank=True, help_text="why the whole run failed")
    input_deleted = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="last progress saved by the worker"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "de-identification job"

    class Audit:
        redact = ["source", "report"]

    def __str__(self) -> str:
        return f"de-identification job {self.pk} ({self.status})"

    @property
    def owner_name(self) -> str:
        return self.created_by.username if self.created_by else "console operator"

    @property
    def folder(self) -> Path:
        return config.data_dir() / "deid" / str(self.pk)

    @property
    def output_path(self) -> Path:
        return config.data_dir() / self.output

    @property
    def input_path(self) -> Path | None:
        """The stored input of an upload job (None for server and app folders)."""
        if self.source_kind != self.SourceKind.UPLOAD or not self.source:
            return None
        return config.data_dir() / self.source

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.files / self.files_total) if self.files_total else 0

    def report_data(self) -> dict[str, Any]:
        """The report, each file record with its source's name (decrypted) as ``source``."""
        data: dict[str, Any] = json.loads(self.report) if self.report else {}
        if data and self.source_names is not None:
            names = json.loads(self.source_names.reveal())
            for record in data.get("files", []):
                record["source"] = names.get(record.get("source_ref"), "")
        return data
