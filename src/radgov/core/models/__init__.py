from radgov.core.models.audit import AppendOnlyError, AuditCheckpoint, AuditEntry, AuditHead
from radgov.core.models.base import AuditBypassError, AuditedManager, AuditedModel, AuditedQuerySet
from radgov.core.models.health import ProcessBeat
from radgov.core.models.identity import AccessionIdentity, PatientIdentity
from radgov.core.models.jobs import Job
from radgov.core.models.machine import Machine, MachineCredential, MachineKind

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
    "Machine",
    "MachineCredential",
    "MachineKind",
    "PatientIdentity",
    "ProcessBeat",
]
