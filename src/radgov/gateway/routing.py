"""Which deployments get a study, and why not (IV.B.2.f, III.E.1.d; docs/gateway.md).

A deployment's criteria (``radgov.dicom.criteria.Criteria``) are applied in two parts:

* who the model is for (modality, body part, age, sex, manufacturer, protocol): a study
  outside them is **excluded**, with every criterion it missed and the value;
* how the IFU says the images must be acquired (slice thickness, kVp, contrast): a study
  that is for the model but acquired otherwise is **rejected** with a reason a technologist
  can fix at the scanner, and goes to the remediation queue.

A study that meets both is **queued** for the model.  Pure: no Django, no database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

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


def decide(criteria: Criteria, attributes: Mapping[str, object]) -> Decision:
    """The decision for one deployment's ``criteria`` on a study's attributes (by DICOM
    keyword, as ``Criteria.evaluate`` reads them)."""
    admitted, reasons = _without_acquisition(criteria).evaluate(attributes)
    if not admitted:
        return Decision(EXCLUDED, "criteria_not_met", tuple(reasons))
    first, missed = "", []
    for code, names in ACQUISITION.items():
        ok, why = _only(criteria, names).evaluate(attributes)
        if not ok:
            first = first or code
            missed.extend(why)
    if missed:
        return Decision(REJECTED, first, tuple(missed))
    return Decision(QUEUED, "", ())
