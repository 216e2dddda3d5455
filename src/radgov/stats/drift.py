"""Drift of a deployment's inputs and outputs against a reference window.

A reference window (the acceptance-test period or a chosen baseline) is compared with a current
window, column by column.

Categorical columns (manufacturer, software version, protocol, ...)
    ``chi_square_homogeneity``: Pearson's chi-square test of homogeneity of the 2 x K table of
    counts (reference, current) x categories, as ``scipy.stats.chi2_contingency``: expected
    counts ``row total x column total / N``, K - 1 degrees of freedom; Yates's continuity
    correction for K = 2 only when ``correction=True`` (scipy's default is True; ours is False,
    the plain Pearson statistic).  Categories empty in both windows are dropped.
    ``population_stability_index`` on the same counts, and ``new_values``: values of the
    current window never seen in the reference, each with its count and the first time (or
    index) it appears.  ``None`` and NaN count as one category, ``None``.
Continuous columns (slice thickness, kVp, age, score, ...)
    ``ks_two_sample``: the two-sample Kolmogorov-Smirnov statistic ``D = max |F_ref - F_cur|``
    and its two-sided p-value exactly as ``scipy.stats.ks_2samp`` (``method="auto"``): exact
    when both samples have at most 10,000 values, else Smirnov's asymptotic distribution
    ``kstwo.sf(D, round(n m / (n + m)))``.  ``binned_counts`` bins both samples on the
    reference's quantiles (deciles by default) for the PSI.
Population Stability Index
    ``PSI = sum_i (c_i - r_i) ln(c_i / r_i)`` over bins, with ``r_i``, ``c_i`` the reference and
    current fractions (Siddiqi 2006, *Credit Risk Scorecards*, ch. 8; Yurdakul & Naranjo 2020,
    "Statistical properties of the population stability index", Journal of Risk Model
    Validation 14(4)).  Empty bins: a bin empty in both windows is dropped; a fraction that is
    zero in one window only is replaced by ``empty_fraction`` (default 1e-4, not renormalised),
    so that the logarithm is finite and a value that appears from nowhere still weighs
    ``c ln(c / 1e-4)``.  The p-value is Yurdakul & Naranjo's: under no change
    ``PSI / (1/n + 1/m)`` is approximately chi-square with B - 1 degrees of freedom.

Reference quantile bins: the inner edges are the reference's quantiles at ``1/B, ..., (B-1)/B``
(``numpy.quantile`` with ``method="inverted_cdf"``, so every edge is a reference value and each
bin holds about n/B reference values), repeated edges merged (a value held by many exams, such as a slice
thickness of 5 mm, makes one bin), and the outer bins open to -inf and +inf, so every current
value falls in a bin.  Each bin is ``(lower edge, upper edge]``: a value equal to an edge falls in the bin below it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import check_finite

__all__ = [
    "CategoricalDrift",
    "ContinuousDrift",
    "DriftTest",
    "NewValue",
    "PopulationStability",
    "binned_counts",
    "categorical_drift",
    "chi_square_homogeneity",
    "continuous_drift",
    "count_values",
    "ks_two_sample",
    "new_values",
    "population_stability_index",
    "quantile_edges",
]

FloatArray = NDArray[np.float64]
Values = Sequence[Hashable] | NDArray[Any]  # one categorical column
EMPTY_FRACTION = 1e-4
EXACT_KS_MAX_N = 10_000  # scipy.stats.ks_2samp's MAX_AUTO_N


@dataclass(frozen=True, slots=True)
class DriftTest:
    """A two-sample test: its statistic, p-value, degrees of freedom (where it has them)."""

    statistic: float
    p_value: float
    method: str
    n_reference: int
    n_current: int
    dof: int | None = None


@dataclass(frozen=True, slots=True)
class PopulationStability:
    """PSI with its bins: fractions per bin (after the empty-bin floor) and each bin's share."""

    psi: float
    p_value: float
    labels: tuple[str, ...]
    reference_fraction: FloatArray
    current_fraction: FloatArray
    contribution: FloatArray
    method: str
    n_reference: int
    n_current: int


@dataclass(frozen=True, slots=True)
class NewValue:
    """A value of the current window never seen in the reference."""

    value: Hashable
    count: int
    first_index: int
    first_seen: Any = None  # the earliest of ``times`` where it appears, when times are given


@dataclass(frozen=True, slots=True)
class CategoricalDrift:
    categories: tuple[Hashable, ...]
    reference_counts: NDArray[np.int64]
    current_counts: NDArray[np.int64]
    chi_square: DriftTest
    psi: PopulationStability
    new_values: tuple[NewValue, ...]


@dataclass(frozen=True, slots=True)
class ContinuousDrift:
    ks: DriftTest
    psi: PopulationStability
    bin_edges: FloatArray  # the inner edges (outer bins are open)


# --- counts ------------------------------------------------------------------------------------


def _normalise(key: Hashable) -> Hashable:
    if isinstance(key, float) and math.isnan(key):
        return None
    if isinstance(key, np.generic):
        return key.item()  # type: ignore[no-any-return]
    return key


def count_values(values: Values) -> dict[Hashable, int]:
    """Count each distinct value (``None`` and NaN as one value, ``None``)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iubUS":
        keys, counts = np.unique(values, return_counts=True)
        return {_normalise(k): int(c) for k, c in zip(keys.tolist(), counts, strict=True)}
    counted: dict[Hashable, int] = {}
    for key, count in Counter(values).items():
        k = _normalise(key)
        counted[k] = counted.get(k, 0) + count
    return counted


def _as_counts(counts: ArrayLike, name: str) -> FloatArray:
    arr = check_finite(counts, name)
    bad = np.flatnonzero((arr < 0) | (arr != np.floor(arr)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} must hold whole counts >= 0; found {arr[i]:g} at index {i}")
    return arr


def _pair(reference_counts: ArrayLike, current_counts: ArrayLike) -> tuple[FloatArray, FloatArray]:
    ref = _as_counts(reference_counts, "reference_counts")
    cur = _as_counts(current_counts, "current_counts")
    if ref.shape != cur.shape:
        raise ValueError(
            f"reference_counts and current_counts must have one count per category; "
            f"got {ref.size} and {cur.size}"
        )
    if ref.sum() == 0 or cur.sum() == 0:
        which = "reference" if ref.sum() == 0 else "current"
        raise ValueError(f"the {which} window is empty")
    return ref, cur


# --- tests -------------------------------------------------------------------------------------


def chi_square_homogeneity(
    reference_counts: ArrayLike, current_counts: ArrayLike, *, correction: bool = False
) -> DriftTest:
    """Pearson's chi-square test that both windows share one distribution over the categories."""
    from scipy.special import chdtrc

    ref, cur = _pair(reference_counts, current_counts)
    keep = (ref + cur) > 0
    observed = np.vstack([ref[keep], cur[keep]])
    dof = int(observed.shape[1]) - 1
    n_ref, n_cur = int(ref.sum()), int(cur.sum())
    method = "chi-square test of homogeneity"
    if dof == 0:
        return DriftTest(0.0, 1.0, method, n_ref, n_cur, 0)
    rows = observed.sum(axis=1, keepdims=True)
    expected = rows * observed.sum(axis=0, keepdims=True) / observed.sum()
    if correction and dof == 1:
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
        method += " with Yates's correction"
    statistic = float(((observed - expected) ** 2 / expected).sum())
    return DriftTest(statistic, float(chdtrc(dof, statistic)), method, n_ref, n_cur, dof)


def population_stability_index(
    reference_counts: ArrayLike,
    current_counts: ArrayLike,
    *,
    labels: Sequence[str] | None = None,
    empty_fraction: float = EMPTY_FRACTION,
) -> PopulationStability:
    """PSI of the current window against the reference over the same bins or categories."""
    from scipy.special import chdtrc

    ref, cur = _pair(reference_counts, current_counts)
    if not 0.0 < empty_fraction < 1.0:
        raise ValueError(f"empty_fraction must lie in (0, 1); got {empty_fraction!r}")
    names = tuple(labels) if labels is not None else tuple(str(i) for i in range(ref.size))
    if len(names) != ref.size:
        raise ValueError(f"labels must name each of the {ref.size} bins; got {len(names)}")
    keep = (ref + cur) > 0
    n_ref, n_cur = float(ref.sum()), float(cur.sum())
    r = np.maximum(ref[keep] / n_ref, np.where(ref[keep] == 0, empty_fraction, 0.0))
    c = np.maximum(cur[keep] / n_cur, np.where(cur[keep] == 0, empty_fraction, 0.0))
    contribution = (c - r) * np.log(c / r)
    psi = float(contribution.sum())
    bins = int(keep.sum())
    p_value = float(chdtrc(bins - 1, psi / (1 / n_ref + 1 / n_cur))) if bins > 1 else 1.0
    return PopulationStability(
        psi=psi,
        p_value=p_value,
        labels=tuple(name for name, k in zip(names, keep, strict=True) if k),
        reference_fraction=r,
        current_fraction=c,
        contribution=contribution,
        method=(
            f"PSI over {bins} bins, empty fractions floored at {empty_fraction:g}; "
            "p-value from PSI / (1/n + 1/m) ~ chi-square (Yurdakul & Naranjo 2020)"
        ),
        n_reference=int(n_ref),
        n_current=int(n_cur),
    )


def _sorted_sample(values: ArrayLike, name: str) -> FloatArray:
    arr = check_finite(values, name)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    return np.sort(arr)


def _ks_statistic(ref: FloatArray, cur: FloatArray) -> float:
    """``max |F_ref - F_cur|`` over the observed values, both samples sorted.

    The difference of the two step functions changes only at observed values, and within a run
    of tied values it is settled at the run's last element: evaluating there (own CDF from the
    position, the other sample's by ``searchsorted``) covers every candidate.
    """
    n, m = ref.size, cur.size
    gap = 0.0
    for own, other, size, other_size in ((ref, cur, n, m), (cur, ref, m, n)):
        last = np.flatnonzero(np.append(own[1:] != own[:-1], True))
        values = own[last]
        diff = (last + 1) / size - np.searchsorted(other, values, side="right") / other_size
        gap = max(gap, float(np.abs(diff).max()))
    return gap


def ks_two_sample(reference: ArrayLike, current: ArrayLike) -> DriftTest:
    """Two-sample Kolmogorov-Smirnov test, two-sided, p-value as ``scipy.stats.ks_2samp``."""
    ref = _sorted_sample(reference, "reference")
    cur = _sorted_sample(current, "current")
    return _ks(ref, cur)


def _ks(ref: FloatArray, cur: FloatArray) -> DriftTest:
    n, m = int(ref.size), int(cur.size)
    if max(n, m) <= EXACT_KS_MAX_N:
        from scipy.stats import ks_2samp

        result = ks_2samp(ref, cur, method="auto")
        statistic, p_value = float(result.statistic), float(result.pvalue)
        method = "two-sample Kolmogorov-Smirnov, exact p-value"
    else:
        from scipy.stats import kstwo

        statistic = _ks_statistic(ref, cur)
        en = round(n * m / (n + m))
        if 2.0 * math.exp(-2.0 * en * statistic * statistic) == 0.0:
            p_value = 0.0  # below Massart's (1990) bound, itself below the smallest double
        else:
            p_value = float(np.clip(kstwo.sf(statistic, en), 0.0, 1.0))
        method = "two-sample Kolmogorov-Smirnov, asymptotic p-value"
    return DriftTest(statistic, p_value, method, n, m)


def quantile_edges(reference: ArrayLike, *, n_bins: int = 10) -> FloatArray:
    """Inner bin edges at the reference's quantiles, repeated edges merged."""
    if n_bins < 2:
        raise ValueError(f"n_bins must be at least 2; got {n_bins}")
    ref = _sorted_sample(reference, "reference")
    return _edges(ref, n_bins)


def _edges(sorted_ref: FloatArray, n_bins: int) -> FloatArray:
    inner = np.quantile(sorted_ref, np.arange(1, n_bins) / n_bins, method="inverted_cdf")
    return np.unique(inner)


def binned_counts(values: ArrayLike, edges: ArrayLike) -> NDArray[np.int64]:
    """Counts in the ``len(edges) + 1`` bins ``(e_(i-1), e_i]`` cut by ``edges``."""
    arr = _sorted_sample(values, "values")
    return _binned_sorted(arr, np.asarray(edges, dtype=np.float64))


def _binned_sorted(sorted_values: FloatArray, edges: FloatArray) -> NDArray[np.int64]:
    cuts = np.searchsorted(sorted_values, edges, side="right")
    bounds = np.concatenate([[0], cuts, [sorted_values.size]])
    return np.diff(bounds).astype(np.int64)


def _bin_labels(edges: FloatArray) -> tuple[str, ...]:
    bounds = ["-inf", *(f"{e:.6g}" for e in edges), "inf"]
    return tuple(f"({lo}, {hi}]" for lo, hi in zip(bounds[:-1], bounds[1:], strict=True))


def continuous_drift(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    n_bins: int = 10,
    empty_fraction: float = EMPTY_FRACTION,
) -> ContinuousDrift:
    """KS test and PSI over the reference's quantile bins for one continuous column."""
    if n_bins < 2:
        raise ValueError(f"n_bins must be at least 2; got {n_bins}")
    ref = _sorted_sample(reference, "reference")
    cur = _sorted_sample(current, "current")
    edges = _edges(ref, n_bins)
    psi = population_stability_index(
        _binned_sorted(ref, edges),
        _binned_sorted(cur, edges),
        labels=_bin_labels(edges),
        empty_fraction=empty_fraction,
    )
    return ContinuousDrift(ks=_ks(ref, cur), psi=psi, bin_edges=edges)


# --- new values and the categorical summary ------------------------------------------------------


def _is_missing(column: NDArray[Any]) -> NDArray[np.bool_]:
    if column.dtype.kind == "f":
        return np.asarray(np.isnan(column), dtype=bool)
    if column.dtype.kind != "O":
        return np.zeros(column.size, dtype=bool)
    test = np.frompyfunc(lambda v: v is None or (isinstance(v, float) and math.isnan(v)), 1, 1)
    return np.asarray(test(column), dtype=bool)


def _codes_of(column: NDArray[Any], wanted: list[Hashable]) -> NDArray[np.intp]:
    """Index in ``wanted`` of each value of ``column`` (-1 for the others), one vectorized
    comparison per wanted value (``None`` matches None and NaN)."""
    codes = np.full(column.size, -1, dtype=np.intp)
    for j, value in enumerate(wanted):
        codes[_is_missing(column) if value is None else (column == value)] = j
    return codes


def new_values(
    reference: Values,
    current: Values,
    *,
    times: ArrayLike | None = None,
    reference_values: Iterable[Hashable] | None = None,
) -> tuple[NewValue, ...]:
    """Values of ``current`` never seen in ``reference``, most frequent first.

    ``times`` (one per current value, any orderable type such as ``datetime64``) gives each new
    value's first appearance; ``reference_values`` may pass the reference's distinct values
    instead of recounting ``reference``.
    """
    seen = (
        {_normalise(v) for v in reference_values}
        if reference_values is not None
        else set(count_values(reference))
    )
    column = current if isinstance(current, np.ndarray) else np.array(current, dtype=object)
    if column.ndim != 1:
        raise ValueError(f"current must be one column of values; got shape {column.shape}")
    stamp = None if times is None else np.asarray(times)
    if stamp is not None and stamp.shape[0] != column.size:
        raise ValueError(
            f"times must have one entry per current value; got {stamp.shape[0]} and {column.size}"
        )
    novel = [v for v in count_values(column) if v not in seen]
    if not novel:
        return ()
    codes = _codes_of(column, novel)
    at = np.flatnonzero(codes >= 0)  # positions of new values, in order
    counts = np.bincount(codes[at], minlength=len(novel))
    first_index = np.full(len(novel), column.size, dtype=np.intp)
    np.minimum.at(first_index, codes[at], at)
    first_seen: list[Any] = [None] * len(novel)
    if stamp is not None:
        by_time = at[np.lexsort((stamp[at], codes[at]))]  # grouped by value, earliest first
        group_start = np.flatnonzero(np.diff(codes[by_time], prepend=-1) != 0)
        for pos in by_time[group_start]:
            first_seen[codes[pos]] = stamp[pos]
    found = [
        NewValue(
            value=v, count=int(counts[j]), first_index=int(first_index[j]), first_seen=first_seen[j]
        )
        for j, v in enumerate(novel)
    ]
    found.sort(key=lambda nv: (-nv.count, nv.first_index))
    return tuple(found)


def categorical_drift(
    reference: Values,
    current: Values,
    *,
    times: ArrayLike | None = None,
    correction: bool = False,
    empty_fraction: float = EMPTY_FRACTION,
) -> CategoricalDrift:
    """Chi-square test, PSI and new values for one categorical column."""
    ref_counts = count_values(reference)
    cur_counts = count_values(current)
    categories = tuple(sorted(set(ref_counts) | set(cur_counts), key=lambda v: (v is None, str(v))))
    ref = np.array([ref_counts.get(c, 0) for c in categories], dtype=np.int64)
    cur = np.array([cur_counts.get(c, 0) for c in categories], dtype=np.int64)
    novel = tuple(c for c in cur_counts if c not in ref_counts)
    found: tuple[NewValue, ...] = ()
    if novel:
        found = new_values((), current, times=times, reference_values=ref_counts)
    return CategoricalDrift(
        categories=categories,
        reference_counts=ref,
        current_counts=cur,
        chi_square=chi_square_homogeneity(ref, cur, correction=correction),
        psi=population_stability_index(
            ref, cur, labels=[str(c) for c in categories], empty_fraction=empty_fraction
        ),
        new_values=found,
    )
