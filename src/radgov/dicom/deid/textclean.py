"""Free-text cleaning for the "C" (clean) action on descriptors and structured content.

Cleaning keeps the text but removes, case-insensitively, every identifying value the same
dataset carries (patient names and their parts, identifiers, accession number, birth date,
physicians', operators' and institution names, addresses, telephone numbers), plus anything
that looks like a date, a long number (record numbers, ZIP codes, telephone numbers) or an
e-mail address.  It is deliberately conservative: a cleaned descriptor may lose harmless
numbers, never keep a known identifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

MASK = "*"

# Attributes whose values are searched for in free text (top level of the dataset).
IDENTIFYING_KEYWORDS = (
    "PatientName",
    "PatientID",
    "OtherPatientIDs",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
    "PatientBirthDate",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "AccessionNumber",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy",
    "PhysiciansOfRecord",
    "OperatorsName",
    "RequestingPhysician",
    "InstitutionName",
    "InstitutionAddress",
    "StationName",
    "DeviceSerialNumber",
    "StudyID",
    "AdmissionID",
    "MilitaryRank",
    "Occupation",
)

_GENERIC = re.compile(
    r"\b\d{4}[-./]\d{1,2}[-./]\d{1,2}\b"  # 2024-01-31
    r"|\b\d{1,2}[-./]\d{1,2}[-./]\d{2,4}\b"  # 31/01/2024
    r"|\d{5,}"  # record numbers, ZIP codes, compact dates, phone numbers
    r"|\+?\(?\d{2,4}\)?[\s.-]\d{3,4}[\s.-]\d{3,4}\b"  # (555) 123-4567
    r"|[\w.+-]+@[\w-]+\.[\w.-]+",  # e-mail
)


def _terms_of(value: object) -> Iterable[str]:
    if value is None:
        return
    if isinstance(value, list | tuple | MultiValue):
        for item in value:
            yield from _terms_of(item)
        return
    text = str(value).strip()
    if not text:
        return
    yield text
    for part in re.split(r"[\^=\s,]+", text):
        if len(part) >= 3:
            yield part


class TextCleaner:
    """Removes the dataset's own identifiers and generic identifier patterns from text."""

    def __init__(self, ds: Dataset) -> None:
        terms: set[str] = set()
        for keyword in IDENTIFYING_KEYWORDS:
            try:
                value = ds.get(keyword)
            except Exception:  # noqa: S112 - an unreadable value is simply not a search term
                continue
            for term in _terms_of(value):
                if len(term) >= 2:
                    terms.add(term)
        ordered = sorted(terms, key=len, reverse=True)
        self._specific = (
            re.compile("|".join(re.escape(t) for t in ordered), re.IGNORECASE) if ordered else None
        )

    def clean(self, text: str) -> str:
        if self._specific is not None:
            text = self._specific.sub(MASK, text)
        return _GENERIC.sub(MASK, text)
