"""Bootstrap confidence intervals, stratified, vectorized across replicates, in bounded memory.

``bootstrap_ci`` takes any metric on arrays.  Cases are resampled with replacement within each
stratum (by default within the classes of the first array when it is a binary truth vector, so
every replicate keeps the observed numbers of positives and negatives).  Replicates are drawn in
blocks of rows so that at most about ``block_size`` x n indices are held at once.

``bootstrap_auc`` is the fast path for the AUC: the scores are sorted once, a replicate is a
vector of multiplicities (``np.bincount`` of the drawn indices) over the sorted positives and
negatives, and its AUC is a cumulative sum over the sorted order, O(n) per replicate, with ties
handled through the tie groups (a positive tied with negatives counts half of them).

Intervals (``method=``):

``"percentile"``
    Efron & Tibshirani (1993), *An Introduction to the Bootstrap*, ch. 13: the alpha/2 and
    1 - alpha/2 quantiles of the replicates (linear interpolation, ``np.percentile``).
``"bca"``
    Bias-corrected and accelerated, Efron (1987) and Efron & Tibshirani (1993) ch. 14.3:
    ``z0 = Phi^-1(share of replicates below the estimate, ties counted half)`` and acceleration
    ``a`` from the jackknife, computed as ``scipy.stats.bootstrap`` does.  For the AUC the
    jackknife has a closed form from the DeLong placements: leaving out positive i gives
    ``(n_pos AUC - V10_i) / (n_pos - 1)`` and leaving out negative j gives
    ``(n_neg AUC - V01_j) / (n_neg - 1)``, so no metric is recomputed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import check_confidence_level, check_same_length
from .results import Estimate
from .roc import _inputs, _missing_class, rank_scores

__all__ = ["BootstrapMethod", "RandomState", "bootstrap_auc", "bootstrap_ci"]

BootstrapMethod = Literal["percentile", "bca"]
RandomState = int | np.random.Generator | None
FloatArray = NDArray[np.float64]

BCA_UNDEFINED = "BCa is undefined: every replicate lies on one side of the estimate"

# about 2^22 elements (32 MiB of float64) per block-sized working array
_BLOCK_ELEMENTS = 1 << 22


def _rng(random_state: RandomState) -> np.random.Generator:
    return np.random.default_rng(random_state)


def _block_rows(n: int, block_size: int | None) -> int:
    if block_size is not None:
        if block_size < 1:
            raise ValueError(f"block_size must be positive; got {block_size}")
        return int(block_size)
    return max(1, _BLOCK_ELEMENTS // max(n, 1))


def _multiplicities(rng: np.random.Generator, size: int, rows: int) -> NDArray[np.intp]:
    """(rows, size) counts: how often each of ``size`` cases is drawn in each replicate."""
    draws = rng.integers(0, size, size=(rows, size))
    draws += (np.arange(rows) * size)[:, None]
    counts: NDArray[np.intp] = np.bincount(draws.ravel(), minlength=rows * size).reshape(rows, size)
    return counts


def _check_options(method: str, n_resamples: int, confidence_level: float) -> float:
    if method not in ("percentile", "bca"):
        raise ValueError(f"method must be 'percentile' or 'bca'; got {method!r}")
    if n_resamples < 2:
        raise ValueError(f"n_resamples must be at least 2; got {n_resamples}")
    return check_confidence_level(confidence_level)


def _interval(
    estimate: float,
    replicates: FloatArray,
    jackknife: FloatArray | None,
    method: str,
    level: float,
) -> tuple[float, float]:
    """Percentile or BCa interval from the replicates (and jackknife values for BCa)."""
    alpha = 1.0 - level
    if method == "percentile":
        qs = np.array([alpha / 2, 1 - alpha / 2])
    else:
        assert jackknife is not None
        below = np.count_nonzero(replicates < estimate)
        at_or_below = np.count_nonzero(replicates <= estimate)
        share = (below + at_or_below) / (2.0 * replicates.shape[0])
        if share in (0.0, 1.0):
            # every replicate on one side of the estimate: BCa is undefined (as in scipy)
            return math.nan, math.nan
        z0 = float(special.ndtri(share))
        dev = jackknife.mean() - jackknife
        ss = float(np.sum(dev**2))
        accel = float(np.sum(dev**3)) / (6.0 * ss**1.5) if ss > 0 else 0.0
        z = special.ndtri(np.array([alpha / 2, 1 - alpha / 2]))
        qs = special.ndtr(z0 + (z0 + z) / (1.0 - accel * (z0 + z)))
    low, high = np.percentile(replicates, 100.0 * qs)
    return float(low), float(high)


def _resolve_strata(
    arrays: Sequence[NDArray[Any]], strata: ArrayLike | bool | None
) -> NDArray[Any] | None:
    if strata is False:
        return None
    if strata is None or strata is True:
        first = arrays[0]
        if len(arrays) < 2 or first.ndim != 1:
            return None
        values = np.unique(first)
        if values.size == 2 and set(values.tolist()) <= {0, 1}:
            return first
        if strata is True:
            raise ValueError("strata=True needs a binary first array (0/1 truth)")
        return None
    out = np.asarray(strata)
    check_same_length(strata=out, first_array=arrays[0])
    return out


def _resample_indices(
    rng: np.random.Generator, n: int, groups: list[NDArray[np.intp]] | None, rows: int
) -> NDArray[np.intp]:
    if groups is None:
        out: NDArray[np.intp] = rng.integers(0, n, size=(rows, n))
        return out
    parts = [g[rng.integers(0, g.shape[0], size=(rows, g.shape[0]))] for g in groups]
    return np.concatenate(parts, axis=1)


def _jackknife_generic(
    metric: Callable[..., Any], arrays: Sequence[NDArray[Any]], vectorized: bool, block: int
) -> FloatArray:
    n = arrays[0].shape[0]
    out = np.empty(n, dtype=np.float64)
    if vectorized:
        base = np.arange(n - 1)
        for start in range(0, n, block):
            stop = min(n, start + block)
            left_out = np.arange(start, stop)[:, None]
            idx = base[None, :] + (base[None, :] >= left_out)
            out[start:stop] = np.asarray(metric(*(a[idx] for a in arrays)), dtype=np.float64)
    else:
        keep = np.ones(n, dtype=np.bool_)
        for i in range(n):
            keep[i] = False
            out[i] = float(metric(*(a[keep] for a in arrays)))
            keep[i] = True
    return out


def bootstrap_ci(
    metric: Callable[..., Any],
    *arrays: ArrayLike,
    strata: ArrayLike | bool | None = None,
    n_resamples: int = 2000,
    method: BootstrapMethod = "percentile",
    confidence_level: float = 0.95,
    random_state: RandomState = None,
    block_size: int | None = None,
    vectorized: bool = False,
) -> Estimate:
    """Bootstrap interval for ``metric(*arrays)``; cases (rows across all arrays) are resampled.

    ``strata``: None stratifies by the first array when it is binary 0/1 truth and there are at
    least two arrays; an array gives explicit strata; False resamples all cases together.
    ``vectorized=True`` means ``metric`` accepts arrays of shape (replicates, n) and returns one
    value per row; otherwise it is called once per replicate.  ``block_size`` bounds how many
    replicates are materialized at once (default: about 4 million indices).  BCa uses the
    jackknife (n leave-one-out evaluations of ``metric``).  Replicates where the metric is not
    finite make the result not estimable.
    """
    level = _check_options(method, n_resamples, confidence_level)
    if not arrays:
        raise ValueError("bootstrap_ci needs at least one array")
    data = [np.asarray(a) for a in arrays]
    names = {f"array {i}": a for i, a in enumerate(data)}
    n = check_same_length(**names)
    label = f"bootstrap {method}"
    if n < 2:
        return Estimate.not_estimable(
            "the bootstrap needs at least two cases", method=label, n=n, confidence_level=level
        )
    strata_arr = _resolve_strata(data, strata)
    groups = None
    if strata_arr is not None:
        _, codes = np.unique(strata_arr, return_inverse=True)
        order = np.argsort(codes, kind="stable")
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        groups = np.split(order, bounds)
        label = f"stratified bootstrap {method}"

    def evaluate(idx: NDArray[np.intp]) -> FloatArray:
        if vectorized:
            return np.asarray(metric(*(a[idx] for a in data)), dtype=np.float64).reshape(-1)
        return np.array([float(metric(*(a[row] for a in data))) for row in idx])

    estimate = float(evaluate(np.arange(n)[None, :])[0])
    if not math.isfinite(estimate):
        return Estimate.not_estimable(
            "the metric is not finite on the data", method=label, n=n, confidence_level=level
        )
    rng = _rng(random_state)
    block = _block_rows(n, block_size)
    replicates = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, block):
        rows = min(block, n_resamples - start)
        replicates[start : start + rows] = evaluate(_resample_indices(rng, n, groups, rows))
    bad = int(np.count_nonzero(~np.isfinite(replicates)))
    if bad:
        return Estimate.not_estimable(
            f"the metric is not finite in {bad} of {n_resamples} replicates",
            method=label,
            n=n,
            confidence_level=level,
        )
    jack = _jackknife_generic(metric, data, vectorized, block) if method == "bca" else None
    low, high = _interval(estimate, replicates, jack, method, level)
    if math.isnan(low):
        return Estimate.not_estimable(BCA_UNDEFINED, method=label, n=n, confidence_level=level)
    return Estimate(estimate, low, high, label, n, level)


def auc_replicates(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    n_resamples: int = 2000,
    random_state: RandomState = None,
    block_size: int | None = None,
) -> tuple[float, FloatArray, FloatArray]:
    """(AUC, stratified bootstrap replicates of the AUC, jackknife AUCs).  Both classes needed."""
    truth, scores = _inputs(y_true, y_score)
    missing = _missing_class(truth)
    if missing:
        raise ValueError(f"y_true must contain both classes; {missing}")
    ranked = rank_scores(truth, scores)
    n_pos, n_neg = ranked.n_pos, ranked.n_neg
    # for each positive (ascending score): negatives strictly below / at or below its score
    pos_group = np.repeat(np.arange(ranked.n_groups), ranked.pos)
    lo = ranked.neg_before[pos_group]
    hi = lo + ranked.neg[pos_group]
    rng = _rng(random_state)
    block = _block_rows(ranked.n, block_size)
    reps = np.empty(n_resamples, dtype=np.float64)
    cum = np.zeros((min(block, n_resamples), n_neg + 1))
    for start in range(0, n_resamples, block):
        rows = min(block, n_resamples - start)
        wp = _multiplicities(rng, n_pos, rows)
        wn = _multiplicities(rng, n_neg, rows)
        c = cum[:rows]
        np.cumsum(wn, axis=1, out=c[:, 1:])
        # weighted count of negatives below each positive, ties counted half, times 2
        below2 = np.take(c, lo, axis=1)
        below2 += np.take(c, hi, axis=1)
        reps[start : start + rows] = np.einsum("ij,ij->i", below2, wp) / (2.0 * n_pos * n_neg)
    v10, v01 = ranked.placements()
    auc = float(np.dot(ranked.pos, v10)) / n_pos
    jack = np.concatenate(
        (
            np.repeat((n_pos * auc - v10) / (n_pos - 1) if n_pos > 1 else v10, ranked.pos),
            np.repeat((n_neg * auc - v01) / (n_neg - 1) if n_neg > 1 else v01, ranked.neg),
        )
    )
    return auc, reps, jack


def bootstrap_auc(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    n_resamples: int = 2000,
    method: BootstrapMethod = "percentile",
    confidence_level: float = 0.95,
    random_state: RandomState = None,
    block_size: int | None = None,
) -> Estimate:
    """Stratified bootstrap interval for the AUC (fast path, O(n) per replicate).

    Cases are resampled within the positives and within the negatives.  A missing class gives
    a not-estimable result.
    """
    level = _check_options(method, n_resamples, confidence_level)
    truth, _ = _inputs(y_true, y_score)
    label = f"stratified bootstrap {method}"
    missing = _missing_class(truth)
    n = int(truth.shape[0])
    if missing:
        return Estimate.not_estimable(missing, method=label, n=n, confidence_level=level)
    if method == "bca" and min(int(truth.sum()), n - int(truth.sum())) < 2:
        return Estimate.not_estimable(
            "the BCa jackknife needs at least two positive and two negative cases",
            method=label,
            n=n,
            confidence_level=level,
        )
    auc, reps, jack = auc_replicates(
        y_true,
        y_score,
        n_resamples=n_resamples,
        random_state=random_state,
        block_size=block_size,
    )
    low, high = _interval(auc, reps, jack, method, level)
    if math.isnan(low):
        return Estimate.not_estimable(BCA_UNDEFINED, method=label, n=n, confidence_level=level)
    return Estimate(auc, low, high, label, n, level)
