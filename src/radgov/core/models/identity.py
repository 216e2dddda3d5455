"""Patients and accessions, known by keyed pseudonym; the identifiers themselves only encrypted.

Other apps join on these rows (a foreign key to ``PatientIdentity`` or
``AccessionIdentity``), never on an identifier.  Register and find them through
``radgov.core.identity`` (which also audits every read of a decrypted identifier).

An identifier is unique only within its issuer (DICOM Issuer of Patient ID,
HL7 PID-3.4 assigning authority), so the issuer is part of the pseudonym:
MRN "123" from issuer "HOSP_A" and from "HOSP_B" are two patients.  Sources
that send no issuer use "" consistently.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from django.db import models

from radgov.core import crypto
from radgov.core.audit.codes import EventCode
from radgov.core.fields import EncryptedTextField, PseudonymField, set_identifier
from radgov.core.models.base import AuditedModel


class IdentifiedModel(AuditedModel):
    """A row known by the pseudonym of one identifier (within its issuer), kept encrypted too.

    A subclass names its ``kind`` (the pseudonym namespace) and its
    ``encrypted_field`` (an ``EncryptedTextField``).
    """

    kind: ClassVar[str]
    encrypted_field: ClassVar[str]

    pseudonym = PseudonymField(unique=True, help_text="HMAC of the issuer and the identifier")
    issuer = models.CharField(
        max_length=64,
        blank=True,
        help_text="assigning authority of the identifier; part of its pseudonym; blank when the source sends none",
    )

    class Meta(AuditedModel.Meta):
        abstract = True

    class Audit:
        event_code = EventCode.PATIENT_RECORD

    def __str__(self) -> str:
        return f"{self.kind} {self.pseudonym[:12]}"

    @classmethod
    def namespace(cls, issuer: str) -> str:
        return f"{cls.kind}:{crypto.normalize(issuer)}"

    @classmethod
    def pseudonym_for(cls, identifier: str, *, issuer: str = "") -> str:
        return crypto.pseudonym(identifier, namespace=cls.namespace(issuer))

    @classmethod
    def build(cls, identifier: str, *, issuer: str = "", **fields: Any) -> Self:
        """An unsaved row with the pseudonym and the encrypted identifier set from one plaintext."""
        row = cls(issuer=crypto.normalize(issuer), **fields)
        set_identifier(
            row,
            identifier,
            pseudonym_field="pseudonym",
            encrypted_field=cls.encrypted_field,
            namespace=cls.namespace(issuer),
        )
        return row


class PatientIdentity(IdentifiedModel):
    kind = "patient"
    encrypted_field = "mrn_encrypted"

    mrn_encrypted = EncryptedTextField(
        help_text="the MRN, AES-GCM encrypted; read it through exams.selectors.study (audited)"
    )

    class Meta(IdentifiedModel.Meta):
        verbose_name = "patient identity"
        verbose_name_plural = "patient identities"


class AccessionIdentity(IdentifiedModel):
    kind = "accession"
    encrypted_field = "accession_number_encrypted"

    accession_number_encrypted = EncryptedTextField(
        help_text="the accession number, AES-GCM encrypted; read it through exams.selectors.study (audited)"
    )
    patient = models.ForeignKey(
        PatientIdentity, on_delete=models.PROTECT, related_name="accessions"
    )

    class Meta(IdentifiedModel.Meta):
        verbose_name = "accession identity"
        verbose_name_plural = "accession identities"
