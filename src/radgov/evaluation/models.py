"""Acceptance-test protocols and runs, kept with the deployment they test (IV.E, IV.B.2.e).

A protocol is written in YAML (``radgov.evaluation.protocol``) and stored as written, with
the SHA-256 of its canonical form.  While it is a draft it may be edited; a governance-group
member approves it by locking it (who, when, the hash).  A run can only be made against a
locked protocol, so the metrics and the pass criteria are fixed before any result exists
(IV.E.2).  Changing a locked protocol makes a new version that points at the one it amends
and is marked *amended after lock* (and *after results* when the amended version had runs);
the report says so.

A run keeps the result JSON and the rendered report, the cases file's name, SHA-256 and
size, and what the identifier screen found.  The cases file itself is not kept.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radgov.core.models import AuditedModel


class AcceptanceProtocol(AuditedModel):
    deployment = models.ForeignKey(
        "inventory.Deployment", on_delete=models.PROTECT, related_name="acceptance_protocols"
    )
    version = models.PositiveSmallIntegerField(help_text="1 for the first protocol, then +1")
    amends = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="amended_by",
        help_text="the locked version this one changes",
    )
    name = models.CharField(max_length=200)
    task = models.CharField(max_length=20)
    source = models.TextField(help_text="the protocol as written (YAML)")
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical form")
    amendment_reason = models.TextField(blank=True)
    amended_after_results = models.BooleanField(
        default=False,
        help_text="a run of the deployment's protocol existed when this was written: its "
        "metrics were not agreed before every result (IV.E.2) until the group accepts it",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    locked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["deployment_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "version"], name="evaluation_one_protocol_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} (version {self.version})"

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def amended_after_lock(self) -> bool:
        return self.amends_id is not None

    @property
    def locker_name(self) -> str:
        by = self.locked_by
        return (by.get_full_name() or by.get_username()) if by else ""

    @property
    def amendment(self) -> str:
        """The amendment in words (for the report and the conformance audit), or ''."""
        if self.amends is None:
            return ""
        after = " after results were seen" if self.amended_after_results else ""
        return (
            f"AMENDED AFTER LOCK of version {self.amends.version}{after} "
            f"(reason: {self.amendment_reason.strip()})"
        )


class AcceptanceRun(AuditedModel):
    protocol = models.ForeignKey(AcceptanceProtocol, on_delete=models.PROTECT, related_name="runs")
    protocol_hash = models.CharField(max_length=64, help_text="the locked hash the run used")
    cases_name = models.CharField(max_length=255, help_text="the cases file's name as uploaded")
    cases_sha256 = models.CharField(max_length=64)
    repeats = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the deployment's first run of the same cases file (same SHA-256), if any",
    )
    n_cases = models.PositiveIntegerField()
    synthetic = models.BooleanField(help_text="the cases file says it holds synthetic data")
    passed = models.BooleanField()
    identifier_columns = models.JSONField(
        default=list, help_text="columns the identifier screen flagged (names and kinds only)"
    )
    identifiers_allowed_because = models.TextField(
        blank=True, help_text="the BAA that covered a cases file with identifiers"
    )
    result = models.JSONField(help_text="the result, as `radgov evaluate` writes it")
    result_sha256 = models.CharField(
        max_length=64, help_text="SHA-256 of the canonical result JSON; kept in the audit trail"
    )
    report_html = models.TextField(help_text="the report page as rendered at the run")
    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]

    class Audit:
        # large; the audit trail keeps the result's SHA-256 instead.  The cases file's name is
        # what the user called it, which can name a patient: the trail keeps its SHA-256
        redact = ["result", "report_html", "cases_name"]

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "failed"
        return f"acceptance run {self.pk} of {self.protocol} ({verdict})"
