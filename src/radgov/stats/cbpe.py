"""Label-free performance estimate from calibrated scores (confidence-based, CBPE).

When the report-derived truth has not arrived, a model whose scores are calibrated probabilities
still says how often it should be right: a case scored ``p`` and called positive (``p >= t``)
is a true positive with probability ``p`` and a false positive with probability ``1 - p``.
Summing over the cases gives the expected confusion matrix (NannyML's confidence-based
performance estimation, CBPE; NannyML documentation, "Confidence-based Performance Estimation:
how it works"):

``E[TP] = sum_{p >= t} p``, ``E[FP] = sum_{p >= t} (1 - p)``, ``E[FN] = sum_{p < t} p``,
``E[TN] = sum_{p < t} (1 - p)``

and the estimates sensitivity ``E[TP] / (E[TP] + E[FN])``, specificity
``E[TN] / (E[TN] + E[FP])``, PPV ``E[TP] / #(p >= t)``, NPV ``E[TN] / #(p < t)`` and accuracy
``(E[TP] + E[TN]) / N``.  Their interval: with the truths independent Bernoulli(p), TP, FN, TN and
FP are sums of independent Bernoullis with variances ``sum p (1 - p)`` over the cases of each
call, and the delta method gives the variance of each ratio (for sensitivity,
``(E[FN]^2 Var TP + E[TP]^2 Var FN) / (E[TP] + E[FN])^4``).  The interval says where the
period's actual metric (unknown until the truth arrives) should lie if the scores are
calibrated; it does not cover a miscalibration.

The estimate is valid only for calibrated scores, so :func:`check_calibration` first tests the
scores on reference data with truth (the acceptance-test cases): Spiegelhalter's Z test and the
Hosmer-Lemeshow test of :mod:`radgov.stats.calibration`, and refuses with the reason when either
rejects calibration at ``alpha`` or when there are too few cases to tell.
:func:`estimate_performance` then refuses to estimate unless the check passed.  Every metric's
``method`` begins with "estimated", and the result's ``is_estimate`` is always True.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from numpy.typing import ArrayLike

from ._validation import (
    check_binary,
    check_confidence_level,
    check_probabilities,
    check_weights,
    z_value,
)
from .calibration import expected_calibration_error, hosmer_lemeshow_test, spiegelhalter_z_test
from .results import Estimate

__all__ = ["CalibrationCheck", "PerformanceEstimate", "check_calibration", "estimate_performance"]

METRICS = ("sensitivity", "specificity", "ppv", "npv", "accuracy")
MIN_PER_CLASS = 20


@dataclass(frozen=True, slots=True)
class CalibrationCheck:
    """Whether the scores may be read as probabilities, and why not when they may not."""

    calibrated: bool
    reason: str | None
    spiegelhalter_z: float
    spiegelhalter_p: float
    hosmer_lemeshow: float
    hosmer_lemeshow_p: float
    expected_calibration_error: float
    alpha: float
    n: int
    n_positive: int


def check_calibration(
    y_true: ArrayLike, y_prob: ArrayLike, *, alpha: float = 0.05, groups: int = 10,
    sample_weight: ArrayLike | None = None,
) -> CalibrationCheck:  # fmt: skip
    """Test calibration on reference cases with truth; refuse below ``MIN_PER_CLASS`` per class.
    ``sample_weight``: each case's count (binned cases), as if each were repeated."""
    truth = check_binary(y_true, "y_true")
    prob = check_probabilities(y_prob, "y_prob")
    if truth.shape != prob.shape:
        raise ValueError(
            f"y_true and y_prob must have the same length; got {truth.size} and {prob.size}"
        )
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1; got {alpha!r}")
    weight = check_weights(sample_weight, prob.size)
    n, positives = int(weight.sum()), int(weight[truth].sum())
    nan = float("nan")
    if min(positives, n - positives) < MIN_PER_CLASS:
        reason = (
            f"too few reference cases to check calibration: {positives} positive and "
            f"{n - positives} negative, at least {MIN_PER_CLASS} of each are needed"
        )
        return CalibrationCheck(False, reason, nan, nan, nan, nan, nan, alpha, n, positives)
    z = spiegelhalter_z_test(truth, prob, sample_weight=weight)
    hl = hosmer_lemeshow_test(truth, prob, groups=groups, sample_weight=weight)
    ece = expected_calibration_error(truth, prob, sample_weight=weight)
    reasons = []
    if z.p_value < alpha:
        reasons.append(
            f"Spiegelhalter's test rejects calibration (Z = {z.statistic:.2f}, p = {z.p_value:.2g})"
        )
    if hl.p_value < alpha:
        reasons.append(
            f"the Hosmer-Lemeshow test rejects calibration (C = {hl.statistic:.1f} on "
            f"{hl.dof} degrees of freedom, p = {hl.p_value:.2g})"
        )
    why = None
    if reasons:
        why = (
            "; ".join(reasons)
            + f" at alpha = {alpha:g}: mean score {float(weight @ prob) / n:.3f} against an "
            f"observed rate of "
            f"{positives / n:.3f}, expected calibration error {ece:.3f}"
        )
    return CalibrationCheck(
        calibrated=not reasons,
        reason=why,
        spiegelhalter_z=z.statistic,
        spiegelhalter_p=z.p_value,
        hosmer_lemeshow=hl.statistic,
        hosmer_lemeshow_p=hl.p_value,
        expected_calibration_error=ece,
        alpha=alpha,
        n=n,
        n_positive=positives,
    )


@dataclass(frozen=True, slots=True)
class PerformanceEstimate:
    """Estimated (not measured) metrics of one period, or the reason there are none."""

    metrics: dict[str, Estimate]
    expected_tp: float
    expected_fp: float
    expected_tn: float
    expected_fn: float
    threshold: float | None
    calibration: CalibrationCheck
    n: int
    reason: str | None = None
    is_estimate: bool = True
    method: str = "estimated by CBPE from calibrated scores (not measured)"

    @property
    def estimable(self) -> bool:
        return self.reason is None


def _interval(value: float, sd: float, n: int, z: float, level: float) -> Estimate:
    method = "estimated by CBPE (delta method)"
    return Estimate(value, max(0.0, value - z * sd), min(1.0, value + z * sd), method, n, level)


def _ratio(
    a: float, var_a: float, b: float, var_b: float, n: int, z: float, level: float
) -> Estimate:
    """``a / (a + b)`` for independent sums a and b (cases of different calls)."""
    total = a + b
    if total <= 0:
        return Estimate.not_estimable(
            "no expected cases",
            method="estimated by CBPE (delta method)",
            n=n,
            confidence_level=level,
        )
    sd = math.sqrt(b**2 * var_a + a**2 * var_b) / total**2
    return _interval(a / total, sd, n, z, level)


def _share(a: float, var_a: float, count: int, n: int, z: float, level: float) -> Estimate:
    """``a / count`` for a fixed number of cases ``count`` (PPV, NPV, accuracy)."""
    if count == 0:
        return Estimate.not_estimable(
            "no cases", method="estimated by CBPE (delta method)", n=n, confidence_level=level
        )
    return _interval(a / count, math.sqrt(var_a) / count, n, z, level)


def estimate_performance(
    y_prob: ArrayLike,
    *,
    calibration: CalibrationCheck,
    threshold: float | None = None,
    y_pred: ArrayLike | None = None,
    confidence_level: float = 0.95,
    sample_weight: ArrayLike | None = None,
) -> PerformanceEstimate:
    """Expected sensitivity, specificity, PPV, NPV and accuracy of one period's scores.

    The calls are either ``p >= threshold`` or, as NannyML's CBPE takes them, the model's own
    predicted labels ``y_pred`` (1 positive, 0 negative); give exactly one.  ``calibration``
    is the reference check; when it did not pass, every metric is not estimable and
    ``reason`` repeats why.  ``sample_weight``: each case's count (binned cases), as if each
    were repeated.
    """
    prob = check_probabilities(y_prob, "y_prob")
    level = check_confidence_level(confidence_level)
    if (threshold is None) == (y_pred is None):
        raise ValueError("give either threshold or y_pred (the model's calls), not both")
    if y_pred is not None:
        called = check_binary(y_pred, "y_pred")
        if called.shape != prob.shape:
            raise ValueError(
                f"y_pred and y_prob must have the same length; got {called.size} and {prob.size}"
            )
    elif threshold is not None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1]; got {threshold!r}")
        called = prob >= threshold
    weight = check_weights(sample_weight, prob.size)
    n = int(weight.sum())
    var = weight * prob * (1.0 - prob)
    expected = weight * prob
    tp, fn = float(expected[called].sum()), float(expected[~called].sum())
    fp, tn = float(weight[called].sum()) - tp, float(weight[~called].sum()) - fn
    v_called, v_not = float(var[called].sum()), float(var[~called].sum())
    reason = None
    if not calibration.calibrated:
        reason = f"no label-free estimate: {calibration.reason}"
    elif n == 0:
        reason = "no cases in the period"
    if reason is not None:
        method = "estimated by CBPE (refused)"
        metrics = {
            m: Estimate.not_estimable(reason, method=method, n=n, confidence_level=level)
            for m in METRICS
        }
    else:
        z = z_value(level)
        n_called = int(weight[called].sum())
        metrics = {
            "sensitivity": _ratio(tp, v_called, fn, v_not, n, z, level),
            "specificity": _ratio(tn, v_not, fp, v_called, n, z, level),
            "ppv": _share(tp, v_called, n_called, n, z, level),
            "npv": _share(tn, v_not, n - n_called, n, z, level),
            "accuracy": _share(tp + tn, v_called + v_not, n, n, z, level),
        }
    return PerformanceEstimate(
        metrics=metrics,
        expected_tp=tp,
        expected_fp=fp,
        expected_tn=tn,
        expected_fn=fn,
        threshold=None if threshold is None else float(threshold),
        calibration=calibration,
        n=n,
        reason=reason,
    )
