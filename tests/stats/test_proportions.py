"""Binomial proportion intervals against published worked examples.

Newcombe RG (1998). Two-sided confidence intervals for the single proportion: comparison of
seven methods. Statistics in Medicine 17:857-872, Table II: method 3 (Wilson score, no
continuity correction) and method 5 (Clopper-Pearson "exact") for 81/263, 15/148, 0/20, 1/29.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from radgov.stats.proportions import proportion_ci, proportion_ci_arrays

# (x, n, Wilson low, Wilson high, Clopper-Pearson low, Clopper-Pearson high), Newcombe Table II
NEWCOMBE_1998 = [
    (81, 263, 0.2553, 0.3662, 0.2527, 0.3676),
    (15, 148, 0.0624, 0.1605, 0.0578, 0.1617),
    (0, 20, 0.0000, 0.1611, 0.0000, 0.1684),
    (1, 29, 0.0061, 0.1718, 0.0009, 0.1776),
]


@pytest.mark.parametrize(("x", "n", "wl", "wh", "cl", "ch"), NEWCOMBE_1998)
def test_newcombe_1998_table_ii(x: int, n: int, wl: float, wh: float, cl: float, ch: float) -> None:
    """Newcombe (1998) Table II, methods 3 and 5, to the 4 decimals printed."""
    w = proportion_ci(x, n, method="wilson")
    cp = proportion_ci(x, n, method="clopper-pearson")
    assert (round(w.ci_low, 4), round(w.ci_high, 4)) == (wl, wh)
    assert (round(cp.ci_low, 4), round(cp.ci_high, 4)) == (cl, ch)
    assert w.estimate == pytest.approx(x / n)
    assert w.n == n and w.method == "wilson" and cp.method == "clopper-pearson"


@pytest.mark.parametrize(("x", "n"), [(81, 263), (15, 148), (0, 20), (1, 29), (29, 29), (7, 9)])
def test_agresti_coull_formula_and_statsmodels(x: int, n: int) -> None:
    """Agresti & Coull (1998) in the form of Brown, Cai & DasGupta (2001), eq. (5).

    Checked against statsmodels' ``agresti_coull`` and the published property (Brown, Cai &
    DasGupta 2001, Section 4.1.1) that the Agresti-Coull interval always contains Wilson's.
    """
    ac = proportion_ci(x, n, method="agresti-coull")
    lo, hi = proportion_confint(x, n, alpha=0.05, method="agresti_coull")
    assert ac.ci_low == pytest.approx(max(lo, 0.0), abs=1e-12)
    assert ac.ci_high == pytest.approx(min(hi, 1.0), abs=1e-12)
    w = proportion_ci(x, n, method="wilson")
    assert ac.ci_low <= w.ci_low + 1e-12 and ac.ci_high >= w.ci_high - 1e-12


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("wilson", "wilson"), ("clopper-pearson", "beta"), ("agresti-coull", "agresti_coull")],
)
def test_vectorized_matches_statsmodels(ours: str, theirs: str) -> None:
    rng = np.random.default_rng(0)
    n = rng.integers(1, 400, size=200)
    x = rng.binomial(n, rng.random(200))
    est, lo, hi = proportion_ci_arrays(x, n, method=ours, confidence_level=0.9)  # type: ignore[arg-type]
    slo, shi = proportion_confint(x, n, alpha=0.1, method=theirs)
    np.testing.assert_allclose(est, x / n)
    np.testing.assert_allclose(lo, np.clip(slo, 0, 1), atol=1e-10)
    np.testing.assert_allclose(hi, np.clip(shi, 0, 1), atol=1e-10)


def test_empty_denominator_is_not_estimable() -> None:
    e = proportion_ci(0, 0)
    assert not e.estimable and e.reason and "n = 0" in e.reason
    assert math.isnan(e.estimate) and math.isnan(e.ci_low)
    est, lo, hi = proportion_ci_arrays([0, 3], [0, 10])
    assert np.isnan([est[0], lo[0], hi[0]]).all() and est[1] == 0.3


def test_edges_are_exact() -> None:
    for method in ("wilson", "clopper-pearson", "agresti-coull"):
        e = proportion_ci(29, 29, method=method)  # type: ignore[arg-type]
        assert e.ci_high == 1.0 and e.ci_low < 1.0
        z = proportion_ci(0, 29, method=method)  # type: ignore[arg-type]
        assert z.ci_low == 0.0 and z.ci_high > 0.0


@pytest.mark.parametrize(
    ("x", "n", "message"),
    [
        (5, 4, "successes must not exceed n"),
        (-1, 4, "successes must be a non-negative whole number"),
        (1.5, 4, "successes must be a non-negative whole number"),
        (1, float("nan"), "n must be a non-negative whole number"),
    ],
)
def test_bad_counts(x: float, n: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        proportion_ci(x, n)  # type: ignore[arg-type]


def test_bad_method_and_level() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        proportion_ci(1, 2, method="wald")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence_level"):
        proportion_ci(1, 2, confidence_level=95)


def test_array_error_names_index() -> None:
    with pytest.raises(ValueError, match="at index 2"):
        proportion_ci_arrays([1, 2, 9], [5, 5, 5])
