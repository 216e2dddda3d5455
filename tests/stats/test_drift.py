"""Drift tests against scipy and a published PSI worked example.

* Chi-square test of homogeneity: ``scipy.stats.chi2_contingency`` on the 2 x K table.
* Two-sample Kolmogorov-Smirnov: ``scipy.stats.ks_2samp`` (exact and asymptotic branches).
* PSI: the worked example of GeeksforGeeks, "Population Stability Index (PSI)" (last updated
  13 Aug 2025): income bins Low / Medium / High with expected (2020) fractions 0.4, 0.3, 0.3
  and observed (2021) fractions 0.35, 0.25, 0.4; each bin's term
  ``(observed - expected) ln(observed / expected)`` and their sum, 0.0446 (computed here from
  the printed fractions: 0.00668 + 0.00912 + 0.02877).  The formula is Siddiqi's (2006) and
  Yurdakul & Naranjo's (2020), whose null distribution ``PSI / (1/n + 1/m) ~ chi2(B - 1)`` is
  checked by simulation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2_contingency, ks_2samp, kstwobign

from radgov.stats.drift import (
    binned_counts,
    categorical_drift,
    chi_square_homogeneity,
    continuous_drift,
    count_values,
    ks_two_sample,
    new_values,
    population_stability_index,
    quantile_edges,
)


def test_psi_published_worked_example() -> None:
    expected = [400, 300, 300]  # 2020: 0.4, 0.3, 0.3 of 1,000
    observed = [350, 250, 400]  # 2021: 0.35, 0.25, 0.4 of 1,000
    psi = population_stability_index(expected, observed, labels=["Low", "Medium", "High"])
    terms = [
        (0.35 - 0.4) * math.log(0.35 / 0.4),
        (0.25 - 0.3) * math.log(0.25 / 0.3),
        (0.4 - 0.3) * math.log(0.4 / 0.3),
    ]
    np.testing.assert_allclose(psi.contribution, terms)
    assert psi.contribution == pytest.approx([0.00668, 0.00912, 0.02877], abs=5e-6)
    assert psi.psi == pytest.approx(0.0446, abs=5e-5)
    assert psi.labels == ("Low", "Medium", "High")
    assert psi.n_reference == psi.n_current == 1000
    # Yurdakul & Naranjo: PSI / (1/1000 + 1/1000) on 2 degrees of freedom
    from scipy.stats import chi2

    assert psi.p_value == pytest.approx(chi2.sf(psi.psi / 0.002, 2))


def test_psi_empty_bins() -> None:
    """A bin empty in both windows is dropped; empty in one window only, floored at 1e-4."""
    psi = population_stability_index([50, 50, 0, 0], [50, 40, 10, 0])
    assert psi.labels == ("0", "1", "2")
    assert psi.reference_fraction[2] == 1e-4
    expected = 0.0 + (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert psi.psi == pytest.approx(expected)
    looser = population_stability_index([50, 50, 0], [50, 40, 10], empty_fraction=1e-2)
    assert looser.psi < psi.psi
    assert population_stability_index([5, 5], [5, 5]).psi == 0.0
    with pytest.raises(ValueError, match="the current window is empty"):
        population_stability_index([5, 5], [0, 0])
    with pytest.raises(ValueError, match="one count per category; got 2 and 3"):
        population_stability_index([5, 5], [1, 2, 3])
    with pytest.raises(
        ValueError, match=r"reference_counts must hold whole counts >= 0; found -1 at index 1"
    ):
        population_stability_index([5, -1], [1, 2])


def test_psi_null_distribution_yurdakul_naranjo() -> None:
    """Under no change, PSI / (1/n + 1/m) has mean about B - 1 and the test holds its size."""
    rng = np.random.default_rng(5)
    probs = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    scaled, rejected = [], 0
    for _ in range(1000):
        a = rng.multinomial(2000, probs)
        b = rng.multinomial(1500, probs)
        psi = population_stability_index(a, b)
        scaled.append(psi.psi / (1 / 2000 + 1 / 1500))
        rejected += psi.p_value < 0.05
    assert np.mean(scaled) == pytest.approx(4.0, rel=0.08)
    assert 0.03 <= rejected / 1000 <= 0.07


@pytest.mark.parametrize(
    ("ref", "cur"),
    [
        ([120, 80, 30, 5], [100, 95, 20, 12]),
        ([120, 80, 0, 5], [100, 95, 7, 0]),  # a category new in the current window
        ([300, 200], [140, 160]),  # 2 x 2
    ],
)
def test_chi_square_matches_scipy(ref: list[int], cur: list[int]) -> None:
    table = np.array([ref, cur])
    for correction in (False, True):
        ours = chi_square_homogeneity(ref, cur, correction=correction)
        stat, p, dof, _ = chi2_contingency(table[:, table.sum(axis=0) > 0], correction=correction)
        assert ours.statistic == pytest.approx(stat, rel=1e-12)
        assert ours.p_value == pytest.approx(p, rel=1e-9, abs=1e-300)
        assert ours.dof == dof
    assert chi_square_homogeneity([5, 0], [7, 0]).p_value == 1.0  # one category: nothing to test


@pytest.mark.parametrize(("n", "m"), [(40, 55), (800, 1000), (30_000, 12_000)])
def test_ks_matches_scipy(n: int, m: int) -> None:
    rng = np.random.default_rng(n)
    ref = rng.normal(size=n)
    cur = rng.normal(0.15, 1.1, size=m)
    cur[: m // 10] = np.round(cur[: m // 10], 1)  # ties within and across samples
    ref[: n // 10] = np.round(ref[: n // 10], 1)
    ours = ks_two_sample(ref, cur)
    theirs = ks_2samp(ref, cur)
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-15)
    if max(n, m) <= 10_000:
        assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-10, abs=1e-300)
    else:  # Smirnov's limiting distribution, a little above scipy's kstwo at n m / (n + m)
        en = n * m / (n + m)
        assert ours.p_value == pytest.approx(kstwobign.sf(math.sqrt(en) * ours.statistic))
        assert theirs.pvalue <= ours.p_value <= 1.15 * theirs.pvalue  # 12 % at p 4e-33
    assert (ours.n_reference, ours.n_current) == (n, m)
    assert ("asymptotic" in ours.method) == (max(n, m) > 10_000)


def test_ks_p_value_underflow_is_zero_as_in_scipy() -> None:
    rng = np.random.default_rng(9)
    ref, cur = rng.normal(size=40_000), rng.normal(0.5, 1, size=40_000)
    ours = ks_two_sample(ref, cur)
    assert ours.p_value == ks_2samp(ref, cur).pvalue == 0.0


def test_quantile_bins_and_continuous_psi() -> None:
    rng = np.random.default_rng(8)
    ref = rng.normal(size=10_000)
    edges = quantile_edges(ref, n_bins=10)
    np.testing.assert_allclose(
        edges, np.quantile(ref, np.arange(1, 10) / 10, method="inverted_cdf")
    )
    counts = binned_counts(ref, edges)
    assert counts.tolist() == [1000] * 10  # deciles
    out = continuous_drift(ref, rng.normal(0.5, 1, size=5000))
    assert out.psi.psi > 0.2 and out.ks.p_value < 1e-10
    assert out.psi.labels[0].startswith("(-inf, ") and out.psi.labels[-1].endswith(", inf]")
    same = continuous_drift(ref, rng.normal(size=5000))
    assert same.psi.psi < 0.01
    # a value on an edge falls in the bin below it; values outside the reference range count
    assert binned_counts([0.0, 1.0, 1.0, 5.0, -9.0], [1.0, 2.0]).tolist() == [4, 0, 1]
    # a point mass merges bins: slice thickness 5 mm for 70 % of exams
    thickness = np.r_[np.full(700, 5.0), np.full(200, 1.0), np.full(100, 3.0)]
    assert quantile_edges(thickness, n_bins=10).tolist() == [1.0, 3.0, 5.0]
    assert binned_counts(thickness, [1.0, 3.0, 5.0]).tolist() == [200, 100, 700, 0]
    with pytest.raises(ValueError, match="reference must be finite; found inf at index 0"):
        continuous_drift([np.inf, 1.0], [1.0])
    with pytest.raises(ValueError, match="current is empty"):
        continuous_drift([1.0, 2.0], [])


def test_categorical_drift_and_new_values() -> None:
    ref = ["SIEMENS"] * 60 + ["GE"] * 40
    cur = ["SIEMENS"] * 30 + ["GE"] * 40 + ["Canon"] * 20 + [None] * 5 + [float("nan")] * 5
    days = np.arange("2026-03-01", "2026-03-11", dtype="datetime64[D]")
    times = np.r_[np.repeat(days[:7], 10), np.repeat(days[7:], 10)][::-1].copy()
    out = categorical_drift(ref, cur, times=times)
    assert out.categories == ("Canon", "GE", "SIEMENS", None)
    assert out.reference_counts.tolist() == [0, 40, 60, 0]
    assert out.current_counts.tolist() == [20, 40, 30, 10]
    stat, p, dof, _ = chi2_contingency(np.array([[0, 40, 60, 0], [20, 40, 30, 10]]))
    assert out.chi_square.statistic == pytest.approx(stat) and out.chi_square.dof == dof == 3
    assert [nv.value for nv in out.new_values] == ["Canon", None]
    canon = out.new_values[0]
    assert (canon.count, canon.first_index) == (20, 70)
    assert canon.first_seen == times[70:90].min()
    assert out.new_values[1].first_seen == times[90:].min()
    assert new_values(ref, ref) == ()
    versions = new_values(["VE10", "VE10"], np.array(["VE10", "VE11", "VE11"]))
    assert versions[0].value == "VE11" and versions[0].first_seen is None
    with pytest.raises(ValueError, match="times must have one entry per current value"):
        new_values(ref, cur, times=times[:3])


def test_count_values() -> None:
    assert count_values(np.array([3, 1, 3])) == {1: 1, 3: 2}
    assert count_values(["a", None, float("nan"), "a"]) == {"a": 2, None: 2}
    assert count_values(np.array(["x", "y", "x"])) == {"x": 2, "y": 1}
