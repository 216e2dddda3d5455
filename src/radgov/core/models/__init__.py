from radgov.core.models.audit import AppendOnlyError, AuditCheckpoint, AuditEntry, AuditHead
from radgov.core.models.base import AuditBypassError, AuditedManager, AuditedModel, AuditedQuerySet

__all__ = [
    "AppendOnlyError",
    "AuditBypassError",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "AuditedManager",
    "AuditedModel",
    "AuditedQuerySet",
]
