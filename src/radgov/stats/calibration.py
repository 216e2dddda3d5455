"""Calibration of predicted probabilities: Brier score, calibration curve, ECE.

``brier_score_loss``
    Brier (1950), "Verification of forecasts expressed in terms of probability", Monthly
    Weather Review 78:1-3: the mean of ``(p - y)^2`` (lower is better).  Its interval is the
    normal approximation of Bradley, Schwartz & Hashino (2008), "Sampling uncertainty and
    confidence intervals for the Brier score", Weather and Forecasting 23:992-1006, eq. 7:
    ``var(BS) = (mean((p - y)^4) - BS^2) / n``, truncated to [0, 1].
``calibration_curve``
    Observed fraction of positives against mean predicted probability in bins, binned exactly
    as ``sklearn.calibration.calibration_curve`` (edges from ``linspace(0, 1)`` or from quantiles
    of ``y_prob``; a value on an inner edge falls in the lower bin).  All bins are returned; an
    empty bin has count 0 and NaN values.  The observed fraction carries a Wilson interval.
``expected_calibration_error``
    Naeini, Cooper & Hauskrecht (2015), AAAI; Guo et al. (2017), ICML: with ``n_bins``
    equal-width bins on [0, 1], ``ECE = sum_b (n_b / N) |observed_b - mean predicted_b|``.
``spiegelhalter_z_test``
    Spiegelhalter (1986), "Probabilistic prediction in patient management and clinical
    trials", Statistics in Medicine 5:421-433: the Brier score standardised by its mean and
    variance when the probabilities are right,
    ``Z = sum (y - p)(1 - 2p) / sqrt(sum (1 - 2p)^2 p (1 - p))``, two-sided normal p-value.
``hosmer_lemeshow_test``
    Hosmer & Lemeshow (1980); Hosmer, Lemeshow & Sturdivant (2013), *Applied Logistic
    Regression*, 3rd ed., section 5.2.2: the cases sorted by probability and cut into ``groups``
    of (nearly) equal size ("deciles of risk"),
    ``C = sum_k (O_k - E_k)^2 / (E_k (1 - E_k / n_k))``.  For probabilities that were not fitted
    on these data (a vendor's model on local data) C is referred to chi-square on ``groups``
    degrees of freedom; ``fitted=True`` gives the ``groups - 2`` of a model fitted here.
    ``hosmer_lemeshow_from_groups`` computes C from a published table of groups (size,
    observed and expected events).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import (
    check_binary,
    check_confidence_level,
    check_probabilities,
    check_same_length,
    check_weights,
    z_value,
)
from .proportions import ProportionMethod, proportion_ci_arrays
from .results import Estimate

__all__ = [
    "CalibrationCurve",
    "CalibrationTest",
    "brier_score_loss",
    "calibration_curve",
    "expected_calibration_error",
    "hosmer_lemeshow_from_groups",
    "hosmer_lemeshow_test",
    "spiegelhalter_z_test",
]

FloatArray = NDArray[np.float64]
BRIER_METHOD = "normal approximation (Bradley et al. 2008)"


def _inputs(y_true: ArrayLike, y_prob: ArrayLike) -> tuple[NDArray[np.bool_], FloatArray]:
    truth = check_binary(y_true, "y_true")
    prob = check_probabilities(y_prob, "y_prob")
    check_same_length(y_true=truth, y_prob=prob)
    return truth, prob


def brier_score_loss(
    y_true: ArrayLike, y_prob: ArrayLike, *, confidence_level: float = 0.95
) -> Estimate:
    """Mean squared difference between predicted probability and outcome, with its interval."""
    level = check_confidence_level(confidence_level)
    truth, prob = _inputs(y_true, y_prob)
    n = int(truth.shape[0])
    if n == 0:
        return Estimate.not_estimable("no cases", method=BRIER_METHOD, n=0, confidence_level=level)
    sq = (prob - truth) ** 2
    bs = float(sq.mean())
    var = max(float(np.mean(sq * sq)) - bs * bs, 0.0) / n
    half = z_value(level) * math.sqrt(var)
    return Estimate(bs, max(0.0, bs - half), min(1.0, bs + half), BRIER_METHOD, n, level)


@dataclass(frozen=True, slots=True)
class CalibrationCurve:
    bin_edges: FloatArray  # n_bins + 1
    mean_predicted: FloatArray  # n_bins, NaN where empty
    observed_fraction: FloatArray
    observed_low: FloatArray
    observed_high: FloatArray
    counts: NDArray[np.intp]
    strategy: str
    confidence_level: float
    method: str


def _bin(
    prob: FloatArray, truth: NDArray[np.bool_], edges: FloatArray, weight: FloatArray | None = None
) -> tuple[NDArray[np.intp], FloatArray, FloatArray]:
    """Each bin's count of cases, sum of probabilities and count of positives (``weight``:
    each case's count, None: one each)."""
    n_bins = edges.shape[0] - 1
    ids = np.searchsorted(edges[1:-1], prob)
    if weight is None:
        counts: NDArray[np.intp] = np.bincount(ids, minlength=n_bins)
        weight = np.ones(prob.shape[0], dtype=np.float64)
    else:
        counts = np.bincount(ids, weights=weight, minlength=n_bins).astype(np.intp)
    sums: FloatArray = np.bincount(ids, weights=prob * weight, minlength=n_bins).astype(np.float64)
    positives: FloatArray = np.bincount(ids, weights=truth * weight, minlength=n_bins).astype(
        np.float64
    )
    return counts, sums, positives


def calibration_curve(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    n_bins: int = 10,
    strategy: Literal["uniform", "quantile"] = "uniform",
    confidence_level: float = 0.95,
    method: ProportionMethod = "wilson",
) -> CalibrationCurve:
    """Reliability diagram data with an interval for each bin's observed fraction."""
    level = check_confidence_level(confidence_level)
    truth, prob = _inputs(y_true, y_prob)
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1; got {n_bins}")
    if prob.shape[0] == 0:
        raise ValueError("y_prob is empty")
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    elif strategy == "quantile":
        edges = np.percentile(prob, np.linspace(0.0, 100.0, n_bins + 1))
    else:
        raise ValueError(f"strategy must be 'uniform' or 'quantile'; got {strategy!r}")
    counts, sums, positives = _bin(prob, truth, edges)
    observed, low, high = proportion_ci_arrays(
        positives, counts, method=method, confidence_level=level
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pred = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return CalibrationCurve(
        bin_edges=edges,
        mean_predicted=mean_pred,
        observed_fraction=observed,
        observed_low=low,
        observed_high=high,
        counts=counts,
        strategy=strategy,
        confidence_level=level,
        method=method,
    )


def expected_calibration_error(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    n_bins: int = 10,
    sample_weight: ArrayLike | None = None,
) -> float:
    """ECE with ``n_bins`` equal-width bins (see the module docstring); lower is better.
    ``sample_weight``: each case's count (binned cases), as if each were repeated."""
    truth, prob = _inputs(y_true, y_prob)
    weight = check_weights(sample_weight, prob.shape[0])
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1; got {n_bins}")
    n = float(weight.sum())
    if n == 0:
        raise ValueError("y_prob is empty")
    counts, sums, positives = _bin(prob, truth, np.linspace(0.0, 1.0, n_bins + 1), weight)
    # sum_b (n_b / N) |pos_b / n_b - sum_b / n_b| = sum_b |pos_b - sum_b| / N
    return float(np.abs(positives - sums).sum() / n)


@dataclass(frozen=True, slots=True)
class CalibrationTest:
    """A test of the hypothesis that the probabilities are right (calibrated)."""

    statistic: float
    p_value: float
    method: str
    n: int
    dof: int | None = None


def spiegelhalter_z_test(
    y_true: ArrayLike, y_prob: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> CalibrationTest:
    """Spiegelhalter's (1986) Z test of calibration (see the module docstring);
    ``sample_weight``: each case's count (binned cases), as if each were repeated."""
    truth, prob = _inputs(y_true, y_prob)
    weight = check_weights(sample_weight, prob.shape[0])
    spread = weight * (1.0 - 2.0 * prob) ** 2 * prob * (1.0 - prob)
    denominator = float(np.sqrt(spread.sum()))
    if denominator == 0.0:
        raise ValueError("Spiegelhalter's Z is undefined when every probability is 0, 1/2 or 1")
    z = float((weight * (truth - prob) * (1.0 - 2.0 * prob)).sum()) / denominator
    return CalibrationTest(
        z, float(2.0 * special.ndtr(-abs(z))), "Spiegelhalter Z test (1986)", int(weight.sum())
    )


def hosmer_lemeshow_test(
    y_true: ArrayLike, y_prob: ArrayLike, *, groups: int = 10, fitted: bool = False,
    sample_weight: ArrayLike | None = None,
) -> CalibrationTest:  # fmt: skip
    """Hosmer-Lemeshow test over ``groups`` groups of risk (see the module docstring).
    ``sample_weight``: each case's count (binned cases): the same test as with each case
    repeated in place, so a group may end inside a run of equal cases."""
    truth, prob = _inputs(y_true, y_prob)
    weight = check_weights(sample_weight, prob.shape[0])
    n = int(weight.sum())
    if groups < 3 or n < groups:
        raise ValueError(
            f"need at least 3 groups and one case per group; got {groups} groups, {n} cases"
        )
    order = np.argsort(prob, kind="stable")  # equal-size groups in order of risk
    w, p, y = weight[order], prob[order], truth[order].astype(np.float64)
    ends = np.cumsum(w)
    # the case at position i (in order of risk, counting repeats) is in group i * groups // n:
    # group g holds the positions ceil(g n / groups) .. ceil((g + 1) n / groups) - 1
    cuts = (np.arange(groups + 1) * n + groups - 1) // groups
    size, observed, expected = (np.diff(_upto(cuts, ends, w, v)) for v in (None, y, p))
    return hosmer_lemeshow_from_groups(
        size, observed, expected, dof=groups - 2 if fitted else groups
    )


def _upto(
    cuts: NDArray[np.int64], ends: FloatArray, weight: FloatArray, value: FloatArray | None
) -> FloatArray:
    """For each cut, the sum of ``value`` (None: 1) over the first ``cut`` cases, each run of
    ``weight`` equal cases ending at ``ends`` repeated in place."""
    each = np.ones_like(weight) if value is None else value
    before = np.r_[0.0, np.cumsum(weight * each)]  # over whole runs
    run = np.searchsorted(ends, cuts, side="right")  # the runs wholly before the cut
    inside = cuts - np.r_[0.0, ends][run]  # cases of the next run before the cut
    out: FloatArray = before[run] + inside * np.r_[each, 0.0][run]
    return out


def hosmer_lemeshow_from_groups(
    size: ArrayLike, observed: ArrayLike, expected: ArrayLike, *, dof: int
) -> CalibrationTest:
    """Hosmer-Lemeshow C from a table of groups of risk: each group's number of cases, of
    observed events and of expected events (the sum of its probabilities), referred to
    chi-square on ``dof`` degrees of freedom."""
    n_k = np.asarray(size, dtype=np.float64)
    o_k = np.asarray(observed, dtype=np.float64)
    e_k = np.asarray(expected, dtype=np.float64)
    if not (n_k.ndim == 1 and n_k.shape == o_k.shape == e_k.shape):
        raise ValueError(
            f"size, observed and expected need one entry per group; got {n_k.shape}, "
            f"{o_k.shape} and {e_k.shape}"
        )
    if dof < 1:
        raise ValueError(f"dof must be at least 1; got {dof}")
    if np.any((o_k < 0) | (o_k > n_k)) or np.any((e_k < 0) | (e_k > n_k)):
        raise ValueError("each group's observed and expected events must lie in 0..its size")
    variance = e_k * (1.0 - e_k / n_k)
    if np.any(variance <= 0):
        raise ValueError("a group of risk has every probability 0 or 1: the test is undefined")
    statistic = float(((o_k - e_k) ** 2 / variance).sum())
    return CalibrationTest(
        statistic,
        float(special.chdtrc(dof, statistic)),
        f"Hosmer-Lemeshow test, {n_k.size} groups, {dof} degrees of freedom",
        int(n_k.sum()),
        dof,
    )
