"""Calibration tests and the label-free (CBPE) performance estimate.

* Spiegelhalter DJ (1986), "Probabilistic prediction in patient management and clinical
  trials", Statistics in Medicine 5:421-433: Z is the Brier score B standardised by its null
  mean ``mean p(1 - p)`` and variance ``sum (1 - 2p)^2 p (1 - p) / n^2``; the test checks our
  closed form against that published derivation, and its size under calibration.
* Hosmer & Lemeshow; Hosmer, Lemeshow & Sturdivant (2013), section 5.2.2: C over deciles of
  risk, computed by hand on 200 cases (20 per group); and the published table of the R package
  blorr (Hebbali, ``blr_test_hosmer_lemeshow``, in its documentation and its test snapshot
  ``tests/testthat/_snaps/hosmer-lemeshow.md``): the hsb2 data (UCLA, High School and Beyond,
  200 students), ``glm(honcomp ~ race + read + science, family = binomial)``, ten groups of risk
  with their observed and expected events, "Chi-Square 5.8839, DF 8, Pr > ChiSq 0.6602".
* CBPE: the expected confusion matrix as NannyML's documentation describes it ("Confidence-based
  Performance Estimation: how it works"), worked by hand on four cases, and its interval
  against the spread of the actual metric over simulated truths drawn from the scores.  (Checked
  once by hand against NannyML 0.13.1's CBPE on 5,000 calibrated synthetic cases, where NannyML
  judged no calibration needed: recall, specificity, precision and accuracy equal to 1e-8.
  NannyML cannot join the test environment: it declares python-dateutil<3, the lock pins 4.0.0.)
* Counted cases (``sample_weight``, as the daily rollups give binned scores): every test and
  estimate equals the one of the same cases repeated in place, to 1e-9, including a
  Hosmer-Lemeshow group that ends inside a run of equal scores.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from radgov.stats.calibration import (
    expected_calibration_error,
    hosmer_lemeshow_from_groups,
    hosmer_lemeshow_test,
    spiegelhalter_z_test,
)
from radgov.stats.cbpe import check_calibration, estimate_performance


def calibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(1.2, 4.0, size=n)
    return (rng.random(n) < p).astype(int), p


def test_spiegelhalter_z_is_the_standardised_brier_score() -> None:
    y, p = calibrated(500, 1)
    brier = np.mean((y - p) ** 2)
    null_mean = np.mean(p * (1 - p))
    null_var = np.sum((1 - 2 * p) ** 2 * p * (1 - p)) / 500**2
    test = spiegelhalter_z_test(y, p)
    assert test.statistic == pytest.approx((brier - null_mean) / math.sqrt(null_var))
    assert test.p_value == pytest.approx(2 * (1 - 0.5 * math.erfc(-abs(test.statistic) / 2**0.5)))
    with pytest.raises(ValueError, match="undefined"):
        spiegelhalter_z_test([0, 1], [0.5, 0.5])


def test_hosmer_lemeshow_by_hand() -> None:
    y, p = calibrated(200, 2)
    order = np.argsort(p)
    ys, ps = y[order].reshape(10, 20), p[order].reshape(10, 20)
    observed, expected = ys.sum(axis=1), ps.sum(axis=1)
    c = np.sum((observed - expected) ** 2 / (expected * (1 - expected / 20)))
    test = hosmer_lemeshow_test(y, p)
    assert test.statistic == pytest.approx(c) and test.dof == 10
    from scipy.stats import chi2

    assert test.p_value == pytest.approx(chi2.sf(c, 10))
    assert hosmer_lemeshow_test(y, p, fitted=True).dof == 8
    with pytest.raises(ValueError, match="at least 3 groups"):
        hosmer_lemeshow_test(y[:2], p[:2])


def test_hosmer_lemeshow_published_table_blorr_hsb2() -> None:
    size = [20, 21, 19, 22, 18, 20, 20, 21, 19, 20]
    observed = [0, 1, 0, 2, 2, 4, 9, 9, 13, 13]
    expected = [0.29, 0.74, 1.05, 2.04, 2.93, 4.47, 6.17, 8.93, 11.16, 15.22]  # printed to 0.01
    test = hosmer_lemeshow_from_groups(size, observed, expected, dof=8)  # a model fitted here
    # the printed expected events are rounded to 0.005 at most, which moves C by under 0.008
    assert test.statistic == pytest.approx(5.8839, abs=0.008)
    assert test.p_value == pytest.approx(0.6602, abs=0.001)
    assert (test.dof, test.n) == (8, 200)
    with pytest.raises(ValueError, match="one entry per group; got \\(10,\\), \\(9,\\)"):
        hosmer_lemeshow_from_groups(size, observed[:9], expected, dof=8)
    with pytest.raises(ValueError, match="must lie in 0..its size"):
        hosmer_lemeshow_from_groups([5, 5], [6, 1], [2.0, 2.0], dof=1)


def test_calibration_tests_hold_their_size() -> None:
    rejected_z = rejected_hl = 0
    for seed in range(400):
        y, p = calibrated(400, 100 + seed)
        rejected_z += spiegelhalter_z_test(y, p).p_value < 0.05
        rejected_hl += hosmer_lemeshow_test(y, p).p_value < 0.05
    assert 0.02 <= rejected_z / 400 <= 0.085
    assert 0.02 <= rejected_hl / 400 <= 0.085


def test_check_calibration_refuses_with_the_reason() -> None:
    y, p = calibrated(2000, 3)
    ok = check_calibration(y, p)
    assert ok.calibrated and ok.reason is None and ok.n == 2000
    overconfident = np.clip(p * 1.8, 0, 1)  # scores run high
    bad = check_calibration(y, overconfident)
    assert not bad.calibrated
    assert bad.reason is not None and "Spiegelhalter" in bad.reason
    assert f"mean score {overconfident.mean():.3f} against an observed rate of" in bad.reason
    few = check_calibration(y[:40], p[:40])
    assert not few.calibrated and few.reason is not None and "too few reference cases" in few.reason
    with pytest.raises(ValueError, match="y_prob must lie in"):
        check_calibration([0, 1], [0.2, 1.2])


def test_expected_confusion_matrix_by_hand() -> None:
    y, p = calibrated(1000, 4)
    check = check_calibration(y, p)
    est = estimate_performance([0.9, 0.8, 0.3, 0.1], threshold=0.5, calibration=check)
    assert (est.expected_tp, est.expected_fp) == pytest.approx((1.7, 0.3))
    assert (est.expected_fn, est.expected_tn) == pytest.approx((0.4, 1.6))
    m = est.metrics
    assert m["sensitivity"].estimate == pytest.approx(1.7 / 2.1)
    assert m["specificity"].estimate == pytest.approx(1.6 / 1.9)
    assert m["ppv"].estimate == pytest.approx(0.85)
    assert m["npv"].estimate == pytest.approx(0.8)
    assert m["accuracy"].estimate == pytest.approx(0.825)
    assert est.is_estimate and est.estimable
    assert all(e.method.startswith("estimated") for e in m.values())


def test_interval_covers_the_actual_metric_under_calibration() -> None:
    """The delta-method sd matches the spread of the actual metric over simulated truths."""
    check = check_calibration(*calibrated(3000, 6))
    rng = np.random.default_rng(7)
    p = rng.beta(1.2, 4.0, size=3000)
    est = estimate_performance(p, threshold=0.35, calibration=check, confidence_level=0.9)
    called = p >= 0.35
    truths = rng.random((4000, p.size)) < p
    tp = (truths & called).sum(axis=1)
    fn = (truths & ~called).sum(axis=1)
    tn = (~truths & ~called).sum(axis=1)
    actual = {
        "sensitivity": tp / (tp + fn),
        "specificity": tn / (tn + (~truths & called).sum(axis=1)),
        "ppv": tp / called.sum(),
        "npv": tn / (~called).sum(),
        "accuracy": (tp + tn) / p.size,
    }
    for name, values in actual.items():
        e = est.metrics[name]
        assert np.mean(values) == pytest.approx(e.estimate, abs=0.004), name
        sd = (e.ci_high - e.ci_low) / (2 * 1.6448536269514722)
        assert np.std(values) == pytest.approx(sd, rel=0.08), name
        inside = np.mean((values >= e.ci_low) & (values <= e.ci_high))
        assert 0.86 <= inside <= 0.94, name


def test_refused_when_not_calibrated() -> None:
    y, p = calibrated(2000, 8)
    bad = check_calibration(y, np.clip(p * 1.8, 0, 1))
    est = estimate_performance(p, threshold=0.5, calibration=bad)
    assert not est.estimable and est.reason is not None
    assert est.reason.startswith("no label-free estimate: Spiegelhalter")
    assert all(not e.estimable for e in est.metrics.values())
    assert est.is_estimate


def test_the_models_own_calls_instead_of_a_threshold() -> None:
    """NannyML's CBPE takes the model's predicted labels: a case scored 0.4 but called
    positive counts among the calls, whatever a threshold would say."""
    check = check_calibration(*calibrated(1000, 4))
    est = estimate_performance([0.9, 0.4, 0.3, 0.1], y_pred=[1, 1, 0, 0], calibration=check)
    assert (est.expected_tp, est.expected_fp) == pytest.approx((1.3, 0.7))
    assert (est.expected_fn, est.expected_tn) == pytest.approx((0.4, 1.6))
    assert est.threshold is None
    with pytest.raises(ValueError, match="either threshold or y_pred"):
        estimate_performance([0.9], threshold=0.5, y_pred=[1], calibration=check)
    with pytest.raises(ValueError, match="either threshold or y_pred"):
        estimate_performance([0.9], calibration=check)
    with pytest.raises(ValueError, match="y_pred and y_prob must have the same length"):
        estimate_performance([0.9, 0.1], y_pred=[1], calibration=check)


def test_counted_cases_give_what_the_cases_repeated_give() -> None:
    rng = np.random.default_rng(11)
    p = np.round(rng.beta(1.2, 4.0, size=400), 2).clip(0.005, 0.995)  # binned: many ties
    y = rng.random(400) < p
    w = rng.integers(0, 40, size=400)
    rp, ry = np.repeat(p, w), np.repeat(y, w)
    for test in (spiegelhalter_z_test, hosmer_lemeshow_test):
        counted, repeated = test(y, p, sample_weight=w), test(ry, rp)
        assert counted.statistic == pytest.approx(repeated.statistic, rel=1e-9)
        assert counted.n == repeated.n == w.sum()
    assert expected_calibration_error(y, p, sample_weight=w) == pytest.approx(
        expected_calibration_error(ry, rp), rel=1e-9
    )
    check = check_calibration(y, p, sample_weight=w)
    assert (check.n, check.n_positive) == (rp.size, ry.sum())
    assert check.hosmer_lemeshow == pytest.approx(check_calibration(ry, rp).hosmer_lemeshow)
    ok = check_calibration(*calibrated(2000, 3))
    counted = estimate_performance(p, y_pred=p > 0.3, calibration=ok, sample_weight=w)
    repeated = estimate_performance(rp, y_pred=rp > 0.3, calibration=ok)
    assert counted.estimable and counted.n == repeated.n
    for name, e in counted.metrics.items():
        r = repeated.metrics[name]
        assert (e.estimate, e.ci_low, e.ci_high) == pytest.approx(
            (r.estimate, r.ci_low, r.ci_high), rel=1e-9
        ), name


def test_hosmer_lemeshow_groups_cut_a_run_of_equal_scores_as_repeated_cases_do() -> None:
    """30 cases in 3 groups of 10: the run of 12 cases scored 0.5 (7 with the event, first)
    is cut after its first 5, and the second group holds the rest of it."""
    p = np.array([0.1, 0.5, 0.5, 0.9])
    y = np.array([0, 1, 0, 1])
    w = np.array([5, 7, 5, 13])
    counted = hosmer_lemeshow_test(y, p, groups=3, sample_weight=w)
    # groups: 5 x 0.1 (no event) + 5 x 0.5 (events); 2 x 0.5 (events) + 5 x 0.5 + 3 x 0.9
    # (events); 10 x 0.9 (events)
    expected = hosmer_lemeshow_from_groups(
        [10, 10, 10], [5, 5, 10], [0.5 + 2.5, 1.0 + 2.5 + 2.7, 9.0], dof=3
    )
    assert counted.statistic == pytest.approx(expected.statistic, rel=1e-12)
    with pytest.raises(ValueError, match="sample_weight must hold whole counts >= 0"):
        hosmer_lemeshow_test(y, p, sample_weight=[1, -1, 1, 1])
    with pytest.raises(ValueError, match="sample_weight needs one count per case; got 3 for 4"):
        spiegelhalter_z_test(y, p, sample_weight=[1, 1, 1])
