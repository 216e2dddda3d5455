"""Machines that act in radgov: DICOM and MLLP peers, API clients, periodic tasks.

A ``Machine`` is a principal, not a person: it has no role and no capacity, only the grants
of the permission policy (``radgov.core.policy``).  The audit trail names it by ``name``
(``actor_role`` ``machine:<kind>``).  Names carry their kind (``dicom:PACS_MAIN``,
``mllp:RIS``, ``api:orchestrator``, ``task:monitoring.check_alarms``) and contain a colon, so
they can never be a person's user name.  An administrator registers peers and API clients
and issues their credentials (``radgov.core.machines``); a periodic task's principal is made
on its first run.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radgov.core.models.base import AuditedModel


class MachineKind(models.TextChoices):
    DICOM_PEER = "dicom_peer", "DICOM peer (calling AE title and address)"
    MLLP_PEER = "mllp_peer", "HL7 v2 peer over MLLP"
    API_CLIENT = "api_client", "API client"
    TASK = "task", "Periodic task"


NAME_PREFIX = {
    MachineKind.DICOM_PEER: "dicom:",
    MachineKind.MLLP_PEER: "mllp:",
    MachineKind.API_CLIENT: "api:",
    MachineKind.TASK: "task:",
}


class Machine(AuditedModel):
    name = models.CharField(
        max_length=100, unique=True, help_text="kind:identity, e.g. dicom:PACS_MAIN"
    )
    kind = models.CharField(max_length=16, choices=MachineKind.choices)
    description = models.TextField(blank=True)
    ae_title = models.CharField(max_length=16, blank=True, help_text="DICOM calling AE title")
    address = models.CharField(
        max_length=255, blank=True, help_text="the IP address or host name it connects from"
    )
    application = models.CharField(
        max_length=180, blank=True, help_text="HL7 MSH-3^MSH-4: sending application^facility"
    )
    grants = models.JSONField(default=list, blank=True, help_text="names of policy grants")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # what code that expects a person finds on a machine: no role, no capacity
    is_machine = True
    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_governance_member = False
    is_clinical_champion = False
    role = ""

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def username(self) -> str:
        return self.name

    @property
    def capacities(self) -> list[str]:
        return []

    def get_username(self) -> str:
        return self.name


class MachineCredential(AuditedModel):
    """An API credential issued to a machine: ``rgm_<prefix>_<secret>``.  Only the SHA-256
    digest of the whole token is stored; it expires and can be revoked."""

    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="credentials")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    class Audit:
        redact = ["digest"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}) of {self.machine_id}"
