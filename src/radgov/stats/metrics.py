"""The registry of radgov's metrics: every public function that turns cases into an
:class:`~radgov.stats.results.Estimate`, under the name a protocol gives it, with the kind
of case arrays it reads.

The registry is what the contract of ARCHITECTURE.md rule 7 is tested over
(``tests/stats/test_common.py``, as scikit-learn's ``check_estimator``): keyword-only
options, a frozen result with the estimate, the interval, the method and n, the same answer
whatever the order of the cases, and a refusal or a not-estimable result on data that cannot
give a number.  A new metric is registered here, or the test says it is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .agreement import concordance_correlation, icc, mean_absolute_error
from .calibration import brier_score_loss
from .classification import (
    accuracy_score,
    f1_score,
    npv_score,
    ppv_score,
    sensitivity_score,
    specificity_score,
)
from .detection import lesion_sensitivity
from .results import Estimate
from .roc import roc_auc_score
from .segmentation import dice_summary

__all__ = ["METRICS", "Inputs", "Metric"]

# labels: (y_true, y_pred) of 0/1; scores: (y_true, y_score); probabilities: (y_true, y_prob)
# in [0, 1]; paired: two measurements (a, b) of each case; ratings: one row of raters' values
# per case; per_case: one value per case (a Dice coefficient); detections: per image, its
# lesions, its detections and their scores
Inputs = Literal["labels", "scores", "probabilities", "paired", "ratings", "per_case", "detections"]


@dataclass(frozen=True)
class Metric:
    name: str  # as an acceptance-test protocol names it
    function: Callable[..., Estimate]
    inputs: Inputs
    not_estimable_when: str  # the data it can give no number for, in words


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("sensitivity", sensitivity_score, "labels", "no positive cases"),
        Metric("specificity", specificity_score, "labels", "no negative cases"),
        Metric("ppv", ppv_score, "labels", "no positive predictions"),
        Metric("npv", npv_score, "labels", "no negative predictions"),
        Metric("accuracy", accuracy_score, "labels", "no cases"),
        Metric("f1", f1_score, "labels", "no positive cases"),
        Metric("auc", roc_auc_score, "scores", "one class only"),
        Metric("brier", brier_score_loss, "probabilities", "no cases"),
        Metric("mae", mean_absolute_error, "paired", "no cases"),
        Metric("ccc", concordance_correlation, "paired", "a measurement with no variation"),
        Metric("icc", icc, "ratings", "a single case"),
        Metric("dice", dice_summary, "per_case", "a single case"),
        Metric("lesion_sensitivity", lesion_sensitivity, "detections", "no lesions"),
    )
}
