"""Register patients and accessions by plaintext identifier (a known one is found again).

The identifier goes in, a ``PatientIdentity``/``AccessionIdentity`` row comes
out: lookups go through the keyed pseudonym and the plaintext is stored only
encrypted.  A person sees an identifier only through an exam's study view
(``radgov.exams.selectors.study``), which audits the read (``read``, DICOM event 110110
Patient Record) with the identifiers it showed.  Errors never include an identifier.

Registering is a ``@service`` (one transaction, audited create); an identifier already
registered is found by its pseudonym, nothing decrypted, so nothing more to audit.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import IntegrityError, transaction

from radgov.core.models.identity import AccessionIdentity, IdentifiedModel, PatientIdentity
from radgov.core.models.lookup import Lookup
from radgov.core.services import service

M = TypeVar("M", bound=IdentifiedModel)


# by pseudonym, made once (radgov.core.models.lookup): every exam recorded looks one up
_BY_PSEUDONYM: dict[type[IdentifiedModel], Lookup[Any]] = {
    model: Lookup(lambda key, model=model: model.objects.filter(pseudonym=key).order_by("pk")[:1])
    for model in (PatientIdentity, AccessionIdentity)
}


class IdentityConflict(ValueError):
    """An accession number already registered to another patient."""


def get_or_create_patient(mrn: str, *, issuer: str = "") -> PatientIdentity:
    return _find(PatientIdentity, mrn, issuer=issuer) or _create(
        PatientIdentity, mrn, issuer=issuer
    )


def get_or_create_accession(
    accession_number: str, *, patient: PatientIdentity, issuer: str = ""
) -> AccessionIdentity:
    """The accession row for this number, created for ``patient`` if new.

    Raises ``IdentityConflict`` when the number is already registered to another patient.
    """
    accession = _find(AccessionIdentity, accession_number, issuer=issuer) or _create(
        AccessionIdentity, accession_number, issuer=issuer, patient=patient
    )
    if accession.patient_id != patient.pk:
        raise IdentityConflict(
            f"{accession} is registered to {accession.patient}, not to {patient}"
        )
    return accession


def _find(model: type[M], identifier: str, *, issuer: str) -> M | None:
    """Found by its pseudonym: a read, outside any service (a service's savepoint would cost
    two more statements for the identifier a practice sees again and again)."""
    found = _BY_PSEUDONYM[model](model.pseudonym_for(identifier, issuer=issuer))
    return found[0] if found else None


@service
def _create(model: type[M], identifier: str, *, issuer: str, **fields: Any) -> M:
    row = model.build(identifier, issuer=issuer, **fields)
    try:
        with transaction.atomic():  # a concurrent registration of the same identifier may win
            row.save()
    except IntegrityError:
        return model.objects.get(pseudonym=row.pseudonym)
    return row
