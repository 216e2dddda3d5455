"""Control charts for monitoring a deployed model: CUSUM, EWMA and a run rule.

Every chart returns a :class:`ControlChart`: the statistic per period (or per observation), its
limits, which points signal, the first signal, the method and n.  Their run lengths (how long
to a false alarm, how long to detect a shift) are in :mod:`radgov.stats.run_length`.

``tabular_cusum``
    Montgomery, *Introduction to Statistical Quality Control* (6th ed., 2009), section 9.1.2:
    ``C+_i = max(0, x_i - (mu0 + K) + C+_(i-1))``, ``C-_i = max(0, (mu0 - K) - x_i + C-_(i-1))``
    with ``K = k sigma``, ``H = h sigma``; a point signals when either exceeds ``H``.  ``N+`` and
    ``N-`` count the consecutive periods each has been nonzero, and at the first signal the new
    mean is estimated as ``mu0 + K + C+/N+`` (or ``mu0 - K - C-/N-``), as he does.
``ewma_chart``
    Montgomery section 9.2: ``z_i = lam x_i + (1 - lam) z_(i-1)``, ``z_0 = mu0``.  The exact
    limits use the variance of ``z_i``; with one sigma for every period that is
    ``sigma^2 lam / (2 - lam) (1 - (1 - lam)^(2i))``, and with a sigma per
    period (a proportion on a varying number of exams) the recursion
    ``v_i = (1 - lam)^2 v_(i-1) + lam^2 sigma_i^2``.  The asymptotic limits drop the
    ``(1 - lam)^(2i)`` start-up: ``sigma_i^2 lam / (2 - lam)``.
``ewma_proportion``
    The EWMA of a rate per period (discordant / assessed), with ``sigma_i^2 = p0 (1 - p0) / n_i``;
    periods with no exams leave the EWMA where it was.
``bernoulli_cusum``
    Runs a :class:`~radgov.stats.run_length.BernoulliCusumDesign` over the outcomes in time
    order (1 = the event monitored, e.g. AI and report discordant): Reynolds & Stoumbos (1999)
    ``B_t = max(0, B_(t-1) + X_t - gamma)``, signal when ``B_t >= h``, computed on the integer
    lattice so that the chart is exactly the one whose ARL the design gives.
``consecutive_above_baseline``
    The run rule of the published pulmonary-embolism monitoring (JACR 2025, issue 15): a rate
    per period (a day) against the upper bound of the baseline period's confidence interval,
    signalling when ``run_length`` consecutive periods (7) lie above it.  A Western Electric
    style run rule (Western Electric, *Statistical Quality Control Handbook*, 1956; Nelson
    1984 rule 2 counts points on one side of the centre line in the same way).  A period with no
    exams breaks a run: it is not above the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import check_binary, check_finite
from .proportions import ProportionMethod, proportion_ci, proportion_ci_arrays
from .run_length import BernoulliCusumDesign

__all__ = [
    "ControlChart",
    "bernoulli_cusum",
    "bernoulli_cusum_method",
    "consecutive_above_baseline",
    "ewma_chart",
    "ewma_proportion",
    "tabular_cusum",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]
EwmaLimits = Literal["exact", "asymptotic"]


@dataclass(frozen=True, slots=True)
class ControlChart:
    """One chart over ``n`` periods (or observations).

    ``statistic`` is what is plotted; ``upper_limit``/``lower_limit`` are its limits per point
    (``-inf`` where a chart has no lower limit).  ``signals`` marks the points beyond a limit and
    ``first_signal`` is the index of the first (None when there is none).  ``lower_statistic``
    is the tabular CUSUM's ``C-`` (None for other charts); ``shift_estimate`` the estimated new
    level at the first signal where the method gives one.
    """

    statistic: FloatArray
    upper_limit: FloatArray
    lower_limit: FloatArray
    centre: float
    signals: BoolArray
    first_signal: int | None
    method: str
    n: int
    lower_statistic: FloatArray | None = None
    shift_estimate: float | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form (infinite limits become None)."""

        def clean(a: FloatArray | None) -> list[float | None] | None:
            if a is None:
                return None
            return [float(v) if np.isfinite(v) else None for v in a]

        return {
            "statistic": clean(self.statistic),
            "upper_limit": clean(self.upper_limit),
            "lower_limit": clean(self.lower_limit),
            "lower_statistic": clean(self.lower_statistic),
            "centre": self.centre,
            "signals": [bool(s) for s in self.signals],
            "first_signal": self.first_signal,
            "shift_estimate": self.shift_estimate,
            "method": self.method,
            "n": self.n,
        }


def _first(mask: BoolArray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def _run_lengths(active: BoolArray) -> IntArray:
    """Length of the current run of True ending at each point (0 where False)."""
    idx = np.arange(active.shape[0])
    last_false = np.maximum.accumulate(np.where(active, -1, idx))
    out: IntArray = np.where(active, idx - last_false, 0)
    return out


def _check_positive(value: float, name: str) -> float:
    v = float(value)
    if not v > 0 or not np.isfinite(v):
        raise ValueError(f"{name} must be a positive number; got {v!r}")
    return v


def _one_sided_cusum(steps: FloatArray) -> FloatArray:
    """``C_i = max(0, C_(i-1) + steps_i)``, C_0 = 0, vectorized.

    ``C_i = S_i - min(0, min_(j<=i) S_j)`` with ``S`` the cumulative sum (Page's form).
    """
    total = np.cumsum(steps)
    floor = np.minimum.accumulate(np.minimum(total, 0.0))
    out: FloatArray = np.maximum(total - floor, 0.0)
    return out


def tabular_cusum(
    x: ArrayLike, *, target: float, sigma: float, k: float = 0.5, h: float = 5.0
) -> ControlChart:
    """Two-sided tabular CUSUM of a mean (Montgomery section 9.1.2); ``k``, ``h`` in sigmas.

    ``statistic`` is ``C+`` and ``lower_statistic`` is ``C-``; both share the limit ``H``.
    """
    values = check_finite(x, "x")
    sigma = _check_positive(sigma, "sigma")
    if k < 0:
        raise ValueError(f"k must not be negative; got {k!r}")
    h = _check_positive(h, "h")
    big_k, big_h = k * sigma, h * sigma
    upper = _one_sided_cusum(values - (target + big_k))
    lower = _one_sided_cusum((target - big_k) - values)
    signals = (upper > big_h) | (lower > big_h)
    first = _first(signals)
    shift = None
    if first is not None:
        if upper[first] > big_h:
            runs = _run_lengths(upper > 0)
            shift = target + big_k + float(upper[first]) / int(runs[first])
        else:
            runs = _run_lengths(lower > 0)
            shift = target - big_k - float(lower[first]) / int(runs[first])
    n = int(values.shape[0])
    return ControlChart(
        statistic=upper,
        upper_limit=np.full(n, big_h),
        lower_limit=np.full(n, -np.inf),
        centre=0.0,
        signals=signals,
        first_signal=first,
        method=f"tabular CUSUM (Montgomery), k = {k:g}, h = {h:g}",
        n=n,
        lower_statistic=lower,
        shift_estimate=shift,
    )


def _filter(values: FloatArray, weight: float, keep: float, start: float) -> FloatArray:
    """``y_i = weight x_i + keep y_(i-1)`` with ``y_0 = start``, by ``scipy.signal.lfilter``."""
    from scipy.signal import lfilter

    if values.size == 0:
        return np.zeros(0)
    out, _ = lfilter([weight], [1.0, -keep], values, zi=[keep * start])
    result: FloatArray = np.asarray(out, dtype=np.float64)
    return result


def _ewma_variance(sigma2: FloatArray, lam: float, limits: EwmaLimits) -> FloatArray:
    if limits == "asymptotic":
        out: FloatArray = sigma2 * lam / (2.0 - lam)
        return out
    if limits != "exact":
        raise ValueError(f"limits must be 'exact' or 'asymptotic'; got {limits!r}")
    # v_i = (1 - lam)^2 v_(i-1) + lam^2 sigma_i^2, v_0 = 0
    return _filter(sigma2, lam * lam, (1.0 - lam) ** 2, 0.0)


def _ewma_chart(
    values: FloatArray,
    sigma2: FloatArray,
    *,
    target: float,
    lam: float,
    limit: float,
    limits: EwmaLimits,
    method: str,
) -> ControlChart:
    if not 0.0 < lam <= 1.0:
        raise ValueError(f"lam must lie in (0, 1]; got {lam!r}")
    limit = _check_positive(limit, "limit")
    z = _filter(values, lam, 1.0 - lam, target)
    half = limit * np.sqrt(_ewma_variance(sigma2, lam, limits))
    upper, lower = target + half, target - half
    signals = (z > upper) | (z < lower)
    return ControlChart(
        statistic=z,
        upper_limit=upper,
        lower_limit=lower,
        centre=float(target),
        signals=signals,
        first_signal=_first(signals),
        method=f"{method}, lambda = {lam:g}, L = {limit:g}, {limits} limits",
        n=int(values.shape[0]),
    )


def ewma_chart(
    x: ArrayLike,
    *,
    target: float,
    sigma: float | ArrayLike,
    lam: float = 0.1,
    limit: float = 2.7,
    limits: EwmaLimits = "exact",
) -> ControlChart:
    """EWMA of a mean (Montgomery section 9.2); ``sigma`` one value or one per period."""
    values = check_finite(x, "x")
    sig = np.broadcast_to(check_finite(np.atleast_1d(sigma), "sigma"), values.shape)
    if np.any(sig <= 0):
        raise ValueError("sigma must be positive")
    return _ewma_chart(
        values, sig**2, target=target, lam=lam, limit=limit, limits=limits, method="EWMA"
    )


def _check_counts(successes: ArrayLike, n: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x = check_finite(successes, "successes")
    m = check_finite(n, "n")
    if x.shape != m.shape:
        raise ValueError(f"successes and n must have the same length; got {x.size} and {m.size}")
    bad = np.flatnonzero((x < 0) | (m < 0) | (x > m) | (x != np.floor(x)) | (m != np.floor(m)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"period {i}: need whole counts with 0 <= successes <= n; got {x[i]:g} of {m[i]:g}"
        )
    return x, m


def ewma_proportion(
    successes: ArrayLike,
    n: ArrayLike,
    *,
    p0: float,
    lam: float = 0.1,
    limit: float = 2.7,
    limits: EwmaLimits = "exact",
) -> ControlChart:
    """EWMA of a rate per period against the in-control rate ``p0`` (e.g. a baseline rate).

    ``sigma_i^2 = p0 (1 - p0) / n_i``; a period with ``n_i = 0`` carries the EWMA and its
    variance over unchanged (its point is not a signal of its own).
    """
    x, m = _check_counts(successes, n)
    if not 0.0 < p0 < 1.0:
        raise ValueError(f"p0 must lie strictly between 0 and 1; got {p0!r}")
    seen = m > 0
    rate = np.where(seen, x / np.where(seen, m, 1.0), np.nan)
    sigma2 = p0 * (1.0 - p0) / np.where(seen, m, 1.0)
    inner = _ewma_chart(
        rate[seen],
        sigma2[seen],
        target=p0,
        lam=lam,
        limit=limit,
        limits=limits,
        method="EWMA of a proportion",
    )
    # spread the observed periods' values over all periods (carry forward over empty ones)
    position = np.cumsum(seen) - 1
    known = position >= 0

    def spread(a: FloatArray, before: float) -> FloatArray:
        if a.size == 0:  # no period has exams
            return np.full(m.shape[0], before)
        out: FloatArray = np.where(known, a[np.maximum(position, 0)], before)
        return out

    signals = np.zeros(m.shape[0], dtype=bool)
    signals[seen] = inner.signals
    return ControlChart(
        statistic=spread(inner.statistic, p0),
        upper_limit=spread(inner.upper_limit, np.nan),
        lower_limit=spread(inner.lower_limit, np.nan),
        centre=float(p0),
        signals=signals,
        first_signal=_first(signals),
        method=inner.method,
        n=int(m.shape[0]),
    )


def bernoulli_cusum(
    outcomes: ArrayLike, design: BernoulliCusumDesign, *, start: float = 0.0
) -> ControlChart:
    """Run a Bernoulli CUSUM over 0/1 outcomes in time order (one point per observation).

    The chart is computed in whole lattice steps (up ``scale - step_down`` on a 1, down
    ``step_down`` on a 0), so its values are exact multiples of ``1 / scale``.  ``start``
    continues a chart from its last value (``B_0``; 0 for a new chart): running the outcomes
    in two parts, the second from the first's last value, gives the chart of the whole.
    """
    events = check_binary(outcomes, "outcomes")
    begin = round(float(start) * design.scale)
    if begin < 0 or abs(begin - float(start) * design.scale) > 1e-6:
        raise ValueError(f"start must be a value of the chart (a multiple of 1/{design.scale})")
    steps = np.where(events, design.scale - design.step_down, -design.step_down).astype(np.int64)
    total = begin + np.cumsum(steps)
    lattice = total - np.minimum.accumulate(np.minimum(total, 0))
    statistic = lattice / design.scale
    signals = lattice >= design.limit_steps
    n = int(events.shape[0])
    return ControlChart(
        statistic=statistic.astype(np.float64),
        upper_limit=np.full(n, design.h),
        lower_limit=np.full(n, -np.inf),
        centre=0.0,
        signals=signals,
        first_signal=_first(signals),
        method=bernoulli_cusum_method(design),
        n=n,
    )


def bernoulli_cusum_method(design: BernoulliCusumDesign) -> str:
    """How :func:`bernoulli_cusum` names its chart: the design with its exact ARLs."""
    return f"{design.method}; ARL0 = {design.arl0:.0f}, ARL1 = {design.arl1:.1f}"


def consecutive_above_baseline(
    successes: ArrayLike,
    n: ArrayLike,
    *,
    baseline_successes: int,
    baseline_n: int,
    run_length: int = 7,
    method: ProportionMethod = "wilson",
    confidence_level: float = 0.95,
) -> ControlChart:
    """The N-consecutive-periods rule: signal when ``run_length`` periods in a row are above.

    ``statistic`` is each period's rate (NaN for a period with no exams); ``upper_limit`` the
    upper bound of the baseline rate's interval (``method``, ``confidence_level``) and
    ``lower_limit`` its lower bound; ``signals`` marks the periods that complete a run of
    ``run_length`` or more.
    """
    x, m = _check_counts(successes, n)
    if run_length < 1:
        raise ValueError(f"run_length must be at least 1; got {run_length}")
    base = proportion_ci(
        baseline_successes, baseline_n, method=method, confidence_level=confidence_level
    )
    if not base.estimable:
        raise ValueError("the baseline period has no exams (baseline_n = 0)")
    rate, _, _ = proportion_ci_arrays(x, m, method=method, confidence_level=confidence_level)
    above = np.nan_to_num(rate, nan=-np.inf) > base.ci_high
    signals = _run_lengths(above) >= run_length
    size = int(m.shape[0])
    return ControlChart(
        statistic=rate,
        upper_limit=np.full(size, base.ci_high),
        lower_limit=np.full(size, base.ci_low),
        centre=base.estimate,
        signals=signals,
        first_signal=_first(signals),
        method=(
            f"{run_length} consecutive periods above the baseline's "
            f"{confidence_level:.0%} {method} interval"
        ),
        n=size,
    )
