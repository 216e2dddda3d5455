"""Funnel plots for rates: which units (radiologists, sites) differ from a target beyond chance.

Spiegelhalter DJ (2005), "Funnel plots for comparing institutional performance", Statistics in
Medicine 24:1185-1202.  Each unit has ``events`` out of ``n`` (e.g. overrides of the AI out of
the AI results it reviewed); the target ``theta`` is a standard or, by default, the pooled
rate of all units.  Control limits around ``theta`` as a function of ``n``:

``method="exact"``
    Binomial limits with Spiegelhalter's interpolation (his Appendix A.1.1): for a tail
    probability ``p``, ``r_p`` is the smallest r with ``P(R <= r) >= p`` for
    ``R ~ Binomial(n, theta)``, ``alpha = (P(R <= r_p) - p) / (P(R <= r_p) - P(R <= r_p - 1))``
    and the limit is ``(r_p - alpha) / n``, so that the limits are smooth in n.
``method="normal"``
    ``theta +/- z_p sqrt(theta (1 - theta) / n)``.

``p`` is 0.025 / 0.975 for the 95 % limits and 0.001 / 0.999 for the 99.8 % limits (about 2 and 3
standard deviations).  Limits are clipped to [0, 1].

Over-dispersion (his section 6), optional: each unit's z-score
``z_i = (y_i - theta) / sqrt(theta (1 - theta) / n_i)`` is Winsorized at the 10th and 90th
percentiles (the lowest and highest 10 % set to those percentiles) and
``phi = sum z_i^2 / I`` over the I units.  If ``I phi`` exceeds ``I - 1`` (its expectation without
over-dispersion),

* ``overdispersion="multiplicative"`` widens the normal limits to
  ``theta +/- z_p sqrt(phi theta (1 - theta) / n)``;
* ``overdispersion="additive"`` adds a between-unit variance (DerSimonian-Laird)
  ``tau^2 = (I phi - (I - 1)) / (sum w_i - sum w_i^2 / sum w_i)`` with
  ``w_i = 1 / s_i^2``, ``s_i^2 = theta (1 - theta) / n_i``: limits
  ``theta +/- z_p sqrt(s^2 + tau^2)``.

Either adjustment uses the normal limits; without over-dispersion the limits stay as asked.  A unit is flagged ``"high"``/``"low"`` beyond the 95 %
limits and ``"high-99.8"``/``"low-99.8"`` beyond the 99.8 % limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtri

from ._validation import check_finite

__all__ = ["Funnel", "FunnelLimits", "funnel_limits", "funnel_plot", "overdispersion"]

FloatArray = NDArray[np.float64]
FunnelMethod = Literal["exact", "normal"]
Overdispersion = Literal["none", "multiplicative", "additive"]
TAILS = {"95": (0.025, 0.975), "99.8": (0.001, 0.999)}


@dataclass(frozen=True, slots=True)
class FunnelLimits:
    """Control limits at each ``n``: 95 % and 99.8 %, lower and upper."""

    n: FloatArray
    low_95: FloatArray
    high_95: FloatArray
    low_998: FloatArray
    high_998: FloatArray
    target: float
    method: str


@dataclass(frozen=True, slots=True)
class Funnel:
    """Each unit's rate, z-score, limits at its n and flag; the dispersion used."""

    rate: FloatArray
    n: FloatArray
    z: FloatArray
    limits: FunnelLimits
    flags: tuple[str, ...]
    phi: float
    tau2: float
    method: str
    n_units: int


def _exact_limit(n: FloatArray, theta: float, p: float) -> FloatArray:
    from scipy.stats import binom

    r = binom.ppf(p, n, theta)  # smallest r with P(R <= r) >= p
    upper_cdf = binom.cdf(r, n, theta)
    lower_cdf = binom.cdf(r - 1, n, theta)
    alpha = (upper_cdf - p) / (upper_cdf - lower_cdf)
    out: FloatArray = (r - alpha) / n
    return out


def _check_theta(theta: float) -> float:
    value = float(theta)
    if not 0.0 < value < 1.0:
        raise ValueError(f"target must lie strictly between 0 and 1; got {value!r}")
    return value


def funnel_limits(
    n: ArrayLike,
    *,
    target: float,
    method: FunnelMethod = "exact",
    phi: float = 1.0,
    tau2: float = 0.0,
) -> FunnelLimits:
    """The funnel's limits at each ``n`` (e.g. a grid to draw, or each unit's n).

    ``phi`` > 1 or ``tau2`` > 0 (from :func:`overdispersion`) widen normal limits.
    """
    theta = _check_theta(target)
    size = check_finite(np.atleast_1d(np.asarray(n, dtype=np.float64)), "n")
    if np.any(size <= 0):
        raise ValueError("n must be positive")
    if method not in ("exact", "normal"):
        raise ValueError(f"method must be 'exact' or 'normal'; got {method!r}")
    widened = phi != 1.0 or tau2 != 0.0
    if widened and method == "exact":
        raise ValueError("over-dispersion widens the normal limits: use method='normal'")
    variance = phi * theta * (1 - theta) / size + tau2
    bounds: dict[float, FloatArray] = {}
    for p in (0.025, 0.975, 0.001, 0.999):
        if method == "exact":
            limit = _exact_limit(size, theta, p)
        else:
            limit = theta + float(ndtri(p)) * np.sqrt(variance)
        bounds[p] = np.clip(limit, 0.0, 1.0)
    label = "exact binomial (Spiegelhalter 2005)" if method == "exact" else "normal approximation"
    if phi != 1.0:
        label += f", multiplicative over-dispersion phi = {phi:.3g}"
    if tau2 != 0.0:
        label += f", additive over-dispersion tau^2 = {tau2:.3g}"
    return FunnelLimits(
        n=size,
        low_95=bounds[0.025],
        high_95=bounds[0.975],
        low_998=bounds[0.001],
        high_998=bounds[0.999],
        target=theta,
        method=label,
    )


def overdispersion(z: ArrayLike, n: ArrayLike, *, target: float) -> tuple[float, float]:
    """Spiegelhalter's (phi, tau^2) from the units' z-scores, Winsorized at 10 % / 90 %.

    ``phi`` is the mean squared Winsorized z-score; ``tau2`` the additive between-unit variance
    (0 when ``I phi <= I - 1``).
    """
    theta = _check_theta(target)
    scores = check_finite(z, "z")
    size = check_finite(n, "n")
    units = scores.size
    if units < 2:
        raise ValueError("over-dispersion needs at least 2 units")
    low, high = np.percentile(scores, [10, 90])
    phi = float(np.mean(np.clip(scores, low, high) ** 2))
    weights = size / (theta * (1 - theta))  # 1 / s_i^2
    excess = units * phi - (units - 1)
    tau2 = 0.0
    if excess > 0:
        tau2 = excess / (weights.sum() - (weights**2).sum() / weights.sum())
    return phi, tau2


def _flag(rate: float, low95: float, high95: float, low998: float, high998: float) -> str:
    if rate > high998:
        return "high-99.8"
    if rate > high95:
        return "high"
    if rate < low998:
        return "low-99.8"
    if rate < low95:
        return "low"
    return "within"


def funnel_plot(
    events: ArrayLike,
    n: ArrayLike,
    *,
    target: float | None = None,
    method: FunnelMethod = "exact",
    overdispersion_adjustment: Overdispersion = "none",
) -> Funnel:
    """Rates of many units against a target, with limits and flags.

    ``target`` defaults to the pooled rate ``sum events / sum n``.  Units with ``n = 0`` are
    refused (there is no rate to place).
    """
    y = check_finite(events, "events")
    size = check_finite(n, "n")
    if y.shape != size.shape:
        raise ValueError(f"events and n must have one entry per unit; got {y.size} and {size.size}")
    bad = np.flatnonzero((size <= 0) | (y < 0) | (y > size) | (y != np.floor(y)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"unit {i}: need whole counts with 0 <= events <= n and n > 0; got {y[i]:g} of {size[i]:g}"
        )
    theta = _check_theta(y.sum() / size.sum() if target is None else target)
    rate = y / size
    z = (rate - theta) / np.sqrt(theta * (1 - theta) / size)
    phi, tau2 = 1.0, 0.0
    if overdispersion_adjustment != "none":
        if overdispersion_adjustment not in ("multiplicative", "additive"):
            raise ValueError(
                "overdispersion_adjustment must be 'none', 'multiplicative' or 'additive'; "
                f"got {overdispersion_adjustment!r}"
            )
        estimated_phi, estimated_tau2 = overdispersion(z, size, target=theta)
        if estimated_tau2 > 0:  # I phi > I - 1: the units vary more than chance
            if overdispersion_adjustment == "multiplicative":
                phi = estimated_phi
            else:
                tau2 = estimated_tau2
            method = "normal"
    limits = funnel_limits(size, target=theta, method=method, phi=phi, tau2=tau2)
    flags = tuple(
        _flag(*v)
        for v in zip(
            rate, limits.low_95, limits.high_95, limits.low_998, limits.high_998, strict=True
        )
    )
    return Funnel(
        rate=rate,
        n=size,
        z=z,
        limits=limits,
        flags=flags,
        phi=phi,
        tau2=tau2,
        method=limits.method,
        n_units=int(size.size),
    )
