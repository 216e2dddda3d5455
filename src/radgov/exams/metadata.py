"""What a source knows about a study, checked and normalized before it becomes an ``Exam``.

:class:`StudyMetadata` takes the values as a source gives them (text or numbers; the field
names are the bulk file's column names, docs/exams.md) and :meth:`StudyMetadata.validated`
gives back the identifiers to pseudonymize and the ``Exam`` fields, or raises ``ExamError``
listing every bad field.  A message never repeats the value: a misplaced identifier would
be echoed.  :meth:`StudyMetadata.from_dicom` reads a dataset's attributes by DICOM keyword,
as the gateway has them.  No names, no birth date: the age becomes a five-year band.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

from django.utils import timezone

from radgov.dicom.criteria import parse_age
from radgov.exams.errors import ExamError, Problem
from radgov.exams.statuses import Contrast, Sex, age_band

UID_MAX = 64
_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
_CODE = re.compile(r"^[A-Z0-9_ ]+$")  # a DICOM code string (CS)
TEXT_LIMITS = {
    "site": 200,
    "modality": 16,
    "body_part": 64,
    "manufacturer": 64,
    "manufacturer_model": 64,
    "software_versions": 200,
    "station_name": 64,
    "protocol_name": 64,
    "series_description": 64,
    "contrast_agent": 64,
    "contrast_phase": 32,
}
IDENTIFIER_LIMITS = {
    "patient_id": 64,
    "patient_id_issuer": 64,
    "accession_number": 64,
    "accession_issuer": 64,
}
UPPER = ("modality", "body_part", "contrast_phase")
# (lowest, highest, is the lowest itself allowed?)
RANGES = {
    "slice_thickness_mm": (0.0, 100.0, False),
    "kvp": (20.0, 200.0, True),
    "pixel_spacing_mm": (0.0, 10.0, False),
}
CONTRASTS = frozenset(Contrast.values)  # an enum's values are worked out at each call
SEXES = frozenset(Sex.values)
MAX_AGE_YEARS = 130
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
FUTURE_SLACK = dt.timedelta(days=1)  # time zones and scanner clocks


@dataclass(frozen=True)
class ValidStudy:
    study_uid: str
    patient_id: str
    patient_issuer: str
    accession_number: str
    accession_issuer: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class StudyMetadata:
    study_instance_uid: str
    patient_id: str = ""
    patient_id_issuer: str = ""
    accession_number: str = ""
    accession_issuer: str = ""
    site: str = ""
    study_datetime: dt.datetime | str | None = None
    modality: str = ""
    body_part: str = ""
    manufacturer: str = ""
    manufacturer_model: str = ""
    software_versions: str = ""
    station_name: str = ""
    protocol_name: str = ""
    series_description: str = ""
    slice_thickness_mm: float | str | None = None
    kvp: float | str | None = None
    pixel_spacing_mm: float | str | None = None
    contrast: str = ""
    contrast_agent: str = ""
    contrast_phase: str = ""
    patient_age: float | str | None = None
    patient_sex: str = ""

    @classmethod
    @cache  # asked for each key of each row of a bulk file
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    # every DICOM keyword ``from_dicom`` reads: a reader may read only these from a header
    DICOM_KEYWORDS = (
        "StudyInstanceUID",
        "PatientID",
        "IssuerOfPatientID",
        "AccessionNumber",
        "StudyDate",
        "StudyTime",
        "Modality",
        "BodyPartExamined",
        "Manufacturer",
        "ManufacturerModelName",
        "SoftwareVersions",
        "StationName",
        "ProtocolName",
        "SeriesDescription",
        "SliceThickness",
        "KVP",
        "PixelSpacing",
        "ContrastBolusAgent",
        "ContrastBolusAgentPhase",
        "PatientAge",
        "PatientSex",
    )

    @classmethod
    def from_dicom(cls, attributes: Mapping[str, Any], *, site: str = "") -> StudyMetadata:
        """From a study's attributes by DICOM keyword (pydicom values or plain ones).

        The Contrast/Bolus module is present only when contrast was used (PS3.3), so
        without ``ContrastBolusAgent`` the study had none, and an empty agent means contrast
        of an unrecorded agent.
        """

        def text(keyword: str) -> str:
            value = attributes.get(keyword)
            if value is None:
                return ""
            if isinstance(value, Sequence) and not isinstance(value, str | bytes):
                return "\\".join(str(v).strip() for v in value)
            return str(value).strip()

        spacing = text("PixelSpacing").split("\\")[0]
        has_contrast = "ContrastBolusAgent" in attributes
        return cls(
            study_instance_uid=text("StudyInstanceUID"),
            patient_id=text("PatientID"),
            patient_id_issuer=text("IssuerOfPatientID"),
            accession_number=text("AccessionNumber"),
            site=site,
            study_datetime=_dicom_datetime(text("StudyDate"), text("StudyTime")),
            modality=text("Modality"),
            body_part=text("BodyPartExamined"),
            manufacturer=text("Manufacturer"),
            manufacturer_model=text("ManufacturerModelName"),
            software_versions=text("SoftwareVersions"),
            station_name=text("StationName"),
            protocol_name=text("ProtocolName"),
            series_description=text("SeriesDescription"),
            slice_thickness_mm=text("SliceThickness") or None,
            kvp=text("KVP") or None,
            pixel_spacing_mm=spacing or None,
            contrast=Contrast.YES if has_contrast else Contrast.NO,
            contrast_agent=text("ContrastBolusAgent"),
            contrast_phase=text("ContrastBolusAgentPhase"),
            patient_age=text("PatientAge") or None,
            patient_sex=text("PatientSex"),
        )

    def validated(self, *, now: dt.datetime | None = None) -> ValidStudy:
        """The identifiers and the ``Exam`` fields, or ``ExamError`` listing every problem;
        ``now``: the time a date is checked against (a batch reads the clock once)."""
        check = _Check(now=now or timezone.now())
        uid = _clean(self.study_instance_uid)
        if not uid:
            check.add("study_instance_uid", "is required")
        elif not is_uid(uid):
            check.add(
                "study_instance_uid",
                f"is not a DICOM UID (digits and dots, no leading zeros, at most {UID_MAX} characters)",
            )
        ids = {name: _clean(getattr(self, name)) for name in IDENTIFIER_LIMITS}
        for name, limit in IDENTIFIER_LIMITS.items():
            if len(ids[name]) > limit:
                check.add(name, f"is longer than {limit} characters")
        if ids["accession_number"] and not ids["patient_id"]:
            check.add("accession_number", "needs patient_id (an accession belongs to one patient)")
        values: dict[str, Any] = {}
        for name, limit in TEXT_LIMITS.items():
            text = _clean(getattr(self, name))
            if name in UPPER:
                text = text.upper()
            if len(text) > limit:
                check.add(name, f"is longer than {limit} characters")
            values[name] = text
        for name in ("modality", "body_part"):
            if values[name] and not _CODE.match(values[name]):
                check.add(name, "may hold only capital letters, digits, spaces and underscores")
        if " " in values["modality"]:
            check.add("modality", "may not contain spaces")
        for name, (low, high, low_ok) in RANGES.items():
            values[name] = check.number(name, getattr(self, name), low, high, low_ok)
        values["study_datetime"] = check.moment("study_datetime", self.study_datetime)
        values["contrast"] = check.contrast(self.contrast, values["contrast_agent"])
        values["age_band"] = check.age(self.patient_age)
        values["sex"] = check.sex(self.patient_sex)
        if check.problems:
            raise ExamError(check.problems)
        return ValidStudy(
            study_uid=uid,
            patient_id=ids["patient_id"],
            patient_issuer=ids["patient_id_issuer"],
            accession_number=ids["accession_number"],
            accession_issuer=ids["accession_issuer"],
            fields=values,  # every one of EXAM_FIELDS
        )


EXAM_FIELDS = (
    "site",
    "study_datetime",
    "modality",
    "body_part",
    "manufacturer",
    "manufacturer_model",
    "software_versions",
    "station_name",
    "protocol_name",
    "series_description",
    "slice_thickness_mm",
    "kvp",
    "pixel_spacing_mm",
    "contrast",
    "contrast_agent",
    "contrast_phase",
    "age_band",
    "sex",
)


def read_datetime(value: object, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """An aware date and time from a ``datetime`` or ISO 8601 text (naive: the server's time
    zone), between 1900 and tomorrow; None for nothing; ``ValueError`` saying what is wrong.
    ``now``: the time to check against, when a batch reads many (default: the clock)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    when = value
    if isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                "is not an ISO 8601 date and time (e.g. 2026-03-01T10:15:00+01:00)"
            ) from None
    if not isinstance(when, dt.datetime):
        raise ValueError("is not a date and time")
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    if when < EARLIEST or when > (now or timezone.now()) + FUTURE_SLACK:
        raise ValueError("is before 1900 or in the future")
    return when


def is_uid(value: str) -> bool:
    """A DICOM UID: digits and dots, no leading zeros in a component, at most 64 characters."""
    return len(value) <= UID_MAX and bool(_UID.match(value))


def _clean(value: object) -> str:
    if type(value) is str:
        return value.strip()
    return "" if value is None else str(value).strip()


def _dicom_datetime(date: str, time: str) -> str | None:
    """ISO 8601 text from DICOM DA and TM values (the server's time zone is assumed);
    something that will not parse (and is refused) when they are not DICOM values."""
    if not date:
        return None
    digits = re.sub(r"[^0-9.]", "", time)
    whole, _, fraction = digits.partition(".")
    if len(date) != 8 or not date.isdigit() or len(whole) not in (0, 2, 4, 6):
        return "not a DICOM date and time"
    whole = whole.ljust(6, "0")
    iso = f"{date[:4]}-{date[4:6]}-{date[6:]}T{whole[:2]}:{whole[2:4]}:{whole[4:]}"
    return f"{iso}.{fraction[:6].ljust(6, '0')}" if fraction else iso


def as_number(value: object) -> float | None:
    """A finite float from a number or numeric text; None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value) if isinstance(value, int | float) else float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@dataclass
class _Check:
    now: dt.datetime
    problems: list[Problem] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.problems.append(Problem(name, message))

    def number(
        self, name: str, value: object, low: float, high: float, low_ok: bool
    ) -> float | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        number = as_number(value)
        if number is None or not (number >= low if low_ok else number > low) or number > high:
            bound = "at least" if low_ok else "more than"
            self.add(name, f"must be a number {bound} {low:g} and at most {high:g}")
            return None
        return number

    def moment(self, name: str, value: object) -> dt.datetime | None:
        try:
            return read_datetime(value, now=self.now)
        except ValueError as exc:
            self.add(name, str(exc))
            return None

    def contrast(self, value: str, agent: str) -> str:
        given = _clean(value).lower()
        if given and given not in CONTRASTS:
            self.add("contrast", f"must be one of {', '.join(Contrast.values)}")
            return Contrast.UNKNOWN
        if agent and given == Contrast.NO:
            self.add("contrast_agent", "is given but contrast is 'no'")
        if not given or given == Contrast.UNKNOWN:
            return Contrast.YES if agent else Contrast.UNKNOWN
        return given

    def age(self, value: object) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip()
        years = 90.0 if text == "90+" else parse_age(value)
        if years is None and not isinstance(value, int | float):
            years = parse_age(as_number(text))
        if years is None or not 0 <= years <= MAX_AGE_YEARS:
            self.add(
                "patient_age",
                f"must be an age in years from 0 to {MAX_AGE_YEARS}, or a DICOM age such as 065Y",
            )
            return None
        return age_band(years)

    def sex(self, value: str) -> str:
        given = _clean(value).upper()
        if given in ("", "U"):
            return ""
        if given not in SEXES:
            self.add("patient_sex", "must be M, F or O (empty when unknown)")
            return ""
        return given
