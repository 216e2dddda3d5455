"""ROC analysis against published examples and O(n^2) references.

* pROC's ``aSAH`` data (Turck N et al. 2010, "A multiparameter panel method for outcome
  prediction following aneurysmal subarachnoid hemorrhage", Intensive Care Med 36:107-115;
  distributed with pROC, Robin X et al. 2011, BMC Bioinformatics 12:77): 113 patients, 41 with
  a poor outcome; columns outcome (P/G), wfns, s100b, ndka.  Expected values are pROC's own
  test expectations (xrobin/pROC tests/testthat/test-var.R, test-ci.auc.R, test-roc.test.R,
  helper-deLongPlacementsCpp-expected.R) and its documented ``ci.auc(aSAH$outcome, aSAH$s100b)``
  = 0.7314 (0.6301-0.8326).  The brief quoted Z = 2.209, p = 0.02718 as "s100b vs ndka": pROC's
  tests show that is ``roc.test(r.wfns, r.s100b)``; s100b vs ndka is Z = 1.391, p = 0.1643.
* Hanley JA, McNeil BJ (1982). The meaning and use of the area under a ROC curve. Radiology
  143:29-36, Table 1: 109 CT images rated on a 5-point scale (58 normal: 33, 6, 6, 11, 2;
  51 abnormal: 3, 2, 2, 11, 33); AUC = 0.893.
* Agresti A (2002). Categorical Data Analysis, 2nd ed., Section 10.1, Table 10.1: presidential
  approval in two surveys of 1600 people, 794 / 150 / 86 / 570; McNemar z^2 = 17.36 (no
  continuity correction).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score as sk_auc
from sklearn.metrics import roc_curve as sk_roc_curve
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from radgov.stats.roc import (
    auc_variance_delong,
    delong_test,
    mcnemar_test,
    rank_scores,
    roc_auc_score,
    roc_curve,
    roc_curve_band,
)

# outcome (P = poor = positive), wfns, s100b, ndka; in pROC's row order
ASAH = """
G,1,0.13,3.01 G,1,0.14,8.54 G,1,0.1,8.09 G,1,0.04,10.42 P,3,0.13,17.4
P,2,0.1,12.75 G,5,0.47,6.0 P,4,0.16,13.2 G,1,0.18,15.54 G,2,0.1,6.01
P,5,0.12,15.96 G,2,0.1,17.86 P,5,0.44,5.18 P,5,0.71,8.9 G,1,0.04,13.41
G,2,0.08,20.75 P,5,0.49,11.6 G,2,0.04,16.11 P,2,0.07,32.37 P,5,0.33,54.82
P,2,0.09,32.41 G,1,0.09,49.94 P,1,0.07,40.34 G,1,0.11,9.47 G,1,0.07,6.29
G,2,0.17,12.53 G,1,0.07,6.54 G,2,0.11,6.3 G,1,0.13,80.3 G,1,0.19,12.8
G,3,0.05,9.8 G,4,0.16,9.81 P,2,0.41,9.85 G,1,0.14,18.21 G,4,0.34,5.03
P,5,0.35,14.04 P,4,0.48,21.93 G,1,0.09,8.02 P,4,0.96,7.42 P,2,0.25,8.38
G,5,0.5,6.59 G,5,0.46,9.63 G,1,0.16,13.12 G,1,0.07,7.96 G,2,0.43,14.34
G,4,0.45,41.43 G,1,0.11,7.63 G,1,0.08,7.06 G,2,0.09,12.59 P,5,0.86,13.56
P,5,0.52,3.87 G,2,0.08,9.44 G,1,0.06,7.66 G,2,0.13,12.98 P,5,2.07,419.19
G,1,0.1,27.19 G,2,0.14,22.27 G,2,0.15,9.95 P,2,0.07,21.22 G,1,0.06,11.73
P,5,0.77,10.4 G,1,0.05,58.83 G,1,0.09,6.39 P,2,0.3,11.09 P,5,0.03,12.22
P,2,0.09,13.67 G,1,0.04,17.21 P,4,0.23,22.63 P,5,0.7,12.9 G,2,0.09,9.7
P,4,0.27,21.57 P,4,0.71,8.23 P,1,0.08,72.57 P,4,0.26,15.54 G,1,0.08,10.51
G,2,0.16,10.6 G,1,0.09,14.57 P,4,0.13,5.19 P,2,0.1,9.63 G,1,0.08,4.61
P,2,0.11,21.48 G,3,0.33,17.3 G,2,0.11,12.71 G,4,0.28,9.44 G,2,0.07,11.07
G,1,0.1,19.46 G,4,0.32,10.83 P,5,0.22,5.37 G,1,0.07,11.97 G,1,0.05,7.75
G,5,0.24,9.83 G,4,0.38,10.55 G,2,0.1,28.49 G,2,0.15,8.53 G,1,0.08,12.57
G,1,0.14,12.9 G,1,0.1,46.83 G,3,0.07,11.68 G,1,0.04,12.67 G,2,0.19,9.01
P,5,0.56,9.57 P,2,0.14,34.06 P,2,0.58,11.72 P,5,0.32,14.26 P,5,0.82,47.61
P,5,0.74,11.67 G,2,0.15,24.58 G,4,0.47,10.33 G,4,0.17,13.87 P,5,0.44,15.89
G,1,0.15,22.43 G,1,0.5,6.79 G,1,0.48,13.45
"""
_ROWS = [r.split(",") for r in ASAH.split()]
Y = np.array([r[0] == "P" for r in _ROWS], dtype=int)
WFNS, S100B, NDKA = (np.array([float(r[k]) for r in _ROWS]) for k in (1, 2, 3))


def test_asah_transcription() -> None:
    assert Y.size == 113 and Y.sum() == 41


@pytest.mark.parametrize(
    ("score", "auc", "var"),
    [
        (WFNS, 0.823678861788618, 0.00146991470882363),
        (NDKA, 0.611957994579946, 0.0031908105493913),
        (S100B, 0.731368563685637, 0.00266868245717244),
    ],
)
def test_proc_asah_auc_and_delong_variance(score: np.ndarray, auc: float, var: float) -> None:
    """pROC tests/testthat/test-var.R and helper-deLongPlacementsCpp-expected.R (theta)."""
    got_auc, got_var = auc_variance_delong(Y, score)
    assert got_auc == pytest.approx(auc, abs=1e-13)
    assert got_var == pytest.approx(var, rel=1e-12)


def test_proc_asah_confidence_intervals() -> None:
    """pROC test-ci.auc.R (ndka, full precision) and ``ci.auc`` on s100b as documented."""
    ndka = roc_auc_score(Y, NDKA)
    assert (ndka.ci_low, ndka.estimate, ndka.ci_high) == pytest.approx(
        (0.501244999271703, 0.611957994579946, 0.722670989888189), abs=1e-12
    )
    s = roc_auc_score(Y, S100B)
    assert (round(s.estimate, 4), round(s.ci_low, 4), round(s.ci_high, 4)) == (
        0.7314,
        0.6301,
        0.8326,
    )
    assert s.method == "DeLong" and s.n == 113 and s.confidence_level == 0.95


def test_proc_asah_placements() -> None:
    """Midrank placements equal pROC's deLongPlacementsCpp for s100b (first five of each)."""
    place = rank_scores(Y == 1, S100B).case_placements()
    x, y = place[Y == 1], place[Y == 0]
    expected_x = [0.5625, 0.4375, 0.715277777777778, 0.541666666666667, 0.902777777777778]
    expected_y = [
        0.707317073170732,
        0.670731707317073,
        0.804878048780488,
        0.975609756097561,
        0.341463414634146,
    ]
    np.testing.assert_allclose(x[:5], expected_x, atol=1e-14)
    np.testing.assert_allclose(y[:5], expected_y, atol=1e-14)


@pytest.mark.parametrize(
    ("a", "b", "z", "p", "lo", "hi"),
    [
        (WFNS, S100B, 2.20898359144091, 0.0271757822291882, 0.0104061769564846, 0.174214419249478),
        (WFNS, NDKA, 2.79777591868904, 0.00514557970691098, 0.0634011709339876, 0.3600405634833566),
        (
            NDKA,
            S100B,
            -1.39077002573558,
            0.164295175223054,
            -0.2876917446341914,
            0.0488706064228094,
        ),
    ],
)
def test_proc_roc_test_delong(
    a: np.ndarray, b: np.ndarray, z: float, p: float, lo: float, hi: float
) -> None:
    """pROC tests/testthat/test-roc.test.R, "statistic and p are as expected with defaults"."""
    r = delong_test(Y, a, b)
    assert r.z == pytest.approx(z, rel=1e-12)
    assert r.p_value == pytest.approx(p, rel=1e-10)
    assert (r.difference.ci_low, r.difference.ci_high) == pytest.approx((lo, hi), abs=1e-12)
    swapped = delong_test(Y, b, a)
    assert swapped.z == pytest.approx(-z, rel=1e-12) and swapped.p_value == pytest.approx(p)
    assert r.n == 113


def test_hanley_mcneil_1982_ct_ratings() -> None:
    """Hanley & McNeil (1982) Table 1: AUC 0.893 for the 5-point CT ratings."""
    normal = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
    abnormal = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])
    y = np.r_[np.zeros(58, int), np.ones(51, int)]
    e = roc_auc_score(y, np.r_[normal, abnormal])
    assert round(e.estimate, 3) == 0.893
    # their exponential-approximation SE is 0.032; DeLong's is close to it
    assert math.sqrt(auc_variance_delong(y, np.r_[normal, abnormal])[1]) == pytest.approx(
        0.032, abs=0.004
    )


def _psi(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    return (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])


def reference_delong(y: np.ndarray, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """O(n^2) structural components of DeLong et al. (1988): AUCs and their covariance."""
    pos, neg = y == 1, y == 0
    v10, v01 = [], []
    for s in scores:
        psi = _psi(s[pos], s[neg])
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    aucs = np.array([v.mean() for v in v10])
    cov = (
        np.atleast_2d(np.cov(np.array(v10))) / pos.sum()
        + np.atleast_2d(np.cov(np.array(v01))) / neg.sum()
    )
    return aucs, cov


@pytest.mark.parametrize(
    ("n", "prevalence", "levels", "seed"),
    [(60, 0.5, 4, 0), (301, 0.1, 7, 1), (500, 0.7, 3, 2), (200, 0.3, 1000, 3)],
)
def test_delong_matches_quadratic_reference_with_ties(
    n: int, prevalence: float, levels: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    a = rng.integers(0, levels, n) + y * rng.integers(0, 2, n)
    b = np.floor(a / 2 + rng.integers(0, levels, n))
    aucs, cov = reference_delong(y, [a.astype(float), b])
    auc, var = auc_variance_delong(y, a)
    assert auc == pytest.approx(aucs[0], abs=1e-12) and auc == pytest.approx(
        sk_auc(y, a), abs=1e-12
    )
    assert var == pytest.approx(cov[0, 0], abs=1e-12)
    r = delong_test(y, a, b)
    se = math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert r.z == pytest.approx((aucs[0] - aucs[1]) / se, abs=1e-9)
    assert r.auc_b.estimate == pytest.approx(aucs[1], abs=1e-12)


def test_no_tie_fast_path_matches_tie_path() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 3000)
    s = rng.normal(y, 1.0)
    aucs, cov = reference_delong(y[:400], [s[:400]])
    assert auc_variance_delong(y[:400], s[:400]) == pytest.approx((aucs[0], cov[0, 0]), abs=1e-12)
    assert auc_variance_delong(y, s) == pytest.approx(
        rank_scores(y == 1, s).auc_and_variance(), abs=1e-13
    )


def test_edge_cases() -> None:
    y = np.array([0, 0, 1, 1, 0, 1])
    perfect = roc_auc_score(y, y * 10.0)
    assert (perfect.estimate, perfect.ci_low, perfect.ci_high) == (1.0, 1.0, 1.0)
    worst = roc_auc_score(y, -y * 1.0)
    assert worst.estimate == 0.0 and worst.ci_high == 0.0
    ties = roc_auc_score(y, np.ones(6))
    assert ties.estimate == 0.5 and ties.estimable
    none = roc_auc_score(np.zeros(5, int), np.arange(5.0))
    assert not none.estimable and none.reason == "no positive cases" and math.isnan(none.estimate)
    assert roc_auc_score(np.ones(5, int), np.arange(5.0)).reason == "no negative cases"
    one = roc_auc_score([1, 0, 0, 0], [0.9, 0.1, 0.2, 0.3])
    assert not one.estimable and "two positive" in (one.reason or "")
    same = delong_test(y, np.arange(6.0), np.arange(6.0))
    assert same.z == 0.0 and same.p_value == 1.0
    assert not delong_test(np.zeros(4, int), np.arange(4.0), np.arange(4.0)).difference.estimable


@pytest.mark.parametrize(
    ("y", "s", "message"),
    [
        ([0, 1, 2], [0.1, 0.2, 0.3], r"y_true must contain only 0 and 1; found 2 at index 2"),
        ([0, 1, 1], [0.1, float("nan"), 0.3], r"y_score must be finite; found nan at index 1"),
        ([0, 1], [0.1, 0.2, 0.3], r"same length; y_true has 2, y_score has 3"),
    ],
)
def test_bad_input(y: list[int], s: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        roc_auc_score(y, s)
    with pytest.raises(ValueError, match=message.replace("y_score", "score_a")):
        delong_test(y, s, s)


def test_roc_curve_matches_sklearn() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 500)
    s = np.round(rng.normal(y, 1), 1)
    fpr, tpr, thr = roc_curve(y, s)
    f, t, th = sk_roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, f)
    np.testing.assert_allclose(tpr, t)
    np.testing.assert_allclose(thr[1:], th[1:])
    assert thr[0] == np.inf
    with pytest.raises(ValueError, match="both classes"):
        roc_curve([0, 0], [0.1, 0.2])


def test_roc_band() -> None:
    """Pointwise band: contains the curve, reproducible, and covers a known binormal curve."""
    from scipy.stats import norm

    rng = np.random.default_rng(11)
    y = np.r_[np.ones(150, int), np.zeros(250, int)]
    s = rng.normal(y * 1.0, 1.0)
    band = roc_curve_band(y, s, n_resamples=400, random_state=3, n_points=21)
    assert band.fpr.shape == band.tpr.shape == band.tpr_low.shape == (21,)
    assert np.all(band.tpr_low <= band.tpr) and np.all(band.tpr <= band.tpr_high)
    assert band.tpr[-1] == 1.0 and band.tpr_high[-1] == 1.0
    assert np.all(np.diff(band.tpr) >= 0)
    again = roc_curve_band(y, s, n_resamples=400, random_state=3, n_points=21)
    np.testing.assert_array_equal(band.tpr_low, again.tpr_low)
    # the empirical curve's own points: fpr grid matches sklearn's curve where it has a vertex
    fpr, tpr, _ = roc_curve(y, s)
    assert np.interp(0.5, fpr, tpr) == pytest.approx(band.tpr[10], abs=0.02)
    true_tpr = norm.sf(norm.isf(band.fpr) - 1.0)
    inside = (band.tpr_low <= true_tpr) & (true_tpr <= band.tpr_high)
    assert inside[2:-2].mean() >= 0.8


@pytest.mark.parametrize(("n", "levels", "resamples"), [(60, 4, 37), (500, 30, 90), (900, 0, 50)])
def test_roc_band_equals_counting_every_case_drawn(n: int, levels: int, resamples: int) -> None:
    """The band counts each replicate's draws by tie group; counting how often every single
    case was drawn (the plain way, from the same random numbers) gives the very same band."""
    from radgov.stats.bootstrap import _block_rows, _multiplicities, _rng
    from radgov.stats.roc import interpolate_tpr

    rng = np.random.default_rng(n)
    y = (rng.random(n) < 0.3).astype(int)
    y[:2] = [0, 1]
    s = rng.normal(y, 1.0)
    if levels:  # many ties
        s = np.round(s * levels / 4) / levels
    band = roc_curve_band(y, s, n_resamples=resamples, random_state=7, n_points=26)

    ranked = rank_scores(y.astype(bool), s)
    pos_idx = np.concatenate(([0], np.cumsum(ranked.pos[::-1])))
    neg_idx = np.concatenate(([0], np.cumsum(ranked.neg[::-1])))
    draws = _rng(7)
    targets = np.linspace(0.0, 1.0, 26) * ranked.n_neg
    tpr = np.empty((resamples, 26))
    block = _block_rows(ranked.n, None)  # the band draws in blocks: positives, then negatives
    for start in range(0, resamples, block):
        rows = min(block, resamples - start)
        wp = _multiplicities(draws, ranked.n_pos, rows)
        wn = _multiplicities(draws, ranked.n_neg, rows)
        cum_p = np.hstack((np.zeros((rows, 1)), np.cumsum(wp, axis=1)))
        cum_n = np.hstack((np.zeros((rows, 1)), np.cumsum(wn, axis=1)))
        tp, fp = cum_p[:, pos_idx], cum_n[:, neg_idx]
        tpr[start : start + rows] = interpolate_tpr(fp, tp, targets) / ranked.n_pos
    alpha = 1.0 - 0.95
    low, high = np.percentile(tpr, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
    np.testing.assert_array_equal(band.tpr_low, np.minimum(low, band.tpr))
    np.testing.assert_array_equal(band.tpr_high, np.maximum(high, band.tpr))


def test_mcnemar_agresti_presidential_approval() -> None:
    """Agresti (2002) Table 10.1: z^2 = 17.36 without continuity correction; vs statsmodels."""
    first = np.r_[np.ones(794 + 150, int), np.zeros(86 + 570, int)]
    second = np.r_[np.ones(794, int), np.zeros(150, int), np.ones(86, int), np.zeros(570, int)]
    r = mcnemar_test(first, second, correction=False)
    assert (r.b, r.c, r.n) == (150, 86, 1600)
    assert round(r.statistic, 2) == 17.36 and r.method == "chi-square"
    table = [[794, 150], [86, 570]]
    sm = sm_mcnemar(table, exact=False, correction=False)
    assert r.p_value == pytest.approx(sm.pvalue, rel=1e-12)
    corrected = mcnemar_test(first, second)
    sm_c = sm_mcnemar(table, exact=False, correction=True)
    assert corrected.statistic == pytest.approx(
        sm_c.statistic
    ) and corrected.p_value == pytest.approx(sm_c.pvalue)
    assert corrected.method == "chi-square with continuity correction"


def test_mcnemar_exact_for_few_discordant_pairs() -> None:
    a = np.r_[np.ones(30, int), np.ones(7, int), np.zeros(2, int), np.zeros(10, int)]
    b = np.r_[np.ones(30, int), np.zeros(7, int), np.ones(2, int), np.zeros(10, int)]
    r = mcnemar_test(a, b)
    sm = sm_mcnemar([[30, 7], [2, 10]], exact=True)
    assert r.method == "exact binomial" and (r.b, r.c) == (7, 2)
    assert r.p_value == pytest.approx(sm.pvalue, rel=1e-12) and r.statistic == sm.statistic
    assert mcnemar_test([1, 0], [1, 0]).p_value == 1.0
    with pytest.raises(ValueError, match="correct_b must contain only 0 and 1; found 3 at index 1"):
        mcnemar_test([1, 0], [1, 3])
