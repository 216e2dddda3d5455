from radgov.core.models.audit import AppendOnlyError, AuditCheckpoint, AuditEntry, AuditHead
from radgov.core.models.base import AuditBypassError, AuditedManager, AuditedModel, AuditedQuerySet
from radgov.core.models.identity import AccessionIdentity, PatientIdentity
from radgov.core.models.jobs import Job

__all__ = [
    "AccessionIdentity",
    "AppendOnlyError",
    "AuditBypassError",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "AuditedManager",
    "AuditedModel",
    "AuditedQuerySet",
    "Job",
    "PatientIdentity",
]
