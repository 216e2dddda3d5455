"""Calibration metrics.

Published examples: scikit-learn's documented ``brier_score_loss`` example (User Guide,
section "Brier score loss": y_true = [0, 1, 1, 0], y_prob = [0.1, 0.9, 0.8, 0.3] gives 0.0375),
and the definition of Brier (1950); the interval is the Bradley, Schwartz & Hashino (2008)
eq. 7 variance, recomputed in its expanded published form ``(E f^4 - 4 E f^3 x + 6 E f^2 x -
4 E f x + E x - BS^2) / n``.  The calibration curve is checked against
``sklearn.calibration.calibration_curve``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.calibration import calibration_curve as sk_calibration_curve
from sklearn.metrics import brier_score_loss as sk_brier

from radgov.stats.calibration import brier_score_loss, calibration_curve, expected_calibration_error
from radgov.stats.proportions import proportion_ci


def test_brier_sklearn_documented_example() -> None:
    e = brier_score_loss([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3])
    assert e.estimate == pytest.approx(0.0375)
    assert e.ci_low <= 0.0375 <= e.ci_high and e.n == 4


def test_brier_bradley_variance_expanded_form() -> None:
    """Bradley et al. (2008) eq. 7 in its moment form equals our variance."""
    rng = np.random.default_rng(0)
    f = rng.random(500)
    x = (rng.random(500) < f).astype(int)
    e = brier_score_loss(x, f, confidence_level=0.9)
    bs = np.mean((f - x) ** 2)
    var = (
        np.mean(f**4)
        - 4 * np.mean(f**3 * x)
        + 6 * np.mean(f**2 * x)
        - 4 * np.mean(f * x)
        + np.mean(x)
        - bs**2
    ) / 500
    assert e.estimate == pytest.approx(sk_brier(x, f))
    half = 1.6448536269514722 * math.sqrt(var)
    assert (e.ci_low, e.ci_high) == pytest.approx((bs - half, bs + half), rel=1e-10)
    assert e.method.startswith("normal approximation")


def test_brier_edges() -> None:
    perfect = brier_score_loss([0, 1], [0.0, 1.0])
    assert (perfect.estimate, perfect.ci_low, perfect.ci_high) == (0.0, 0.0, 0.0)
    assert not brier_score_loss([], []).estimable
    with pytest.raises(ValueError, match=r"y_prob must lie in \[0, 1\]; found 1.5 at index 1"):
        brier_score_loss([0, 1], [0.2, 1.5])
    with pytest.raises(ValueError, match="y_prob must be finite; found nan at index 0"):
        brier_score_loss([0, 1], [float("nan"), 0.5])
    with pytest.raises(ValueError, match="y_true must contain only 0 and 1; found 3 at index 1"):
        brier_score_loss([0, 3], [0.2, 0.5])
    with pytest.raises(ValueError, match="same length"):
        brier_score_loss([0, 1, 1], [0.2, 0.5])


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_calibration_curve_matches_sklearn(strategy: str) -> None:
    rng = np.random.default_rng(1)
    p = rng.beta(2, 5, 2000)
    p[:20] = 0.3  # values on an inner edge
    y = (rng.random(2000) < p).astype(int)
    c = calibration_curve(y, p, n_bins=8, strategy=strategy)  # type: ignore[arg-type]
    prob_true, prob_pred = sk_calibration_curve(y, p, n_bins=8, strategy=strategy)
    nonempty = c.counts > 0
    np.testing.assert_allclose(c.observed_fraction[nonempty], prob_true)
    np.testing.assert_allclose(c.mean_predicted[nonempty], prob_pred)
    assert c.counts.sum() == 2000 and c.bin_edges.shape == (9,)
    assert np.isnan(c.observed_fraction[~nonempty]).all()
    k = int(np.argmax(c.counts))
    w = proportion_ci(round(c.observed_fraction[k] * c.counts[k]), int(c.counts[k]))
    assert (c.observed_low[k], c.observed_high[k]) == pytest.approx((w.ci_low, w.ci_high))


def test_expected_calibration_error() -> None:
    """Hand-computed ECE (Guo et al. 2017 definition) on two bins."""
    y = [0, 1, 1, 1]
    p = [0.2, 0.4, 0.9, 0.7]
    # bins of width 0.5: {0.2, 0.4} observed 1/2 vs mean 0.3; {0.9, 0.7} observed 1 vs 0.8
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.5 * 0.2 + 0.5 * 0.2)
    assert expected_calibration_error([0, 1], [0.0, 1.0]) == 0.0
    rng = np.random.default_rng(2)
    q = rng.random(400)
    yy = (rng.random(400) < q).astype(int)
    c = calibration_curve(yy, q, n_bins=10)
    ok = c.counts > 0
    manual = np.sum(c.counts[ok] / 400 * np.abs(c.observed_fraction[ok] - c.mean_predicted[ok]))
    assert expected_calibration_error(yy, q) == pytest.approx(manual)
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error(y, p, n_bins=0)
