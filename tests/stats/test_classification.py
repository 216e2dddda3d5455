"""Classification metrics from one confusion count.

Published example: Altman DG, Bland JM (1994). Diagnostic tests 1: sensitivity and specificity.
BMJ 308:1552, and Diagnostic tests 2: predictive values, BMJ 309:102: liver scan against
pathology in 344 patients, 231 true positives, 32 false positives, 27 false negatives and 54
true negatives; sensitivity 231/258 = 0.895, specificity 54/86 = 0.628, PPV 231/263 = 0.878,
NPV 54/81 = 0.667.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from radgov.stats.classification import (
    ConfusionCounts,
    accuracy_score,
    classification_metrics,
    confusion_counts,
    expected_outcomes,
    f1_score,
    npv_score,
    ppv_score,
    predictive_values_at_prevalence,
    predictive_values_at_prevalence_ci,
    sensitivity_score,
    specificity_score,
)
from radgov.stats.proportions import proportion_ci


def table(tp: int, fp: int, tn: int, fn: int) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.r_[np.ones(tp + fn, int), np.zeros(fp + tn, int)]
    y_pred = np.r_[np.ones(tp, int), np.zeros(fn, int), np.ones(fp, int), np.zeros(tn, int)]
    perm = np.random.default_rng(0).permutation(y_true.size)
    return y_true[perm], y_pred[perm]


LIVER = table(tp=231, fp=32, tn=54, fn=27)


def test_altman_bland_1994_liver_scan() -> None:
    """Altman & Bland (1994) BMJ 308:1552 and 309:102, values as printed (3 decimals)."""
    y, p = LIVER
    assert confusion_counts(y, p) == ConfusionCounts(tp=231, fp=32, tn=54, fn=27)
    m = classification_metrics(y, p)
    assert round(m["sensitivity"].estimate, 3) == 0.895
    assert round(m["specificity"].estimate, 3) == 0.628
    assert round(m["ppv"].estimate, 3) == 0.878
    assert round(m["npv"].estimate, 3) == 0.667
    assert m["accuracy"].estimate == pytest.approx(285 / 344)
    assert m["sensitivity"] == proportion_ci(231, 258)
    assert m["specificity"] == proportion_ci(54, 86)
    assert m["ppv"] == sensitivity_score(p, y)  # PPV is sensitivity with roles swapped
    assert m["f1"].estimate == pytest.approx(2 * 231 / (2 * 231 + 32 + 27))


def test_single_metric_functions_agree_with_the_dict() -> None:
    y, p = LIVER
    m = classification_metrics(y, p, method="clopper-pearson", confidence_level=0.9)
    kw = {"method": "clopper-pearson", "confidence_level": 0.9}
    assert sensitivity_score(y, p, **kw) == m["sensitivity"]  # type: ignore[arg-type]
    assert specificity_score(y, p, **kw) == m["specificity"]  # type: ignore[arg-type]
    assert ppv_score(y, p, **kw) == m["ppv"]  # type: ignore[arg-type]
    assert npv_score(y, p, **kw) == m["npv"]  # type: ignore[arg-type]
    assert accuracy_score(y, p, **kw) == m["accuracy"]  # type: ignore[arg-type]
    assert f1_score(y, p, confidence_level=0.9) == m["f1"]
    assert m["sensitivity"].method == "clopper-pearson"


def test_matches_sklearn_point_estimates() -> None:
    from sklearn import metrics as skm

    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 500)
    p = np.where(rng.random(500) < 0.7, y, 1 - y)
    m = classification_metrics(y, p)
    assert m["sensitivity"].estimate == pytest.approx(skm.recall_score(y, p))
    assert m["ppv"].estimate == pytest.approx(skm.precision_score(y, p))
    assert m["accuracy"].estimate == pytest.approx(skm.accuracy_score(y, p))
    assert m["f1"].estimate == pytest.approx(skm.f1_score(y, p))


def test_f1_delta_method_variance() -> None:
    """Takahashi et al. (2022) delta method: n var(F1) = g' (diag(p) - p p') g.

    Checked against a numerical gradient with the full multinomial covariance, and against the
    spread of F1 over simulated multinomial tables.
    """
    y, p = table(tp=90, fp=15, tn=160, fn=35)
    e = f1_score(y, p)
    n = 300
    probs = np.array([90, 15, 35, 160]) / n

    def f1(q: np.ndarray) -> float:
        return float(2 * q[0] / (2 * q[0] + q[1] + q[2]))

    h = 1e-7
    grad = np.array(
        [(f1(probs + h * np.eye(4)[i]) - f1(probs - h * np.eye(4)[i])) / (2 * h) for i in range(4)]
    )
    var = grad @ (np.diag(probs) - np.outer(probs, probs)) @ grad / n
    half = 1.959963984540054 * math.sqrt(var)
    assert e.ci_low == pytest.approx(e.estimate - half, rel=1e-6)
    assert e.ci_high == pytest.approx(e.estimate + half, rel=1e-6)
    sims = np.random.default_rng(1).multinomial(n, probs, size=50_000)
    f = 2 * sims[:, 0] / (2 * sims[:, 0] + sims[:, 1] + sims[:, 2])
    assert f.std() == pytest.approx(math.sqrt(var), rel=0.05)
    assert e.method.startswith("delta-method")


def test_no_positives_is_not_estimable() -> None:
    y = np.zeros(20, int)
    p = np.r_[np.ones(3, int), np.zeros(17, int)]
    m = classification_metrics(y, p)
    for key in ("sensitivity", "f1"):
        assert not m[key].estimable and m[key].reason == "no positive cases"
        assert math.isnan(m[key].estimate)
    assert m["specificity"].estimate == pytest.approx(17 / 20)
    assert m["ppv"].estimate == 0.0 and m["ppv"].estimable
    assert not classification_metrics(np.ones(5, int), np.ones(5, int))["npv"].estimable


def test_perfect_classifier() -> None:
    y = np.r_[np.ones(10, int), np.zeros(10, int)]
    m = classification_metrics(y, y)
    for key in ("sensitivity", "specificity", "ppv", "npv", "accuracy", "f1"):
        assert m[key].estimate == 1.0 and m[key].ci_high == 1.0
    assert m["sensitivity"].ci_low < 1.0  # Wilson never collapses to a point


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([0, 1, 2], [0, 1, 1], r"y_true must contain only 0 and 1; found 2 at index 2"),
        ([0, 1, 1], [0, 1, -1], r"y_pred must contain only 0 and 1; found -1 at index 2"),
        ([0, 1, float("nan")], [0, 1, 1], r"found nan at index 2"),
        ([0, 1], [0, 1, 1], r"same length; y_true has 2, y_pred has 3"),
        (["a", "b"], [0, 1], r"y_true must contain only 0 and 1"),
        (0, [0], r"1-D"),
    ],
)
def test_bad_input(y_true: object, y_pred: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sensitivity_score(y_true, y_pred)  # type: ignore[arg-type]


def test_booleans_and_lists_accepted() -> None:
    e = sensitivity_score([True, True, False], [True, False, False])
    assert e.estimate == 0.5 and e.n == 2


def test_predictive_values_by_bayes() -> None:
    """Bayes' theorem with Altman & Bland's (1994) liver-scan sensitivity and specificity."""
    ppv, npv = predictive_values_at_prevalence(231 / 258, 54 / 86, 231 / 263 * 0 + 258 / 344)
    assert ppv == pytest.approx(231 / 263)  # the sample prevalence gives the sample PPV
    assert npv == pytest.approx(54 / 81)
    ppv, npv = predictive_values_at_prevalence(0.9, 0.8, 0.1)
    assert ppv == pytest.approx(0.09 / (0.09 + 0.18))
    assert npv == pytest.approx(0.72 / (0.72 + 0.01))
    with pytest.raises(ValueError, match="prevalence must lie in"):
        predictive_values_at_prevalence(0.9, 0.8, 1.5)


def test_expected_outcomes_per_thousand_studies() -> None:
    """At 10% prevalence, 1,000 studies hold 100 with the finding: a 90% sensitive, 80%
    specific model finds 90 of them and flags 180 of the 900 without it."""
    out = expected_outcomes(0.9, 0.8, 0.1)
    assert (out.tp, out.fn, out.fp, out.tn) == pytest.approx((90, 10, 180, 720))
    assert out.flagged == pytest.approx(270) and out.per == 1000
    assert (out.ppv, out.npv) == pytest.approx((90 / 270, 720 / 730))
    assert math.isnan(expected_outcomes(0.0, 1.0, 0.1).ppv)  # nothing flagged: undefined


def test_mercaldo_logit_interval() -> None:
    """Mercaldo, Lau & Zhou (2007) eqs. 8-11, written out by hand on the liver-scan counts.

    No worked example from the paper could be sourced here; the test recomputes the published
    formulas independently and checks the interval's coverage by simulation.
    """
    y, p = LIVER
    se, sp = sensitivity_score(y, p), specificity_score(y, p)
    prev = 0.2
    ppv, npv = predictive_values_at_prevalence_ci(se, sp, prev)
    s, c = 231 / 258, 54 / 86
    lp = math.log(prev * s / ((1 - prev) * (1 - c)))
    vp = (1 - s) / (258 * s) + c / (86 * (1 - c))
    z = 1.959963984540054
    assert ppv.estimate == pytest.approx(1 / (1 + math.exp(-lp)))
    assert ppv.ci_low == pytest.approx(1 / (1 + math.exp(-(lp - z * math.sqrt(vp)))))
    assert ppv.ci_high == pytest.approx(1 / (1 + math.exp(-(lp + z * math.sqrt(vp)))))
    ln = math.log((1 - prev) * c / (prev * (1 - s)))
    vn = s / (258 * (1 - s)) + (1 - c) / (86 * c)
    assert npv.ci_low == pytest.approx(1 / (1 + math.exp(-(ln - z * math.sqrt(vn)))))
    assert ppv.method.startswith("logit")

    rng = np.random.default_rng(7)
    true_ppv, _ = predictive_values_at_prevalence(0.85, 0.7, prev)
    hits = 0
    for _ in range(400):
        tp = int(rng.binomial(150, 0.85))
        tn = int(rng.binomial(120, 0.7))
        a = proportion_ci(tp, 150)
        b = proportion_ci(tn, 120)
        e, _ = predictive_values_at_prevalence_ci(a, b, prev)
        hits += e.ci_low <= true_ppv <= e.ci_high
    assert 0.91 <= hits / 400 <= 0.98


def test_mercaldo_zero_cell_uses_adjusted_interval() -> None:
    se, sp = proportion_ci(40, 50), proportion_ci(60, 60)  # no false positives: PPV = 1
    ppv, npv = predictive_values_at_prevalence_ci(se, sp, 0.1)
    assert ppv.estimate == 1.0 and ppv.ci_high == 1.0 and 0 < ppv.ci_low < 1
    assert ppv.method.startswith("adjusted logit")
    assert npv.ci_low <= npv.estimate <= npv.ci_high
    bad = proportion_ci(0, 0)
    assert not predictive_values_at_prevalence_ci(bad, sp, 0.1)[0].estimable
