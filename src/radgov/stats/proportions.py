"""Confidence intervals for a binomial proportion.

Methods (``method=``):

``"wilson"``
    Wilson (1927) score interval without continuity correction; Newcombe (1998) method 3.
    The default: near-nominal coverage and never outside [0, 1] (Brown, Cai & DasGupta 2001).
``"clopper-pearson"``
    The "exact" interval of Clopper & Pearson (1934) from beta quantiles; Newcombe (1998)
    method 5.  Conservative: coverage is at least nominal.
``"agresti-coull"``
    Agresti & Coull (1998) "add z^2/2 successes and z^2/2 failures" Wald interval, in the form
    of Brown, Cai & DasGupta (2001) eq. (5): ``n~ = n + z^2``, ``p~ = (x + z^2/2) / n~``,
    ``p~ +/- z sqrt(p~ (1 - p~) / n~)``, truncated to [0, 1].

``proportion_ci`` answers one proportion as an :class:`~radgov.stats.results.Estimate`;
``proportion_ci_arrays`` answers many at once (one subgroup per element) with numpy arrays.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import check_confidence_level, z_value
from .results import Estimate

__all__ = ["METHODS", "ProportionMethod", "proportion_ci", "proportion_ci_arrays"]

ProportionMethod = Literal["wilson", "clopper-pearson", "agresti-coull"]
METHODS: tuple[str, ...] = ("wilson", "clopper-pearson", "agresti-coull")

FloatArray = NDArray[np.float64]


def _check_counts(successes: ArrayLike, n: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    x, m = np.broadcast_arrays(x, m)
    for name, arr in (("successes", x), ("n", m)):
        bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0) | (arr != np.floor(arr)))
        if bad.size:
            i = int(bad[0])
            where = f" at index {i}" if arr.ndim else ""
            raise ValueError(
                f"{name} must be a non-negative whole number; found {arr.flat[i]!r}{where}"
            )
    bad = np.flatnonzero(x > m)
    if bad.size:
        i = int(bad[0])
        where = f" at index {i}" if x.ndim else ""
        raise ValueError(f"successes must not exceed n; found {x.flat[i]:g} > {m.flat[i]:g}{where}")
    return x, m


def proportion_ci_arrays(
    successes: ArrayLike,
    n: ArrayLike,
    *,
    method: ProportionMethod = "wilson",
    confidence_level: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Vectorized intervals: ``(estimate, low, high)``, each shaped like the broadcast inputs.

    Elements with ``n == 0`` are NaN in all three arrays (not estimable).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    level = check_confidence_level(confidence_level)
    x, m = _check_counts(successes, n)
    z = z_value(level)
    empty = m == 0
    safe_m = np.where(empty, 1.0, m)
    p = x / safe_m

    if method == "wilson":
        z2 = z * z
        denom = safe_m + z2
        centre = (x + z2 / 2.0) / denom
        half = z / denom * np.sqrt(x * (safe_m - x) / safe_m + z2 / 4.0)
        low, high = centre - half, centre + half
        # exact bounds at the edges (the formula gives them up to rounding)
        low = np.where(x == 0, 0.0, low)
        high = np.where(x == safe_m, 1.0, high)
    elif method == "clopper-pearson":
        alpha = 1.0 - level
        low = np.where(
            x == 0, 0.0, special.betaincinv(np.maximum(x, 1e-300), safe_m - x + 1, alpha / 2)
        )
        high = np.where(
            x == safe_m,
            1.0,
            special.betaincinv(x + 1, np.maximum(safe_m - x, 1e-300), 1.0 - alpha / 2),
        )
    else:  # agresti-coull
        z2 = z * z
        n_tilde = safe_m + z2
        p_tilde = (x + z2 / 2.0) / n_tilde
        half = z * np.sqrt(p_tilde * (1.0 - p_tilde) / n_tilde)
        low = np.clip(p_tilde - half, 0.0, 1.0)
        high = np.clip(p_tilde + half, 0.0, 1.0)

    nan = np.nan
    estimate = np.where(empty, nan, p).astype(np.float64)
    low = np.where(empty, nan, np.clip(low, 0.0, 1.0)).astype(np.float64)
    high = np.where(empty, nan, np.clip(high, 0.0, 1.0)).astype(np.float64)
    return estimate, low, high


def proportion_ci(
    successes: int,
    n: int,
    *,
    method: ProportionMethod = "wilson",
    confidence_level: float = 0.95,
) -> Estimate:
    """Proportion ``successes / n`` with its confidence interval.

    ``n == 0`` gives a not-estimable :class:`Estimate` (NaN numbers and a reason).

    >>> proportion_ci(81, 263).ci_low  # Newcombe (1998) Table II, Wilson  # doctest: +ELLIPSIS
    0.2553...
    """
    estimate, low, high = proportion_ci_arrays(
        successes, n, method=method, confidence_level=confidence_level
    )
    count = int(n)
    if count == 0:
        return Estimate.not_estimable(
            "no cases in the denominator (n = 0)",
            method=method,
            n=0,
            confidence_level=confidence_level,
        )
    return Estimate(
        float(estimate), float(low), float(high), method, count, float(confidence_level)
    )
