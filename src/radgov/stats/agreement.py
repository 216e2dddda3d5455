"""Agreement between two measurement methods, and reliability among raters.

``bland_altman``
    Bias (mean difference ``a - b``) and 95% limits of agreement ``bias +/- 1.96 sd``, each with
    a confidence interval.  The bias interval is the exact t interval.  The limits' intervals
    are, by default (``limits_ci="bland-altman"``), those of Bland & Altman (1986, 1999): the
    approximate standard error ``sqrt(3 s^2 / n)`` with a t quantile on ``n - 1`` degrees of
    freedom.  ``limits_ci="carkeet"`` gives Carkeet's (2015, Optom Vis Sci 92:e71-e80) exact
    interval: the interval for the upper limit is ``mean + K s`` with ``K`` the two-sided
    normal tolerance factor for content ``agreement_level`` at confidence ``(1 -/+ level)/2``,
    i.e. ``K`` solves ``E_x[P(chi2_{n-1} > (n-1) r(x)^2 / K^2)] = gamma`` where
    ``x ~ N(0, 1/n)`` and ``Phi(x + r) - Phi(x - r) = agreement_level`` (Gauss-Hermite
    quadrature over x, Brent's method for K); the lower limit by symmetry.
    ``limits_ci="noncentral-t"`` treats each limit as the normal percentile
    ``mu +/- z sigma`` on its own: ``(limit - mean) sqrt(n) / s`` is noncentral t with
    ``n - 1`` degrees of freedom and noncentrality ``z sqrt(n)``, which gives an exact
    interval for that percentile.
``icc``
    The six intraclass correlations of Shrout & Fleiss (1979), from the two-way ANOVA mean
    squares of an n-targets x k-raters table, with their F-based intervals: the exact F
    intervals for ICC(1,*) and ICC(3,*), the Satterthwaite approximation of Shrout & Fleiss
    (1979; McGraw & Wong 1996) for ICC(2,1), and its Spearman-Brown step-up
    for ICC(2,k) (the convention of R's ``psych::ICC``, which the tests reproduce).
``concordance_correlation``
    Lin's (1989) concordance correlation coefficient with the interval on Fisher's z scale,
    using Lin's asymptotic variance (Lin 1989, with the correction of Lin 2000).
``mean_absolute_error``
    Mean of ``|a - b|`` with a t interval computed on the absolute differences (a normal-theory
    interval for the mean of a skewed quantity: adequate for moderate n, said in the method).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import check_confidence_level, check_finite, check_same_length, z_value
from .results import Estimate

# scipy.stats and scipy.optimize are imported where they are used: importing them costs
# about 0.4 s, which ``radgov evaluate`` on a binary task (which imports this module) never
# needs to pay.

__all__ = [
    "ICC_FORMS",
    "LIMITS_CI",
    "BlandAltman",
    "carkeet_factor",
    "bland_altman",
    "concordance_correlation",
    "icc",
    "mean_absolute_error",
]

FloatArray = NDArray[np.float64]
IccForm = Literal["ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)"]
ICC_FORMS: tuple[str, ...] = (
    "ICC(1,1)",
    "ICC(2,1)",
    "ICC(3,1)",
    "ICC(1,k)",
    "ICC(2,k)",
    "ICC(3,k)",
)
LimitsCI = Literal["bland-altman", "carkeet", "noncentral-t"]
LIMITS_CI: tuple[str, ...] = ("bland-altman", "carkeet", "noncentral-t")


def _paired(a: ArrayLike, b: ArrayLike, minimum: int) -> tuple[FloatArray, FloatArray]:
    x = check_finite(a, "a")
    y = check_finite(b, "b")
    n = check_same_length(a=x, b=y)
    if n < minimum:
        raise ValueError(f"at least {minimum} pairs are needed; got {n}")
    return x, y


@dataclass(frozen=True, slots=True)
class BlandAltman:
    """Bland-Altman analysis of ``a - b``.

    ``bias``, ``lower_limit`` and ``upper_limit`` are :class:`Estimate` objects carrying their
    confidence intervals; ``sd`` is the sample SD of the differences (``n - 1`` denominator);
    ``agreement_level`` is the coverage the limits aim at (0.95 gives ``bias +/- 1.96 sd``).
    ``means`` and ``differences`` are what a Bland-Altman plot draws.
    """

    bias: Estimate
    sd: float
    lower_limit: Estimate
    upper_limit: Estimate
    n: int
    confidence_level: float
    agreement_level: float
    method: str
    means: FloatArray = field(repr=False, compare=False)
    differences: FloatArray = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (without the plotting arrays)."""
        return {
            "bias": self.bias.to_dict(),
            "sd": self.sd,
            "lower_limit": self.lower_limit.to_dict(),
            "upper_limit": self.upper_limit.to_dict(),
            "n": self.n,
            "confidence_level": self.confidence_level,
            "agreement_level": self.agreement_level,
            "method": self.method,
        }


def _half_range(x: FloatArray, content: float) -> FloatArray:
    """r with Phi(x + r) - Phi(x - r) = content, by Newton's method for every x at once.

    Started to the right of the root, where the function is increasing and concave, Newton's
    iterates fall monotonically onto it.
    """
    from scipy import stats

    ax = np.abs(x)
    r = ax + float(stats.norm.ppf(0.5 + content / 2.0))
    for _ in range(100):
        f = stats.norm.cdf(ax + r) - stats.norm.cdf(ax - r) - content
        step = f / (stats.norm.pdf(ax + r) + stats.norm.pdf(ax - r))
        r = r - step
        if float(np.max(np.abs(step))) < 1e-13:
            break
    out: FloatArray = r
    return out


def carkeet_factor(n: int, gamma: float, *, agreement_level: float = 0.95) -> float:
    """Carkeet's (2015) exact factor K: ``P(mean +/- K s covers agreement_level) = gamma``.

    The probability is over samples of n normal differences; ``mean + K s`` at
    ``gamma = 0.025`` and ``0.975`` bounds the 95% interval for the upper limit of agreement.
    """
    if n < 2:
        raise ValueError(f"n must be at least 2; got {n}")
    for name, value in (("gamma", gamma), ("agreement_level", agreement_level)):
        if not 0.0 < float(value) < 1.0:
            raise ValueError(f"{name} must lie strictly between 0 and 1; got {value!r}")
    nodes, weights = np.polynomial.hermite.hermgauss(80)
    x = nodes * math.sqrt(2.0 / n)  # x ~ N(0, 1/n) through Gauss-Hermite
    r2 = _half_range(x, agreement_level) ** 2
    df = n - 1

    from scipy import optimize, stats

    def coverage(k: float) -> float:
        return float(np.sum(weights * stats.chi2.sf(df * r2 / (k * k), df))) / math.sqrt(math.pi)

    return float(optimize.brentq(lambda k: coverage(k) - gamma, 1e-6, 1e6, xtol=1e-12))


def bland_altman(
    a: ArrayLike,
    b: ArrayLike,
    *,
    confidence_level: float = 0.95,
    agreement_level: float = 0.95,
    limits_ci: LimitsCI = "bland-altman",
) -> BlandAltman:
    """Bias and limits of agreement of method ``a`` against method ``b`` (differences ``a - b``).

    >>> r = bland_altman([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.5, 4.5])
    >>> round(r.bias.estimate, 3), round(r.sd, 3)
    (-0.125, 0.479)
    """
    level = check_confidence_level(confidence_level)
    agree = float(agreement_level)
    if not 0.0 < agree < 1.0:
        raise ValueError(f"agreement_level must lie strictly between 0 and 1; got {agree!r}")
    if limits_ci not in LIMITS_CI:
        raise ValueError(f"limits_ci must be one of {', '.join(LIMITS_CI)}; got {limits_ci!r}")
    from scipy import stats

    x, y = _paired(a, b, 2)
    n = x.size
    diff = x - y
    means = (x + y) / 2.0
    bias = float(diff.mean())
    sd = float(diff.std(ddof=1))
    z = z_value(agree)
    t = float(stats.t.ppf(0.5 + level / 2.0, n - 1))
    se_bias = sd / math.sqrt(n)
    lower, upper = bias - z * sd, bias + z * sd
    bias_est = Estimate(bias, bias - t * se_bias, bias + t * se_bias, "t", n, level)

    if limits_ci == "bland-altman":
        half = t * math.sqrt(3.0 * sd * sd / n)
        name = "Bland-Altman 1999 approximate SE sqrt(3 s^2/n), t on n-1 df"
        lo_ci = (lower - half, lower + half)
        up_ci = (upper - half, upper + half)
    elif limits_ci == "carkeet":
        name = "Carkeet 2015 exact (two-sided tolerance factors)"
        alpha = 1.0 - level
        k_in = carkeet_factor(n, alpha / 2.0, agreement_level=agree)
        k_out = carkeet_factor(n, 1.0 - alpha / 2.0, agreement_level=agree)
        up_ci = (bias + k_in * sd, bias + k_out * sd)
        lo_ci = (bias - k_out * sd, bias - k_in * sd)
    else:
        name = "noncentral t, exact for each limit as a normal percentile"
        alpha = 1.0 - level
        q_lo, q_hi = stats.nct.ppf([alpha / 2.0, 1.0 - alpha / 2.0], n - 1, z * math.sqrt(n))
        scale = sd / math.sqrt(n)
        up_ci = (bias + scale * float(q_lo), bias + scale * float(q_hi))
        lo_ci = (bias - scale * float(q_hi), bias - scale * float(q_lo))
    if sd == 0.0:
        # all differences equal: the limits collapse onto the bias and have zero width.
        lo_ci = up_ci = (bias, bias)
    return BlandAltman(
        bias=bias_est,
        sd=sd,
        lower_limit=Estimate(lower, lo_ci[0], lo_ci[1], name, n, level),
        upper_limit=Estimate(upper, up_ci[0], up_ci[1], name, n, level),
        n=n,
        confidence_level=level,
        agreement_level=agree,
        method=f"Bland-Altman limits of agreement; bias t interval; limits: {name}",
        means=means,
        differences=diff,
    )


def _check_ratings(ratings: ArrayLike) -> FloatArray:
    arr = np.asarray(ratings)
    if arr.ndim != 2:
        raise ValueError(
            f"ratings must be a 2-D array (n targets x k raters); got shape {arr.shape}"
        )
    if arr.dtype.kind not in "iufb":
        raise ValueError(f"ratings must be numeric; got values of type {arr.dtype}")
    out = arr.astype(np.float64)
    bad = np.argwhere(~np.isfinite(out))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise ValueError(
            f"ratings must be finite (no missing ratings); found {float(out[i, j])!r} "
            f"at target {i}, rater {j}"
        )
    n, k = out.shape
    if n < 2:
        raise ValueError(f"ratings need at least 2 targets (rows); got {n}")
    if k < 2:
        raise ValueError(f"ratings need at least 2 raters (columns); got {k}")
    return out


def _mean_squares(y: FloatArray) -> dict[str, float]:
    n, k = y.shape
    grand = y.mean()
    row = y.mean(axis=1)
    col = y.mean(axis=0)
    ss_total = float(((y - grand) ** 2).sum())
    ss_rows = float(k * ((row - grand) ** 2).sum())
    ss_cols = float(n * ((col - grand) ** 2).sum())
    ss_within = ss_total - ss_rows
    ss_error = ss_total - ss_rows - ss_cols
    return {
        "BMS": ss_rows / (n - 1),
        "JMS": ss_cols / (k - 1),
        "WMS": ss_within / (n * (k - 1)),
        "EMS": max(ss_error, 0.0) / ((n - 1) * (k - 1)),
    }


def icc(
    ratings: ArrayLike,
    *,
    form: IccForm = "ICC(2,1)",
    confidence_level: float = 0.95,
) -> Estimate:
    """Intraclass correlation of an ``n targets x k raters`` table (Shrout & Fleiss 1979).

    ``form`` is one of ``ICC(1,1)`` (one-way random, single rater), ``ICC(2,1)`` (two-way
    random, absolute agreement), ``ICC(3,1)`` (two-way mixed, consistency) and the ``(.,k)``
    versions for the mean of the k raters.  McGraw & Wong (1996) call these ICC(1), ICC(A,1),
    ICC(C,1), ICC(k), ICC(A,k), ICC(C,k).  Every target must be rated by every rater.

    A table with no variation between targets (all mean squares zero) is not estimable.
    """
    if form not in ICC_FORMS:
        raise ValueError(f"form must be one of {', '.join(ICC_FORMS)}; got {form!r}")
    level = check_confidence_level(confidence_level)
    y = _check_ratings(ratings)
    n, k = y.shape
    ms = _mean_squares(y)
    bms, jms, wms, ems = ms["BMS"], ms["JMS"], ms["WMS"], ms["EMS"]
    model = form[4]
    average = form.endswith("k)")
    method = f"{form} Shrout-Fleiss 1979, F-based interval"
    alpha = 1.0 - level

    def f_upper(df1: float, df2: float) -> float:
        from scipy import stats

        return float(stats.f.ppf(1.0 - alpha / 2.0, df1, df2))

    if model in "13":
        within = wms if model == "1" else ems
        df2 = n * (k - 1) if model == "1" else (n - 1) * (k - 1)
        if bms == 0.0 or within == 0.0:
            return Estimate.not_estimable(
                "a mean square is zero (no variation between targets or no residual "
                "variation), so the ICC and its F interval are undefined",
                method=method,
                n=n,
                confidence_level=level,
            )
        f0 = bms / within
        fl = f0 / f_upper(n - 1, df2)
        fu = f0 * f_upper(df2, n - 1)
        if average:
            est = (bms - within) / bms
            lo, hi = 1.0 - 1.0 / fl, 1.0 - 1.0 / fu
        else:
            est = (bms - within) / (bms + (k - 1) * within)
            lo, hi = (fl - 1.0) / (fl + k - 1.0), (fu - 1.0) / (fu + k - 1.0)
        return Estimate(float(est), float(lo), float(hi), method, n, level)

    # ICC(2,*): two-way random effects, absolute agreement.
    denom1 = bms + (k - 1) * ems + k * (jms - ems) / n
    if bms == 0.0 or ems == 0.0 or denom1 == 0.0:
        return Estimate.not_estimable(
            "a mean square is zero (no variation between targets or no residual "
            "variation), so ICC(2,*) and its interval are undefined",
            method=method,
            n=n,
            confidence_level=level,
        )
    icc21 = (bms - ems) / denom1
    # Satterthwaite degrees of freedom of Shrout & Fleiss (1979).
    fj = jms / ems
    base = n * (1.0 + (k - 1) * icc21) - k * icc21
    vn = (k - 1) * (n - 1) * (k * icc21 * fj + base) ** 2
    vd = (n - 1) * (k * icc21 * fj) ** 2 + base**2
    v = vn / vd
    f_star = f_upper(n - 1, v)
    f_2star = f_upper(v, n - 1)
    c = k * jms + (k * n - k - n) * ems
    lo = n * (bms - f_star * ems) / (f_star * c + n * bms)
    hi = n * (f_2star * bms - ems) / (c + n * f_2star * bms)
    if average:
        est = (bms - ems) / (bms + (jms - ems) / n)
        lo, hi = k * lo / (1.0 + (k - 1) * lo), k * hi / (1.0 + (k - 1) * hi)
        method += " (Spearman-Brown step-up of the ICC(2,1) limits)"
    else:
        est = icc21
    return Estimate(float(est), float(lo), float(hi), method, n, level)


def concordance_correlation(
    a: ArrayLike, b: ArrayLike, *, confidence_level: float = 0.95
) -> Estimate:
    """Lin's (1989) concordance correlation coefficient with a Fisher z-transform interval.

    ``rho_c = 2 s_ab / (s_a^2 + s_b^2 + (mean_a - mean_b)^2)`` with ``1/n`` moments.  The
    interval is ``tanh(atanh(rho_c) +/- z se)`` where ``se^2`` is Lin's (1989, 2000) asymptotic
    variance of ``atanh(rho_c)`` on ``n - 2`` degrees of freedom.

    Not estimable when either method has no variation, when the Pearson correlation is zero
    (Lin's variance divides by it) or when ``|rho_c| = 1`` (the z scale is infinite).
    """
    level = check_confidence_level(confidence_level)
    x, y = _paired(a, b, 3)
    n = x.size
    method = "Lin 1989 CCC, Fisher z-transform interval"
    mx, my = x.mean(), y.mean()
    sx2 = float(((x - mx) ** 2).mean())
    sy2 = float(((y - my) ** 2).mean())
    sxy = float(((x - mx) * (y - my)).mean())
    if sx2 == 0.0 or sy2 == 0.0:
        return Estimate.not_estimable(
            "a method has no variation (zero variance)", method=method, n=n,
            confidence_level=level,
        )  # fmt: skip
    rc = 2.0 * sxy / (sx2 + sy2 + (mx - my) ** 2)
    r = sxy / math.sqrt(sx2 * sy2)
    if r == 0.0 or abs(rc) >= 1.0:
        return Estimate.not_estimable(
            "the Pearson correlation is zero or the agreement is perfect (|CCC| = 1): "
            "the z-transform variance is undefined",
            method=method,
            n=n,
            confidence_level=level,
        )
    u2 = (mx - my) ** 2 / math.sqrt(sx2 * sy2)
    var_z = (
        (1.0 - r * r) * rc * rc / ((1.0 - rc * rc) * r * r)
        + 2.0 * rc**3 * (1.0 - rc) * u2 / (r * (1.0 - rc * rc) ** 2)
        - rc**4 * u2 * u2 / (2.0 * r * r * (1.0 - rc * rc) ** 2)
    ) / (n - 2)
    zq = z_value(level)
    zt = math.atanh(rc)
    se = math.sqrt(max(var_z, 0.0))
    return Estimate(float(rc), math.tanh(zt - zq * se), math.tanh(zt + zq * se), method, n, level)


def mean_absolute_error(a: ArrayLike, b: ArrayLike, *, confidence_level: float = 0.95) -> Estimate:
    """Mean of ``|a - b|`` with a t interval on the absolute differences.

    The interval is ``mean +/- t_{n-1} sd / sqrt(n)`` of the absolute differences, with the
    lower end clipped at 0 (an absolute error cannot be negative).  This is a normal-theory
    interval for a skewed quantity: prefer a bootstrap interval for small or very skewed data.
    """
    level = check_confidence_level(confidence_level)
    from scipy import stats

    x, y = _paired(a, b, 2)
    n = x.size
    d = np.abs(x - y)
    mean = float(d.mean())
    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * float(d.std(ddof=1)) / math.sqrt(n)
    return Estimate(
        mean,
        max(mean - half, 0.0),
        mean + half,
        "t interval on absolute differences (lower end clipped at 0)",
        n,
        level,
    )
