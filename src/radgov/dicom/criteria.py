"""Inclusion and exclusion criteria of a deployment, as data (practice parameter IV.B.2.f).

A :class:`Criteria` says which studies a model may see: modality, body part, age
range, sex, manufacturer, protocol name patterns and acquisition limits (slice
thickness, kVp, contrast).  It is stored as a plain dict (:meth:`Criteria.to_dict`,
:meth:`Criteria.from_dict`, which validates strictly and names the offending key)
and evaluated against a study's DICOM attributes by keyword
(:meth:`Criteria.evaluate`), so the routing engine, the inventory pages and an
acceptance-test dataset filter all apply the same rule.

An empty constraint admits everything.  When a constraint is set but the study
lacks the attribute it needs, the study is excluded and the reason says which
attribute was missing: a model is never run on a study nobody could check.

Pure Python: no Django import (ARCHITECTURE.md rule 1).
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

__all__ = ["Criteria", "CriteriaError", "parse_age"]

Contrast = Literal["yes", "no", "any"]
SEXES = ("M", "F", "O")
_AGE = re.compile(r"^(\d{3})([DWMY])$")
_DAYS_PER_YEAR = 365.25
_UNIT_YEARS = {"D": 1 / _DAYS_PER_YEAR, "W": 7 / _DAYS_PER_YEAR, "M": 1 / 12, "Y": 1.0}


class CriteriaError(ValueError):
    """A criteria dict that cannot be used; ``key`` names the offending key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"inclusion criteria, {key!r}: {message}")
        self.key = key


def parse_age(value: object) -> float | None:
    """Age in years from a DICOM Age String ("065Y", "018M", "003W", "010D") or a number.

    None when the value is absent or not an age.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) and value >= 0 else None
    text = str(value).strip().upper()
    match = _AGE.match(text)
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_YEARS[match.group(2)]


def _number(value: object) -> float | None:
    """A DICOM DS/IS value (number, numeric string, or the first of a multi-value) as float."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, list | tuple):
        return _number(value[0]) if value else None
    try:
        number = float(str(value).strip()) if not isinstance(value, int | float) else float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _strings(data: Mapping[str, Any], key: str, *, upper: bool) -> tuple[str, ...]:
    value = data.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise CriteriaError(key, f"must be a list of strings, not {type(value).__name__}")
    out = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise CriteriaError(key, f"every entry must be a non-empty string; got {item!r}")
        out.append(item.strip().upper() if upper else item.strip())
    return tuple(dict.fromkeys(out))


# The largest value a person could mean, per kind of criterion: PatientAge (years),
# SliceThickness (mm) and KVP.  Anything above is a typing slip and is refused.
LIMITS = {"age_years": (130.0, "years"), "slice_thickness_mm": (50.0, "mm"), "kvp": (200.0, "kVp")}


def _optional_number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CriteriaError(key, f"must be a number, not {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise CriteriaError(key, f"must be a number, not {value!r}") from None
    limit, unit = LIMITS[key.split("_", 1)[1]]
    if not math.isfinite(number) or not 0 <= number <= limit:
        raise CriteriaError(key, f"must be from 0 to {limit:g} ({unit}), not {value!r}")
    return number


def _check_range(low: float | None, high: float | None, low_key: str, high_key: str) -> None:
    if low is not None and high is not None and low > high:
        raise CriteriaError(low_key, f"{low:g} is greater than {high_key} {high:g}")


def _fmt(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Criteria:
    """Which studies a deployment admits.  Every constraint left empty admits all."""

    modalities: tuple[str, ...] = ()  # Modality, e.g. ("CT",)
    body_parts: tuple[str, ...] = ()  # BodyPartExamined, e.g. ("HEAD", "BRAIN")
    min_age_years: float | None = None  # PatientAge
    max_age_years: float | None = None
    sexes: tuple[str, ...] = ()  # PatientSex: M, F, O
    manufacturers: tuple[str, ...] = ()  # Manufacturer, case-insensitive fnmatch patterns
    protocol_patterns: tuple[str, ...] = ()  # ProtocolName, case-insensitive fnmatch patterns
    min_slice_thickness_mm: float | None = None  # SliceThickness
    max_slice_thickness_mm: float | None = None
    min_kvp: float | None = None  # KVP
    max_kvp: float | None = None
    contrast: Contrast = "any"  # ContrastBolusAgent present (yes) or absent (no)

    KEYS = (
        "modalities",
        "body_parts",
        "min_age_years",
        "max_age_years",
        "sexes",
        "manufacturers",
        "protocol_patterns",
        "min_slice_thickness_mm",
        "max_slice_thickness_mm",
        "min_kvp",
        "max_kvp",
        "contrast",
    )
    # every DICOM keyword ``evaluate`` reads: a reader may read only these from a header
    KEYWORDS = (
        "Modality",
        "BodyPartExamined",
        "PatientAge",
        "PatientSex",
        "Manufacturer",
        "ProtocolName",
        "SliceThickness",
        "KVP",
        "ContrastBolusAgent",
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Criteria:
        """Validate and build; raises :class:`CriteriaError` naming the first bad key."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise CriteriaError("(criteria)", f"must be an object, not {type(data).__name__}")
        for key in data:
            if key not in cls.KEYS:
                raise CriteriaError(str(key), f"unknown key; known keys are {', '.join(cls.KEYS)}")
        sexes = _strings(data, "sexes", upper=True)
        for sex in sexes:
            if sex not in SEXES:
                raise CriteriaError("sexes", f"{sex!r} is not a DICOM PatientSex (M, F or O)")
        contrast = data.get("contrast", "any")
        if contrast is None or contrast == "":
            contrast = "any"
        if contrast not in ("yes", "no", "any"):
            raise CriteriaError("contrast", f"must be 'yes', 'no' or 'any', not {contrast!r}")
        criteria = cls(
            modalities=_strings(data, "modalities", upper=True),
            body_parts=_strings(data, "body_parts", upper=True),
            min_age_years=_optional_number(data, "min_age_years"),
            max_age_years=_optional_number(data, "max_age_years"),
            sexes=sexes,
            manufacturers=_strings(data, "manufacturers", upper=False),
            protocol_patterns=_strings(data, "protocol_patterns", upper=False),
            min_slice_thickness_mm=_optional_number(data, "min_slice_thickness_mm"),
            max_slice_thickness_mm=_optional_number(data, "max_slice_thickness_mm"),
            min_kvp=_optional_number(data, "min_kvp"),
            max_kvp=_optional_number(data, "max_kvp"),
            contrast=contrast,
        )
        _check_range(
            criteria.min_age_years, criteria.max_age_years, "min_age_years", "max_age_years"
        )
        _check_range(
            criteria.min_slice_thickness_mm,
            criteria.max_slice_thickness_mm,
            "min_slice_thickness_mm",
            "max_slice_thickness_mm",
        )
        _check_range(criteria.min_kvp, criteria.max_kvp, "min_kvp", "max_kvp")
        return criteria

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict that :meth:`from_dict` reads back to an equal object."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @property
    def is_empty(self) -> bool:
        return self == Criteria()

    def describe(self) -> list[str]:
        """The constraints in plain words, one line each (empty: admits every study)."""
        lines = []
        if self.modalities:
            lines.append(f"Modality: {', '.join(self.modalities)}")
        if self.body_parts:
            lines.append(f"Body part: {', '.join(self.body_parts)}")
        if self.min_age_years is not None or self.max_age_years is not None:
            low = _fmt(self.min_age_years) if self.min_age_years is not None else "any"
            high = _fmt(self.max_age_years) if self.max_age_years is not None else "any"
            lines.append(f"Age (years): {low} to {high}")
        if self.sexes:
            lines.append(f"Sex: {', '.join(self.sexes)}")
        if self.manufacturers:
            lines.append(f"Manufacturer: {', '.join(self.manufacturers)}")
        if self.protocol_patterns:
            lines.append(f"Protocol name matches: {', '.join(self.protocol_patterns)}")
        if self.min_slice_thickness_mm is not None or self.max_slice_thickness_mm is not None:
            low = (
                _fmt(self.min_slice_thickness_mm)
                if self.min_slice_thickness_mm is not None
                else "any"
            )
            high = (
                _fmt(self.max_slice_thickness_mm)
                if self.max_slice_thickness_mm is not None
                else "any"
            )
            lines.append(f"Slice thickness (mm): {low} to {high}")
        if self.min_kvp is not None or self.max_kvp is not None:
            low = _fmt(self.min_kvp) if self.min_kvp is not None else "any"
            high = _fmt(self.max_kvp) if self.max_kvp is not None else "any"
            lines.append(f"kVp: {low} to {high}")
        if self.contrast != "any":
            lines.append("Contrast: required" if self.contrast == "yes" else "Contrast: none")
        return lines

    def evaluate(self, attributes: Mapping[str, object]) -> tuple[bool, list[str]]:
        """(included?, reasons for exclusion) for a study's attributes by DICOM keyword.

        Every failing constraint gives one reason, so the caller sees all of them.
        """
        reasons: list[str] = []
        self._check_set(attributes, "Modality", self.modalities, reasons)
        self._check_set(attributes, "BodyPartExamined", self.body_parts, reasons)
        self._check_age(attributes, reasons)
        self._check_set(attributes, "PatientSex", self.sexes, reasons)
        self._check_patterns(attributes, "Manufacturer", self.manufacturers, reasons)
        self._check_patterns(attributes, "ProtocolName", self.protocol_patterns, reasons)
        self._check_range(
            attributes,
            "SliceThickness",
            self.min_slice_thickness_mm,
            self.max_slice_thickness_mm,
            "mm",
            reasons,
        )
        self._check_range(attributes, "KVP", self.min_kvp, self.max_kvp, "kVp", reasons)
        if self.contrast != "any":
            agent = _text(attributes.get("ContrastBolusAgent"))
            if self.contrast == "yes" and not agent:
                reasons.append("ContrastBolusAgent is empty but the criteria require contrast")
            if self.contrast == "no" and agent:
                reasons.append(
                    f"ContrastBolusAgent {agent!r} present but the criteria admit only non-contrast studies"
                )
        return not reasons, reasons

    @staticmethod
    def _check_set(
        attributes: Mapping[str, object], keyword: str, allowed: tuple[str, ...], reasons: list[str]
    ) -> None:
        if not allowed:
            return
        value = _text(attributes.get(keyword)).upper()
        if not value:
            reasons.append(f"{keyword} missing; the criteria require one of {', '.join(allowed)}")
        elif value not in allowed:
            reasons.append(f"{keyword} {value!r} is not one of {', '.join(allowed)}")

    @staticmethod
    def _check_patterns(
        attributes: Mapping[str, object],
        keyword: str,
        patterns: tuple[str, ...],
        reasons: list[str],
    ) -> None:
        if not patterns:
            return
        value = _text(attributes.get(keyword))
        if not value:
            reasons.append(
                f"{keyword} missing; the criteria require a match of {', '.join(patterns)}"
            )
        elif not any(fnmatch.fnmatchcase(value.upper(), p.upper()) for p in patterns):
            reasons.append(f"{keyword} {value!r} matches none of {', '.join(patterns)}")

    def _check_age(self, attributes: Mapping[str, object], reasons: list[str]) -> None:
        if self.min_age_years is None and self.max_age_years is None:
            return
        raw = attributes.get("PatientAge")
        age = parse_age(raw)
        if age is None:
            shown = "missing" if raw in (None, "") else f"{raw!r} is not a DICOM age (e.g. 065Y)"
            reasons.append(f"PatientAge {shown}; the criteria set an age range")
        elif self.min_age_years is not None and age < self.min_age_years:
            reasons.append(
                f"PatientAge {_fmt(round(age, 2))} years is below {_fmt(self.min_age_years)}"
            )
        elif self.max_age_years is not None and age > self.max_age_years:
            reasons.append(
                f"PatientAge {_fmt(round(age, 2))} years is above {_fmt(self.max_age_years)}"
            )

    @staticmethod
    def _check_range(
        attributes: Mapping[str, object],
        keyword: str,
        low: float | None,
        high: float | None,
        unit: str,
        reasons: list[str],
    ) -> None:
        if low is None and high is None:
            return
        raw = attributes.get(keyword)
        value = _number(raw)
        if value is None:
            shown = "missing" if raw in (None, "") else f"{raw!r} is not a number"
            reasons.append(f"{keyword} {shown}; the criteria set limits on it")
        elif low is not None and value < low:
            reasons.append(
                f"{keyword} {_fmt(value)} {unit} is below the minimum {_fmt(low)} {unit}"
            )
        elif high is not None and value > high:
            reasons.append(
                f"{keyword} {_fmt(value)} {unit} is above the maximum {_fmt(high)} {unit}"
            )
