"""Agreement and reliability, each against a published worked example.

Sources
-------
* Bland JM, Altman DG (1986). Statistical methods for assessing agreement between two methods
  of clinical measurement. Lancet i:307-310, Table 1: peak expiratory flow rate (l/min) of 17
  subjects, first reading with the Wright and the mini Wright meter (as transcribed in the R
  package qwraps2's ``pefr`` data set and MethComp).  The paper reports mean difference -2.1,
  SD 38.8, limits (with 2 SD) -79.7 to 75.5, the bias interval -2.1 +/- 2.12 x 9.4
  (-22.0 to 17.8) and the limits' intervals with SE sqrt(3 s^2/n) = 16.3:
  -79.7 +/- 2.12 x 16.3 = -114.3 to -45.1.
* Shrout PE, Fleiss JL (1979). Intraclass correlations: uses in assessing rater reliability.
  Psychol Bull 86:420-428, Table 2 (6 targets x 4 judges) and the ICCs of their Table 4.
  Intervals: the output of R's ``psych::ICC`` on the same data as asserted by pingouin's test
  suite (tests/test_reliability.py): lower -0.13, 0.02, 0.34, -0.88, 0.07, 0.68; upper
  0.72, 0.76, 0.95, 0.91, 0.93, 0.99 for ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from radgov.stats.agreement import (
    ICC_FORMS,
    bland_altman,
    carkeet_factor,
    concordance_correlation,
    icc,
    mean_absolute_error,
)

WRIGHT = [494, 395, 516, 434, 476, 557, 413, 442, 650, 433, 417, 656, 267, 478, 178, 423, 427]
MINI = [512, 430, 520, 428, 500, 600, 364, 380, 658, 445, 432, 626, 260, 477, 259, 350, 451]

SHROUT_FLEISS = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
)


# --------------------------------------------------------------------------- Bland-Altman


def test_bland_altman_reproduces_the_lancet_1986_example() -> None:
    """Bland & Altman (1986) Lancet, PEFR Wright vs mini Wright: bias -2.1, SD 38.8."""
    r = bland_altman(WRIGHT, MINI)
    assert r.n == 17
    assert r.bias.estimate == pytest.approx(-2.1, abs=0.05)
    assert r.sd == pytest.approx(38.8, abs=0.05)
    # the paper's limits use 2 SD from the rounded mean and SD
    assert -2.1 - 2 * 38.8 == pytest.approx(-79.7)
    assert r.bias.estimate - 2 * r.sd == pytest.approx(-79.7, abs=0.1)
    assert r.bias.estimate + 2 * r.sd == pytest.approx(75.5, abs=0.1)
    # our limits use 1.96 SD (Bland & Altman 1999)
    z = stats.norm.ppf(0.975)
    assert r.lower_limit.estimate == pytest.approx(r.bias.estimate - z * r.sd)
    assert r.upper_limit.estimate == pytest.approx(r.bias.estimate + z * r.sd)
    # bias interval: -2.1 +/- 2.12 x 9.4 = -22.0 to 17.8
    assert r.bias.ci_low == pytest.approx(-22.0, abs=0.1)
    assert r.bias.ci_high == pytest.approx(17.8, abs=0.1)
    # limits' intervals: half-width 2.12 x 16.3, the paper's (114.3 - 45.1) / 2 = 34.6
    for limit in (r.lower_limit, r.upper_limit):
        assert (limit.ci_high - limit.ci_low) / 2 == pytest.approx(34.6, abs=0.1)
        assert limit.ci_low < limit.estimate < limit.ci_high
    np.testing.assert_allclose(r.differences, np.subtract(WRIGHT, MINI))
    np.testing.assert_allclose(r.means, (np.add(WRIGHT, MINI)) / 2)
    assert "sqrt(3 s^2/n)" in r.method


# Carkeet (2015) exact factors K for 95% limits of agreement, by degrees of freedom v = n - 1,
# at gamma 0.025, 0.05, 0.95 and 0.975, as distributed with pyCompare (tests/referenceCIs.csv,
# whose column headed "0.5" holds gamma = 0.05).
CARKEET_TABLE = {
    1: (0.9744, 1.1237, 36.5192, 73.0772),
    2: (1.1051, 1.2333, 9.7888, 13.9396),
    5: (1.2825, 1.3847, 4.4222, 5.1983),
    16: (1.49, 1.5619, 2.8683, 3.0824),
    40: (1.6247, 1.6766, 2.4404, 2.5429),
    74: (1.6982, 1.739, 2.2862, 2.3534),
}


@pytest.mark.parametrize(("v", "expected"), list(CARKEET_TABLE.items()))
def test_carkeet_factors_reproduce_the_published_table(
    v: int, expected: tuple[float, float, float, float]
) -> None:
    """Carkeet (2015) Optom Vis Sci 92:e71-e80, exact two-sided tolerance factors."""
    got = [carkeet_factor(v + 1, g) for g in (0.025, 0.05, 0.95, 0.975)]
    assert got == pytest.approx(expected, abs=0.00006)


def test_bland_altman_carkeet_limits_on_pefr() -> None:
    """PEFR (n = 17, v = 16): the upper limit's 95% interval is mean + (1.4900, 3.0824) s."""
    r = bland_altman(WRIGHT, MINI, limits_ci="carkeet")
    d = np.subtract(WRIGHT, MINI)
    m, s = d.mean(), d.std(ddof=1)
    assert r.upper_limit.ci_low == pytest.approx(m + 1.4900 * s, abs=0.005)
    assert r.upper_limit.ci_high == pytest.approx(m + 3.0824 * s, abs=0.005)
    assert r.lower_limit.ci_low == pytest.approx(m - 3.0824 * s, abs=0.005)
    assert r.lower_limit.ci_high == pytest.approx(m - 1.4900 * s, abs=0.005)
    assert "Carkeet" in r.upper_limit.method


def test_bland_altman_noncentral_t_interval_has_nominal_coverage() -> None:
    """Each limit as a normal percentile: the noncentral-t pivot covers it 95% of the time.

    Checked by simulation (vectorized; fixed seed), and against the defining noncentral t
    quantiles for the PEFR data.  No published table was sourced for this variant.
    """
    r = bland_altman(WRIGHT, MINI, limits_ci="noncentral-t")
    n, z = 17, stats.norm.ppf(0.975)
    q = stats.nct.ppf([0.025, 0.975], n - 1, z * math.sqrt(n))
    d = np.subtract(WRIGHT, MINI)
    assert r.upper_limit.ci_low == pytest.approx(d.mean() + d.std(ddof=1) / math.sqrt(n) * q[0])
    assert r.upper_limit.ci_high == pytest.approx(d.mean() + d.std(ddof=1) / math.sqrt(n) * q[1])
    assert "noncentral t" in r.upper_limit.method

    rng = np.random.default_rng(7)
    sims = rng.normal(10.0, 3.0, size=(20000, n))
    m, s = sims.mean(axis=1), sims.std(axis=1, ddof=1)
    true_upper = 10.0 + z * 3.0
    lo, hi = m + s / math.sqrt(n) * q[0], m + s / math.sqrt(n) * q[1]
    coverage = np.mean((lo <= true_upper) & (true_upper <= hi))
    assert coverage == pytest.approx(0.95, abs=0.006)
    one = bland_altman(sims[0], np.zeros(n), limits_ci="noncentral-t")
    assert one.upper_limit.ci_low == pytest.approx(lo[0])
    assert one.upper_limit.ci_high == pytest.approx(hi[0])


@pytest.mark.parametrize("limits_ci", ["bland-altman", "carkeet", "noncentral-t"])
def test_bland_altman_lower_limit_is_the_mirror_of_the_upper(limits_ci: str) -> None:
    r = bland_altman(WRIGHT, MINI, limits_ci=limits_ci)  # type: ignore[arg-type]
    flipped = bland_altman(MINI, WRIGHT, limits_ci=limits_ci)  # type: ignore[arg-type]
    assert flipped.upper_limit.ci_low == pytest.approx(-r.lower_limit.ci_high)
    assert flipped.upper_limit.ci_high == pytest.approx(-r.lower_limit.ci_low)
    assert flipped.upper_limit.estimate == pytest.approx(-r.lower_limit.estimate)


def test_bland_altman_bad_input() -> None:
    with pytest.raises(ValueError, match="same length"):
        bland_altman([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match=r"nan.*index 1"):
        bland_altman([1, float("nan"), 3], [1, 2, 3])
    with pytest.raises(ValueError, match="at least 2"):
        bland_altman([1], [1])
    with pytest.raises(ValueError, match="limits_ci"):
        bland_altman(WRIGHT, MINI, limits_ci="exact")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence_level"):
        bland_altman(WRIGHT, MINI, confidence_level=1.5)
    with pytest.raises(ValueError, match="gamma"):
        carkeet_factor(10, 1.5)


def test_bland_altman_identical_differences_gives_zero_width_limits() -> None:
    r = bland_altman([1.0, 2.0, 3.0], [0.0, 1.0, 2.0])
    assert r.sd == 0.0
    assert r.lower_limit.ci_low == r.upper_limit.ci_high == pytest.approx(1.0)
    assert r.to_dict()["bias"]["estimate"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- ICC


@pytest.mark.parametrize(
    ("form", "expected", "low", "high"),
    [
        ("ICC(1,1)", 0.166, -0.13, 0.72),
        ("ICC(2,1)", 0.290, 0.02, 0.76),
        ("ICC(3,1)", 0.715, 0.34, 0.95),
        ("ICC(1,k)", 0.443, -0.88, 0.91),
        ("ICC(2,k)", 0.620, 0.07, 0.93),
        ("ICC(3,k)", 0.909, 0.68, 0.99),
    ],
)
def test_icc_reproduces_shrout_fleiss_1979(
    form: str, expected: float, low: float, high: float
) -> None:
    """Shrout & Fleiss (1979) Table 2 data; ICCs from their Table 4; intervals as psych::ICC."""
    r = icc(SHROUT_FLEISS, form=form)  # type: ignore[arg-type]
    assert r.estimate == pytest.approx(expected, abs=0.0005)
    assert round(r.ci_low, 2) == pytest.approx(low)
    assert round(r.ci_high, 2) == pytest.approx(high)
    assert r.n == 6
    assert form in r.method


def test_icc_f_test_values_match_shrout_fleiss() -> None:
    """The mean squares of Shrout & Fleiss's ANOVA table (BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02)."""
    from radgov.stats.agreement import _mean_squares

    ms = _mean_squares(SHROUT_FLEISS.astype(float))
    assert ms["BMS"] == pytest.approx(11.24, abs=0.005)
    assert ms["WMS"] == pytest.approx(6.26, abs=0.005)
    assert ms["JMS"] == pytest.approx(32.49, abs=0.005)
    assert ms["EMS"] == pytest.approx(1.02, abs=0.005)


def test_icc_is_invariant_to_target_and_rater_order() -> None:
    rng = np.random.default_rng(3)
    shuffled = SHROUT_FLEISS[rng.permutation(6)][:, rng.permutation(4)]
    for form in ICC_FORMS:
        a = icc(SHROUT_FLEISS, form=form)  # type: ignore[arg-type]
        b = icc(shuffled, form=form)  # type: ignore[arg-type]
        assert (a.estimate, a.ci_low, a.ci_high) == pytest.approx((b.estimate, b.ci_low, b.ci_high))


def test_icc_bad_input_names_the_problem() -> None:
    with pytest.raises(ValueError, match="at least 2 targets"):
        icc([[1, 2, 3]])
    with pytest.raises(ValueError, match="at least 2 raters"):
        icc([[1], [2], [3]])
    with pytest.raises(ValueError, match="2-D"):
        icc([1, 2, 3])
    bad = SHROUT_FLEISS.astype(float)
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match="found nan at target 2, rater 3"):
        icc(bad)
    with pytest.raises(ValueError, match="form"):
        icc(SHROUT_FLEISS, form="ICC(4,1)")  # type: ignore[arg-type]


def test_icc_without_variation_is_not_estimable() -> None:
    r = icc(np.ones((5, 3)), form="ICC(3,1)")
    assert not r.estimable
    assert math.isnan(r.estimate)
    assert not icc(np.ones((5, 3)), form="ICC(2,1)").estimable


# --------------------------------------------------------------------------- CCC and MAE


def _lin_reference(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Lin's CCC with the interval as written in R's epiR::epi.ccc (z-transform), on the rho
    scale then transformed: an independent transcription of Lin (1989, 2000)."""
    k = len(x)
    sx2, sy2 = x.var(), y.var()
    r = np.corrcoef(x, y)[0, 1]
    sxy = r * math.sqrt(sx2 * sy2)
    p = 2 * sxy / (sx2 + sy2 + (y.mean() - x.mean()) ** 2)
    u = (y.mean() - x.mean()) / (sx2 * sy2) ** 0.25
    sep = math.sqrt(
        (
            (1 - r**2) * p**2 * (1 - p**2) / r**2
            + 2 * p**3 * (1 - p) * u**2 / r
            - 0.5 * p**4 * u**4 / r**2
        )
        / (k - 2)
    )
    t = math.atanh(p)
    se = sep / (1 - p**2)
    return p, math.tanh(t - 1.959963984540054 * se), math.tanh(t + 1.959963984540054 * se)


def test_ccc_on_pefr_matches_lins_formula() -> None:
    """Lin (1989) CCC on the Bland & Altman (1986) PEFR data, checked against the epiR form.

    No published CCC for a public data set could be sourced in time for a value-from-print
    test; this compares with an independent transcription of Lin's variance (epiR).
    """
    x, y = np.array(WRIGHT, float), np.array(MINI, float)
    r = concordance_correlation(x, y)
    p, lo, hi = _lin_reference(x, y)
    assert r.estimate == pytest.approx(p, rel=1e-12)
    assert r.ci_low == pytest.approx(lo, rel=1e-10)
    assert r.ci_high == pytest.approx(hi, rel=1e-10)
    assert r.estimate == pytest.approx(0.943, abs=0.0005)
    # CCC = Pearson r x C_b, and is symmetric in its arguments
    pearson = np.corrcoef(x, y)[0, 1]
    assert r.estimate < pearson
    assert concordance_correlation(y, x).estimate == pytest.approx(r.estimate)


def test_ccc_degenerate_cases_are_not_estimable() -> None:
    assert not concordance_correlation([1, 2, 3, 4], [1, 2, 3, 4]).estimable  # |rho_c| = 1
    assert not concordance_correlation([1, 1, 1, 1], [1, 2, 3, 4]).estimable  # no variance
    with pytest.raises(ValueError, match="at least 3"):
        concordance_correlation([1, 2], [1, 2])


def test_mean_absolute_error_t_interval() -> None:
    """MAE on the PEFR data: mean |d| and the t interval on |d| computed by hand."""
    d = np.abs(np.subtract(WRIGHT, MINI))
    r = mean_absolute_error(WRIGHT, MINI)
    half = stats.t.ppf(0.975, 16) * d.std(ddof=1) / math.sqrt(17)
    assert r.estimate == pytest.approx(492 / 17)  # sum of |d| is 492
    assert d.sum() == 492
    assert (r.ci_low, r.ci_high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert "absolute differences" in r.method
    assert mean_absolute_error([0, 0, 0, 10], [0, 0, 0, 0]).ci_low == 0.0
