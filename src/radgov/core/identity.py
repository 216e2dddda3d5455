"""Register patients and accessions by plaintext identifier (a known one is found again);
reveal one, audited.

The identifier goes in, a ``PatientIdentity``/``AccessionIdentity`` row comes
out: lookups go through the keyed pseudonym, the plaintext is stored only
encrypted, and every decryption for a person to see is an audit entry
(``read``, DICOM event 110110 Patient Record).  Errors never include an identifier.

Registering is a ``@service`` (one transaction, audited create); an identifier already
registered is found by its pseudonym, nothing decrypted, so nothing more to audit.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import IntegrityError, transaction

from radgov.core.audit import Action, EventCode, record
from radgov.core.models.identity import AccessionIdentity, IdentifiedModel, PatientIdentity
from radgov.core.services import service

M = TypeVar("M", bound=IdentifiedModel)


class IdentityConflict(ValueError):
    """An accession number already registered to another patient."""


@service
def get_or_create_patient(mrn: str, *, issuer: str = "") -> PatientIdentity:
    return _get_or_create(PatientIdentity, mrn, issuer=issuer)


@service
def get_or_create_accession(
    accession_number: str, *, patient: PatientIdentity, issuer: str = ""
) -> AccessionIdentity:
    """The accession row for this number, created for ``patient`` if new.

    Raises ``IdentityConflict`` when the number is already registered to another patient.
    """
    accession = _get_or_create(AccessionIdentity, accession_number, issuer=issuer, patient=patient)
    if accession.patient_id != patient.pk:
        raise IdentityConflict(
            f"{accession} is registered to {accession.patient}, not to {patient}"
        )
    return accession


@service
def reveal_mrn(patient: PatientIdentity) -> str:
    """The decrypted MRN, for a person to see; recorded in the audit trail."""
    return _reveal(patient)


@service
def reveal_accession_number(accession: AccessionIdentity) -> str:
    """The decrypted accession number, for a person to see; recorded in the audit trail."""
    return _reveal(accession)


def _find(model: type[M], identifier: str, *, issuer: str) -> M | None:
    return model.objects.filter(pseudonym=model.pseudonym_for(identifier, issuer=issuer)).first()


def _get_or_create(model: type[M], identifier: str, *, issuer: str, **fields: Any) -> M:
    found = _find(model, identifier, issuer=issuer)
    if found is not None:
        return found
    row = model.build(identifier, issuer=issuer, **fields)
    try:
        with transaction.atomic():  # a concurrent registration of the same identifier may win
            row.save()
    except IntegrityError:
        return model.objects.get(pseudonym=row.pseudonym)
    return row


def _reveal(row: IdentifiedModel) -> str:
    plaintext = getattr(row, row.encrypted_field).reveal()
    record(
        action=Action.READ,
        obj=row,
        event_code=EventCode.PATIENT_RECORD,
        detail={"field": row.encrypted_field},
    )
    return plaintext
