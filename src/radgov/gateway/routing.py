"""Which deployments get a study, and why not (IV.B.2.f, III.E.1.d; docs/gateway.md).

A deployment's criteria (``radgov.dicom.criteria.Criteria``) are applied in two parts:

* who the model is for (modality, body part, age, sex, manufacturer, protocol): a study
  outside them is **excluded**, with every criterion it missed and the value;
* how the IFU says the images must be acquired (slice thickness, kVp, contrast): a study
  that is for the model but acquired otherwise is **rejected** with a reason a technologist
  can fix at the scanner, and goes to the remediation queue.

A study that meets both is **queued** for the model.  Pure: no Django, no database.

A deployment's criteria are read and split into their two parts once for as long as they do
not change (``criteria_of``, ``compiled``: cached by their JSON text), and applied per study.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from radgov.dicom.criteria import Criteria

QUEUED, EXCLUDED, REJECTED = "queued", "excluded", "rejected"

# the acquisition constraints, each with the reason code of the exams catalogue
ACQUISITION = {
    "slice_thickness": ("min_slice_thickness_mm", "max_slice_thickness_mm"),
    "kvp": ("min_kvp", "max_kvp"),
    "contrast": ("contrast",),
}
_UNSET = {"contrast": "any"}


@dataclass(frozen=True)
class Decision:
    outcome: str  # queued, excluded or rejected
    reason_code: str  # the exams reason code ("" when queued)
    reasons: tuple[str, ...]  # every constraint missed, in words


def _only(criteria: Criteria, names: tuple[str, ...]) -> Criteria:
    """``criteria`` keeping only the constraints ``names``."""
    kept = {name: getattr(criteria, name) for name in names}
    return dataclasses.replace(Criteria(), **kept)


def _without_acquisition(criteria: Criteria) -> Criteria:
    cleared = {name: _UNSET.get(name) for names in ACQUISITION.values() for name in names}
    return dataclasses.replace(criteria, **cleared)


@dataclass(frozen=True)
class Compiled:
    """A deployment's criteria split once into who the model is for and each acquisition
    constraint, with the form recorded on every route."""

    who: Criteria
    acquisition: tuple[tuple[str, Criteria], ...]
    applied: Mapping[str, Any]  # criteria.to_dict(): not to be changed by callers

    def decide(self, attributes: Mapping[str, object]) -> Decision:
        admitted, reasons = self.who.evaluate(attributes)
        if not admitted:
            return Decision(EXCLUDED, "criteria_not_met", tuple(reasons))
        first, missed = "", []
        for code, part in self.acquisition:
            ok, why = part.evaluate(attributes)
            if not ok:
                first = first or code
                missed.extend(why)
        if missed:
            return Decision(REJECTED, first, tuple(missed))
        return Decision(QUEUED, "", ())


@functools.lru_cache(maxsize=1024)
def compiled(criteria: Criteria) -> Compiled:
    return Compiled(
        who=_without_acquisition(criteria),
        acquisition=tuple((code, _only(criteria, names)) for code, names in ACQUISITION.items()),
        applied=criteria.to_dict(),
    )


def criteria_of(inclusion_criteria: Mapping[str, Any] | str | None) -> Criteria:
    """A deployment's ``inclusion_criteria`` (as loaded, or the database's JSON text of them)
    read as ``Criteria`` (``CriteriaError`` when they cannot be), read again only when they
    change."""
    if not isinstance(inclusion_criteria, str):
        inclusion_criteria = json.dumps(inclusion_criteria or {}, sort_keys=True)
    return _parsed(inclusion_criteria)


@functools.lru_cache(maxsize=1024)
def _parsed(key: str) -> Criteria:
    return Criteria.from_dict(json.loads(key) or {})


def decide(criteria: Criteria, attributes: Mapping[str, object]) -> Decision:
    """The decision for one deployment's ``criteria`` on a study's attributes (by DICOM
    keyword, as ``Criteria.evaluate`` reads them)."""
    return compiled(criteria).decide(attributes)
