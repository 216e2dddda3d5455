"""Finding HIPAA Safe Harbor identifiers in a cases file, by column name and by sampled values.

Local acceptance-testing data should be de-identified to the Safe Harbor standard
(practice parameter, section V; 45 CFR 164.514(b)(2)).  This check looks for the identifiers
that turn up in spreadsheets exported for acceptance testing: names, medical record and
accession numbers, full dates (Safe Harbor keeps the year only), ages over 89 (90 itself is
read as the grouped "90 or older" category), phone and fax
numbers, e-mail addresses, street addresses and ZIP codes, Social Security numbers, IP
addresses and URLs.

Two kinds of evidence:

* the column's name (``patient_name``, ``mrn``, ``accession_number``, ``dob``, ``phone``...);
* its values, on a sample: a column is flagged when at least ``share`` (default 30%) of its
  non-empty sampled values match a pattern (SSN, phone, e-mail, full date, street address,
  ``Last, First`` names, MRN/accession-like codes).

A finding never quotes a value (it may be PHI); it says what matched and how often.  This is a
screen, not a certificate: a clean result does not prove a file is de-identified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

__all__ = ["IdentifierFinding", "find_identifiers"]


@dataclass(frozen=True, slots=True)
class IdentifierFinding:
    column: str
    kind: str  # e.g. "name", "medical record number", "full date"
    evidence: str  # "column name" or "values"
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {
            "column": self.column,
            "kind": self.kind,
            "evidence": self.evidence,
            "detail": self.detail,
        }

    def __str__(self) -> str:
        return f"column {self.column!r}: {self.kind} ({self.evidence}: {self.detail})"


def _words(name: str) -> str:
    """``PatientName`` / ``patient-name`` -> ``patient_name`` for matching."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


# (kind, pattern on the normalized column name)
_NAME_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "name",
        re.compile(
            r"(^|_)(patient|pt|first|last|given|family|middle|full|sur|maiden|mother_?s?|"
            r"referring|physician|doctor)_?names?($|_)|^(surname|forename|name|names)$"
        ),
    ),
    (
        "medical record number",
        re.compile(
            r"(^|_)(mrn|mr_?n(o|um(ber)?)?|medical_record(_n(o|um(ber)?))?|patient_id|pid|"
            r"patientid|emr_id|ehr_id|chart_(no|num(ber)?)|hospital_(no|number|id))($|_)"
        ),
    ),
    (
        "accession number",
        re.compile(r"(^|_)(accession(_?(no|num|number|id))?|acc_?(no|num|number))($|_)|^acc$"),
    ),
    (
        "full date",
        re.compile(
            r"(^|_)(dob|birth_?date|date_?of_?birth|birthday|date|datetime|timestamp|"
            r"study_?date|exam_?date|acquisition_?date|admission_?date|discharge_?date|"
            r"death_?date|date_?of_?death|scan_?date|series_?date)($|_)"
        ),
    ),
    ("phone or fax number", re.compile(r"(^|_)(phone|telephone|tel|fax|mobile|cell_?phone)(_|$)")),
    ("e-mail address", re.compile(r"(^|_)e_?mail(_|$)")),
    (
        "address",
        re.compile(
            r"(^|_)(address|street|addr|city|town|zip|zip_?code|postal_?code|postcode)(_|$)"
        ),
    ),
    ("social security number", re.compile(r"(^|_)(ssn|social_?security(_?(no|number))?)(_|$)")),
    (
        "account, plan or licence number",
        re.compile(
            r"(^|_)(account_?(no|num|number)|health_?plan|beneficiary|insurance_?id|"
            r"member_?id|licen[cs]e_?(no|number)?|medicaid|medicare)(_|$)"
        ),
    ),
    ("IP address or URL", re.compile(r"(^|_)(ip|ip_?address|url|uri|web_?address)(_|$)")),
    (
        "device serial number",
        re.compile(r"(^|_)(serial|serial_?(no|num|number)|device_?serial)(_|$)"),
    ),
]

_MONTH = r"(0?[1-9]|1[0-2])"
_DAY = r"(0?[1-9]|[12][0-9]|3[01])"
_YEAR = r"(19|20)\d\d"

# (kind, pattern on the stripped value)
_VALUE_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("social security number", re.compile(r"^\d{3}-\d{2}-\d{4}$")),
    ("e-mail address", re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")),
    (
        "phone or fax number",
        re.compile(r"^(\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}$"),
    ),
    (
        "full date",
        re.compile(
            rf"^({_YEAR}-{_MONTH}-{_DAY}([ T]\d\d:\d\d(:\d\d(\.\d+)?)?)?|{_MONTH}/{_DAY}/({_YEAR}|\d\d)|"
            rf"{_DAY}\.{_MONTH}\.{_YEAR}|{_YEAR}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01]))$"
        ),
    ),
    (
        "address",
        re.compile(
            r"^\d+\s+(\w+\s+){1,4}(st|street|ave|avenue|rd|road|blvd|boulevard|ln|lane|dr|drive|"
            r"ct|court|way|pl|place|hwy|highway)\.?(\b.*)?$",
            re.IGNORECASE,
        ),
    ),
    ("name", re.compile(r"^[A-Z][A-Za-z'-]+,\s*[A-Z][A-Za-z'-]+(\s+[A-Z]\.?)?$")),
    ("name", re.compile(r"^[A-Z][A-Za-z'-]+\^[A-Z][A-Za-z'-]+(\^.*)?$")),  # DICOM PN
    ("IP address or URL", re.compile(r"^(\d{1,3}\.){3}\d{1,3}$|^https?://", re.IGNORECASE)),
    (
        "medical record or accession number",
        re.compile(r"^(mrn|mr|acc|acn|an)[-_: ]?\d{4,}$", re.IGNORECASE),
    ),
]

_NUMERIC_ID = re.compile(r"^\d{7,10}$")
_FIRST_LAST = re.compile(r"^[A-Z][a-z]+(\s+[A-Z]\.?)?\s+[A-Z][a-z]+(-[A-Z][a-z]+)?$")
_AGE_NAME = re.compile(r"(^|_)(age|age_?years|patient_?age|age_?at_?\w+)$")


def _value_findings(column: str, values: pl.Series, share: float) -> list[IdentifierFinding]:
    text = values.drop_nulls().cast(pl.String).str.strip_chars()
    text = text.filter(text != "")
    total = text.len()
    if total == 0:
        return []
    found: list[IdentifierFinding] = []
    seen: set[str] = set()
    as_list = text.to_list()
    for kind, pattern in _VALUE_RULES:
        if kind in seen:
            continue
        hits = sum(1 for v in as_list if pattern.match(v))
        if hits and hits / total >= share:
            seen.add(kind)
            found.append(
                IdentifierFinding(
                    column, kind, "values", f"{hits} of {total} sampled values look like one"
                )
            )
    distinct = text.n_unique()
    unique_ratio = distinct / total
    if "medical record or accession number" not in seen and unique_ratio > 0.9 and total >= 5:
        hits = sum(1 for v in as_list if _NUMERIC_ID.match(v))
        if hits / total >= share:
            found.append(
                IdentifierFinding(
                    column,
                    "medical record or accession number",
                    "values",
                    f"{hits} of {total} sampled values are unique 7-10 digit numbers, "
                    "as MRNs and accession numbers are",
                )
            )
    if "name" not in seen and unique_ratio > 0.5 and total >= 5:
        hits = sum(1 for v in as_list if _FIRST_LAST.match(v))
        if hits / total >= max(share, 0.5):
            found.append(
                IdentifierFinding(
                    column,
                    "name",
                    "values",
                    f"{hits} of {total} sampled values look like 'First Last' names",
                )
            )
    return found


def _age_finding(column: str, values: pl.Series) -> IdentifierFinding | None:
    if not _AGE_NAME.search(_words(column)):
        return None
    ages = values.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False).drop_nulls()
    over = int((ages > 90).sum())
    if over == 0:
        return None
    return IdentifierFinding(
        column,
        "age over 89",
        "values",
        f"{over} sampled values are over 90; Safe Harbor asks for all ages of 90 or older "
        "to be grouped into one category (write 90)",
    )


def find_identifiers(
    sample: pl.DataFrame, *, share: float = 0.3, ignore: frozenset[str] = frozenset()
) -> list[IdentifierFinding]:
    """Columns of ``sample`` that look like Safe Harbor identifiers, and why.

    ``sample`` is a table of (up to a few thousand) rows; values are read as text.
    ``ignore`` names columns to skip (e.g. a ``synthetic`` flag column).
    """
    findings: list[IdentifierFinding] = []
    for column in sample.columns:
        if column in ignore:
            continue
        words = _words(column)
        by_name: set[str] = set()
        for kind, pattern in _NAME_RULES:
            if pattern.search(words):
                by_name.add(kind)
                findings.append(
                    IdentifierFinding(
                        column, kind, "column name", f"the name {column!r} suggests one"
                    )
                )
                break
        values = sample.get_column(column)
        for f in _value_findings(column, values, share):
            if f.kind not in by_name:
                findings.append(f)
        age = _age_finding(column, values)
        if age is not None:
            findings.append(age)
    return findings
