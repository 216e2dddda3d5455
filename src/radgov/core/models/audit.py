"""The audit trail's tables: append-only entries, signed checkpoints and the chain head.

``AuditEntry`` and ``AuditCheckpoint`` rows are written once, by
``radgov.core.audit.record`` and ``radgov.core.audit.checkpoint`` only; saving an
existing row, deleting one, or any queryset update/delete/bulk write raises
``AppendOnlyError``.  ``AuditHead`` holds one row per stripe, the lock and cursor that keeps
the writers of a stripe on one chain (docs/decisions/0002-audit-at-volume.md).

``detail`` and ``changes`` are stored as canonical JSON *text* so the bytes that
were hashed are the bytes that are stored (PostgreSQL's jsonb would reorder keys
and rewrite numbers).  Actor id is a plain integer, not a foreign key: the entry
keeps the user's id, name and role after the user is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import models

_appending: ContextVar[bool] = ContextVar("radgov_audit_appending", default=False)


class AppendOnlyError(RuntimeError):
    """An attempt to change or remove an audit row, or to write one outside ``record``."""


@contextmanager
def appending() -> Iterator[None]:
    """Allow inserting audit rows; used by the audit writers only."""
    token = _appending.set(True)
    try:
        yield
    finally:
        _appending.reset(token)


class AppendOnlyQuerySet(models.QuerySet):
    def _refuse(self, what: str) -> None:
        raise AppendOnlyError(f"{self.model._meta.label} is append-only: {what} is not allowed")

    def update(self, **kwargs: Any) -> int:
        self._refuse("update()")
        return 0

    def delete(self) -> tuple[int, dict[str, int]]:
        self._refuse("delete()")
        return 0, {}

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        self._refuse("bulk_update()")
        return 0

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        self._refuse("bulk_create()")
        return []

    def update_or_create(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse("update_or_create()")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True
        base_manager_name = "objects"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(
                f"{self._meta.label} is append-only: an existing row cannot be saved"
            )
        if not _appending.get():
            raise AppendOnlyError(
                f"{self._meta.label} rows are written only by radgov.core.audit (use record())"
            )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError(f"{self._meta.label} is append-only: a row cannot be deleted")


class AuditEntry(AppendOnlyModel):
    stripe = models.PositiveSmallIntegerField(default=0, help_text="the chain it belongs to")
    seq = models.PositiveBigIntegerField(help_text="contiguous from 1 within its stripe")
    timestamp = models.DateTimeField(help_text="UTC, microseconds")
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="user id; not a foreign key")
    actor_name = models.CharField(max_length=150, blank=True, help_text="copy of the username")
    actor_role = models.CharField(max_length=32, blank=True)
    client_address = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=32)
    event_code = models.CharField(max_length=6, help_text="DICOM PS3.15 A.5 event id")
    object_type = models.CharField(max_length=100, blank=True, help_text="app_label.model")
    object_id = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=8)
    detail_json = models.TextField(default="{}")
    changes_json = models.TextField(default="{}")
    prev_hash = models.CharField(max_length=64)
    # unique, without the LIKE index PostgreSQL would add (migration 0009): never searched
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "audit entries"
        constraints = [
            models.UniqueConstraint(fields=["stripe", "seq"], name="core_auditentry_stripe_seq")
        ]
        indexes = [
            models.Index(fields=["timestamp"]),
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["actor_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.stripe}:{self.seq} {self.action} {self.object_type} {self.object_id} {self.outcome}"

    @property
    def position(self) -> str:
        """Where the entry stands: its seq on stripe 0 (as before stripes), ``stripe.seq`` else."""
        return str(self.seq) if not self.stripe else f"{self.stripe}.{self.seq}"

    @property
    def detail(self) -> dict[str, Any]:
        return json.loads(self.detail_json or "{}")

    @property
    def changes(self) -> dict[str, Any]:
        return json.loads(self.changes_json or "{}")


class AuditCheckpoint(AppendOnlyModel):
    """A signed statement that entry ``seq`` of stripe 0 had hash ``entry_hash`` and, in
    ``heads_json``, where every other stripe's head was at the same moment
    (``[[stripe, seq, entry_hash], ...]``, ``[]`` with one stripe); each checkpoint signs
    the previous one's signature, so checkpoints chain too."""

    number = models.PositiveBigIntegerField(unique=True, help_text="contiguous from 1")
    seq = models.PositiveBigIntegerField()
    entry_hash = models.CharField(max_length=64)
    heads_json = models.TextField(default="[]", help_text="the other stripes' heads")
    created = models.DateTimeField()
    prev_signature = models.CharField(max_length=128, blank=True)
    key_id = models.CharField(max_length=32)
    signature = models.CharField(max_length=128, help_text="Ed25519, hex")

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"checkpoint {self.number} at entry {self.seq}"


class AuditHead(models.Model):
    """One row per stripe (pk = stripe + 1), locked by the writer appending to that stripe:
    its last seq and hash.

    Not the source of truth (the entries are); verify uses it only to notice a
    trail that ends before the head says it does."""

    seq = models.PositiveBigIntegerField(default=0)
    entry_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head at {self.seq}"
