"""ROC analysis: AUC with the DeLong interval, paired DeLong test, ROC curve and band, McNemar.

AUC and its variance follow DeLong, DeLong & Clarke-Pearson (1988), "Comparing the areas under
two or more correlated receiver operating characteristic curves: a nonparametric approach",
Biometrics 44:837-845, computed with the midrank algorithm of Sun & Xu (2014), "Fast
implementation of DeLong's algorithm for comparing the areas under correlated receiver
operating characteristic curves", IEEE Signal Processing Letters 21:1389-1393.

One ``argsort`` of the combined scores does all the work: tie groups come from the sorted
values, and the cumulative number of positives and negatives before each group gives the
midranks of the combined set, of the positives alone and of the negatives alone.  The DeLong
placement values are then constant within a tie group:

* a positive in group g: ``V10 = (negatives below g + negatives in g / 2) / n_neg``
* a negative in group g: ``V01 = (positives above g + positives in g / 2) / n_pos``

``AUC = mean(V10) = mean(V01)`` and ``var = s10 / n_pos + s01 / n_neg`` with ``s10``, ``s01``
the sample variances (ddof = 1) of the placements, exactly as pROC computes it.  Everything after
the sort is O(number of tie groups) or a single O(n) cumulative sum.

Higher scores mean "more likely positive" throughout (scikit-learn's convention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import (
    check_binary,
    check_confidence_level,
    check_finite,
    check_same_length,
    z_value,
)
from .results import Estimate

if TYPE_CHECKING:
    from .bootstrap import RandomState

__all__ = [
    "McNemarResult",
    "PairedComparison",
    "RocBand",
    "auc_variance_delong",
    "delong_test",
    "mcnemar_test",
    "roc_auc_score",
    "roc_curve",
    "roc_curve_band",
]

DELONG = "DeLong"
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class RankedScores:
    """The scores sorted once, with their tie groups (ascending score).

    ``order`` sorts the cases; ``group`` is the tie-group index of each sorted case;
    ``pos``/``neg`` count positives and negatives per group; ``pos_before``/``neg_before``
    count them in all lower groups.
    """

    order: IntArray
    sorted_truth: NDArray[np.bool_]
    starts: IntArray
    pos: IntArray
    neg: IntArray
    pos_before: IntArray
    neg_before: IntArray
    n_pos: int
    n_neg: int

    @property
    def n(self) -> int:
        return self.n_pos + self.n_neg

    @property
    def n_groups(self) -> int:
        return int(self.starts.shape[0])

    def group_of_sorted(self) -> IntArray:
        flags = np.zeros(self.n, dtype=np.intp)
        flags[self.starts[1:]] = 1
        out: IntArray = np.cumsum(flags)
        return out

    def placements(self) -> tuple[FloatArray, FloatArray]:
        """Per-group DeLong placements: (V10 for positives, V01 for negatives)."""
        v10 = (self.neg_before + 0.5 * self.neg) / self.n_neg
        pos_above = self.n_pos - self.pos_before - self.pos
        v01 = (pos_above + 0.5 * self.pos) / self.n_pos
        return v10, v01

    def auc_and_variance(self) -> tuple[float, float]:
        v10, v01 = self.placements()
        auc = float(np.dot(self.pos, v10)) / self.n_pos
        if self.n_pos < 2 or self.n_neg < 2:
            return auc, math.nan
        s10 = float(np.dot(self.pos, (v10 - auc) ** 2)) / (self.n_pos - 1)
        s01 = float(np.dot(self.neg, (v01 - auc) ** 2)) / (self.n_neg - 1)
        return auc, s10 / self.n_pos + s01 / self.n_neg

    def case_placements(self) -> FloatArray:
        """Placement of every case in input order: V10 for positives, V01 for negatives."""
        v10, v01 = self.placements()
        g = self.group_of_sorted()
        sorted_values = np.where(self.sorted_truth, v10[g], v01[g])
        out = np.empty(self.n, dtype=np.float64)
        out[self.order] = sorted_values
        return out


def rank_scores(truth: NDArray[np.bool_], scores: FloatArray) -> RankedScores:
    """Sort once and derive the tie groups and per-group class counts (O(n) after the sort)."""
    n = scores.shape[0]
    order: IntArray = np.argsort(scores)
    s = scores[order]
    sorted_truth = truth[order]
    new_group = np.empty(n, dtype=np.bool_)
    new_group[:1] = True
    np.not_equal(s[1:], s[:-1], out=new_group[1:])
    starts: IntArray = np.flatnonzero(new_group)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1:] = n
    cum_pos = np.cumsum(sorted_truth, dtype=np.intp)
    pos_through = cum_pos[ends - 1]
    pos = np.diff(pos_through, prepend=0)
    neg = (ends - starts) - pos
    n_pos = int(pos_through[-1]) if n else 0
    return RankedScores(
        order=order,
        sorted_truth=sorted_truth,
        starts=starts,
        pos=pos,
        neg=neg,
        pos_before=pos_through - pos,
        neg_before=(ends - pos_through) - neg,
        n_pos=n_pos,
        n_neg=n - n_pos,
    )


def _auc_variance(truth: NDArray[np.bool_], scores: FloatArray) -> tuple[float, float]:
    """AUC and DeLong variance; without ties the placements come straight from positions."""
    order = np.argsort(scores)
    s = scores[order]
    if np.any(s[1:] == s[:-1]):
        return rank_scores(truth, scores).auc_and_variance()
    sorted_truth = truth[order]
    # the k-th positive in score order, at position p, has p - k negatives below it; the k-th
    # negative has p - k positives below it (worked in place: this runs on every subgroup)
    neg_below = np.flatnonzero(sorted_truth)
    pos_below = np.flatnonzero(~sorted_truth)
    n_pos, n_neg = int(neg_below.shape[0]), int(pos_below.shape[0])
    steps = np.arange(max(n_pos, n_neg))
    neg_below -= steps[:n_pos]
    pos_below -= steps[:n_neg]
    auc = float(neg_below.sum()) / (n_pos * n_neg)
    if n_pos < 2 or n_neg < 2:
        return auc, math.nan
    # V10 = neg_below / n_neg and V01 = 1 - pos_below / n_pos: their deviations from the AUC
    v10 = neg_below / n_neg
    v10 -= auc
    v01 = pos_below / n_pos
    v01 -= 1.0 - auc  # = -(V01 - AUC); squared alike
    s10 = float(np.dot(v10, v10)) / (n_pos - 1)
    s01 = float(np.dot(v01, v01)) / (n_neg - 1)
    return auc, s10 / n_pos + s01 / n_neg


def _inputs(y_true: ArrayLike, y_score: ArrayLike) -> tuple[NDArray[np.bool_], FloatArray]:
    truth = check_binary(y_true, "y_true")
    scores = check_finite(y_score, "y_score")
    check_same_length(y_true=truth, y_score=scores)
    return truth, scores


def _missing_class(truth: NDArray[np.bool_]) -> str | None:
    n_pos = int(np.count_nonzero(truth))
    if n_pos == 0:
        return "no positive cases"
    if n_pos == truth.shape[0]:
        return "no negative cases"
    return None


def _normal_interval(
    estimate: float, variance: float, level: float, *, lower: float = 0.0, upper: float = 1.0
) -> tuple[float, float]:
    half = z_value(level) * math.sqrt(variance)
    return max(lower, estimate - half), min(upper, estimate + half)


def auc_variance_delong(y_true: ArrayLike, y_score: ArrayLike) -> tuple[float, float]:
    """(AUC, DeLong variance).  Raises ValueError when a class is missing."""
    truth, scores = _inputs(y_true, y_score)
    missing = _missing_class(truth)
    if missing:
        raise ValueError(f"y_true must contain both classes; {missing}")
    return _auc_variance(truth, scores)


def roc_auc_score(
    y_true: ArrayLike, y_score: ArrayLike, *, confidence_level: float = 0.95
) -> Estimate:
    """Area under the ROC curve with the DeLong (1988) confidence interval.

    The interval is ``AUC +/- z * sqrt(var)`` truncated to [0, 1] (as pROC's ``ci.auc``).
    A missing class, or fewer than two cases in a class, gives a not-estimable result.
    """
    level = check_confidence_level(confidence_level)
    truth, scores = _inputs(y_true, y_score)
    n = int(truth.shape[0])
    missing = _missing_class(truth)
    if missing:
        return Estimate.not_estimable(missing, method=DELONG, n=n, confidence_level=level)
    auc, var = _auc_variance(truth, scores)
    if math.isnan(var):
        return Estimate.not_estimable(
            "the DeLong variance needs at least two positive and two negative cases",
            method=DELONG,
            n=n,
            confidence_level=level,
        )
    low, high = _normal_interval(auc, var, level)
    return Estimate(auc, low, high, DELONG, n, level)


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Two correlated AUCs on the same cases and the DeLong test of their difference."""

    auc_a: Estimate
    auc_b: Estimate
    difference: Estimate  # auc_a - auc_b
    z: float
    p_value: float  # two-sided
    n: int
    method: str = "DeLong paired test"


def delong_test(
    y_true: ArrayLike,
    score_a: ArrayLike,
    score_b: ArrayLike,
    *,
    confidence_level: float = 0.95,
) -> PairedComparison:
    """DeLong, DeLong & Clarke-Pearson (1988) test of AUC(a) = AUC(b) on paired scores.

    ``z = (AUC_a - AUC_b) / sqrt(var_a + var_b - 2 cov_ab)``, with the covariance of the
    placement values; two-sided p-value; the difference's interval is ``diff +/- z_(1-a/2) se``
    (as pROC's ``roc.test``).  Identical curves give ``z = 0`` and ``p = 1``.
    """
    level = check_confidence_level(confidence_level)
    truth = check_binary(y_true, "y_true")
    a = check_finite(score_a, "score_a")
    b = check_finite(score_b, "score_b")
    n = check_same_length(y_true=truth, score_a=a, score_b=b)
    method = "DeLong paired test"
    missing = _missing_class(truth)
    if missing is None and (truth.sum() < 2 or (~truth).sum() < 2):
        missing = "the DeLong variance needs at least two positive and two negative cases"
    if missing:
        bad = Estimate.not_estimable(missing, method=DELONG, n=n, confidence_level=level)
        diff = Estimate.not_estimable(missing, method=method, n=n, confidence_level=level)
        return PairedComparison(bad, bad, diff, math.nan, math.nan, n, method)

    ranked = (rank_scores(truth, a), rank_scores(truth, b))
    estimates = []
    for r in ranked:
        auc, var = r.auc_and_variance()
        low, high = _normal_interval(auc, var, level)
        estimates.append(Estimate(auc, low, high, DELONG, n, level))
    place_a, place_b = (r.case_placements() for r in ranked)
    n_pos, n_neg = ranked[0].n_pos, ranked[0].n_neg
    s10 = np.cov(place_a[truth], place_b[truth])
    s01 = np.cov(place_a[~truth], place_b[~truth])
    cov = s10 / n_pos + s01 / n_neg
    var_diff = float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1])
    d = estimates[0].estimate - estimates[1].estimate
    if var_diff <= 0.0 or d == 0.0:
        z = 0.0 if d == 0.0 else math.copysign(math.inf, d)
        p = 1.0 if d == 0.0 else 0.0
        se = math.sqrt(max(var_diff, 0.0))
    else:
        se = math.sqrt(var_diff)
        z = d / se
        p = float(2.0 * special.ndtr(-abs(z)))
    half = z_value(level) * se
    diff = Estimate(d, d - half, d + half, method, n, level)
    return PairedComparison(estimates[0], estimates[1], diff, z, p, n, method)


def _curve_counts(ranked: RankedScores) -> tuple[IntArray, IntArray]:
    """Cumulative FP and TP counts at each threshold, highest threshold first, from (0, 0)."""
    fp = np.concatenate(([0], np.cumsum(ranked.neg[::-1])))
    tp = np.concatenate(([0], np.cumsum(ranked.pos[::-1])))
    return fp, tp


def roc_curve(y_true: ArrayLike, y_score: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(fpr, tpr, thresholds), one point per distinct score, from (0, 0) at threshold +inf.

    A case is called positive when its score is >= the threshold.  Unlike scikit-learn's
    default, collinear points are kept (sklearn's ``drop_intermediate=False``).
    """
    truth, scores = _inputs(y_true, y_score)
    missing = _missing_class(truth)
    if missing:
        raise ValueError(f"y_true must contain both classes for a ROC curve; {missing}")
    ranked = rank_scores(truth, scores)
    fp, tp = _curve_counts(ranked)
    sorted_scores = scores[ranked.order]
    thresholds = np.concatenate(([np.inf], sorted_scores[ranked.starts][::-1]))
    return fp / ranked.n_neg, tp / ranked.n_pos, thresholds


@dataclass(frozen=True, slots=True)
class RocBand:
    """Pointwise confidence band for the ROC curve on a fixed FPR grid."""

    fpr: FloatArray
    tpr: FloatArray
    tpr_low: FloatArray
    tpr_high: FloatArray
    confidence_level: float
    n_resamples: int
    n: int
    method: str


def interpolate_tpr(
    fp: NDArray[np.floating], tp: NDArray[np.floating], targets: FloatArray
) -> FloatArray:
    """TPR counts on each row's ROC polygon at FP counts ``targets``, for many rows at once.

    ``fp`` and ``tp`` are (rows, points) with ``fp`` non-decreasing along each row from 0 to the
    same total.  Linear interpolation between ROC points (Fawcett 2006, vertical averaging);
    where several points share an FP count, the highest TPR is taken.  One flat
    ``searchsorted`` serves all rows: each row is offset by a multiple of (total + 1).
    """
    rows, points = fp.shape
    span = float(fp[0, -1]) + 1.0
    offsets = np.arange(rows, dtype=np.float64)[:, None] * span
    flat = (fp + offsets).ravel()
    k = np.searchsorted(flat, (targets[None, :] + offsets).ravel(), side="right") - 1
    k = k.reshape(rows, targets.shape[0])
    row_start = (np.arange(rows) * points)[:, None]
    k = np.clip(k, row_start, row_start + points - 1)
    nxt = np.minimum(k + 1, row_start + points - 1)
    fp_flat, tp_flat = fp.ravel(), tp.ravel()
    x0, x1 = fp_flat[k], fp_flat[nxt]
    y0, y1 = tp_flat[k], tp_flat[nxt]
    step = np.where(x1 > x0, x1 - x0, 1.0)
    frac = np.where(x1 > x0, (targets[None, :] - x0) / step, 0.0)
    out: FloatArray = (y0 + frac * (y1 - y0)).astype(np.float64)
    return out


def _drawn_through_group(
    rng: np.random.Generator, group: IntArray, n_groups: int, rows: int
) -> FloatArray:
    """(rows, n_groups + 1): in each of ``rows`` bootstrap replicates of the cases whose tie
    groups are ``group``, how many draws fall in groups ``0 .. g - 1``.

    The replicates are drawn exactly as ``bootstrap._multiplicities`` draws them (one
    ``rng.integers(0, size, (rows, size))`` block), so the counts equal the cumulative sums of
    those per-case multiplicities read at the group boundaries; counting by group costs one
    pass over the draws instead of a multiplicity count and a cumulative sum over every case.
    """
    size = group.shape[0]
    draws = rng.integers(0, size, size=(rows, size))
    out = np.zeros((rows, n_groups + 1), dtype=np.float64)
    for row, drawn in enumerate(np.take(group, draws)):
        np.cumsum(np.bincount(drawn, minlength=n_groups), out=out[row, 1:])
    return out


def roc_curve_band(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    confidence_level: float = 0.95,
    n_points: int = 101,
    n_resamples: int = 1000,
    random_state: RandomState = None,
) -> RocBand:
    """Pointwise percentile band for TPR at fixed FPR, by stratified bootstrap.

    Method: vertical averaging (Fawcett 2006, "An introduction to ROC analysis", Pattern
    Recognition Letters 27:861-874, Algorithm 3; Macskassy & Provost 2004): cases are resampled
    within each class (the class sizes are fixed, as in pROC's stratified bootstrap), each
    replicate's ROC polygon is read at ``n_points`` equally spaced FPR values, and the band is the
    percentile interval of those TPR values at each FPR.  It is pointwise, not simultaneous.
    The scores are sorted once; each replicate costs O(n) (its draws counted by tie group, then
    a cumulative sum over the groups).
    """
    from .bootstrap import _block_rows, _rng

    level = check_confidence_level(confidence_level)
    truth, scores = _inputs(y_true, y_score)
    missing = _missing_class(truth)
    if missing:
        raise ValueError(f"y_true must contain both classes for a ROC band; {missing}")
    if n_points < 2:
        raise ValueError(f"n_points must be at least 2; got {n_points}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be positive; got {n_resamples}")
    rng = _rng(random_state)
    ranked = rank_scores(truth, scores)
    grid = np.linspace(0.0, 1.0, n_points)
    fp, tp = _curve_counts(ranked)
    tpr = (
        interpolate_tpr(
            fp[None, :].astype(np.float64), tp[None, :].astype(np.float64), grid * ranked.n_neg
        )[0]
        / ranked.n_pos
    )

    # each class's cases in descending-score order, labelled with their tie group (highest
    # group first): a replicate's ROC polygon needs only how many draws of each class fall in
    # the top g groups, not how often each single case was drawn
    groups = np.arange(ranked.n_groups)
    pos_group = np.repeat(groups, ranked.pos[::-1])
    neg_group = np.repeat(groups, ranked.neg[::-1])
    targets = grid * ranked.n_neg
    out = np.empty((n_resamples, n_points), dtype=np.float64)
    block = _block_rows(ranked.n, None)
    for start in range(0, n_resamples, block):
        rows = min(block, n_resamples - start)
        tp_b = _drawn_through_group(rng, pos_group, ranked.n_groups, rows)
        fp_b = _drawn_through_group(rng, neg_group, ranked.n_groups, rows)
        out[start : start + rows] = interpolate_tpr(fp_b, tp_b, targets) / ranked.n_pos
    alpha = 1.0 - level
    low, high = np.percentile(out, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
    return RocBand(
        fpr=grid,
        tpr=tpr,
        tpr_low=np.minimum(low, tpr),
        tpr_high=np.maximum(high, tpr),
        confidence_level=level,
        n_resamples=n_resamples,
        n=ranked.n,
        method="stratified bootstrap, vertical averaging, pointwise percentile",
    )


@dataclass(frozen=True, slots=True)
class McNemarResult:
    statistic: float
    p_value: float
    b: int  # a correct, b wrong
    c: int  # a wrong, b correct
    method: str
    n: int


def mcnemar_test(
    correct_a: ArrayLike,
    correct_b: ArrayLike,
    *,
    exact: bool | None = None,
    correction: bool = True,
) -> McNemarResult:
    """McNemar's test of equal accuracy of two readers or models on the same cases.

    ``b`` counts cases only ``a`` got right, ``c`` cases only ``b`` got right.  With ``exact``
    left as None the exact binomial test is used when ``b + c < 25`` and the chi-square test
    otherwise.  Exact: two-sided binomial p-value ``min(1, 2 P(X <= min(b, c)))``,
    ``X ~ Bin(b + c, 1/2)``, statistic ``min(b, c)`` (as statsmodels).  Chi-square:
    ``(|b - c| - 1)^2 / (b + c)`` with Edwards' continuity correction, or ``(b - c)^2 / (b + c)``
    with ``correction=False``, on 1 degree of freedom.
    """
    from scipy import stats  # imported here: most users of this module never need it

    a = check_binary(correct_a, "correct_a")
    b_arr = check_binary(correct_b, "correct_b")
    n = check_same_length(correct_a=a, correct_b=b_arr)
    b = int(np.count_nonzero(a & ~b_arr))
    c = int(np.count_nonzero(~a & b_arr))
    discordant = b + c
    use_exact = discordant < 25 if exact is None else exact
    if use_exact:
        p = (
            1.0
            if discordant == 0
            else min(1.0, 2.0 * float(stats.binom.cdf(min(b, c), discordant, 0.5)))
        )
        return McNemarResult(float(min(b, c)), p, b, c, "exact binomial", n)
    if discordant == 0:
        return McNemarResult(0.0, 1.0, b, c, "chi-square", n)
    if correction:
        stat = (max(abs(b - c) - 1, 0)) ** 2 / discordant
        method = "chi-square with continuity correction"
    else:
        stat = (b - c) ** 2 / discordant
        method = "chi-square"
    return McNemarResult(float(stat), float(stats.chi2.sf(stat, 1)), b, c, method, n)
