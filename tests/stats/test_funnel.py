"""Funnel plots (Spiegelhalter 2005, Statistics in Medicine 24:1185-1202).

Published worked example: the normal-approximation z-scores and 95 % flags of the ten
physicians in funnelR's vignette (Kumar 2018, below).  No published table of the exact limits
or of phi / tau^2 for printed data could be found offline (searched: the paper's full text and
the over-dispersion paper, Verburg et al. 2018, Wicklin's 2011 SAS post, funnelR,
FunnelPlotR, PHEindicatormethods, whose limits are Wilson-based, a different method); the
exact limits are tested against the Appendix's interpolation written out with binomial
probabilities summed term by term, and ``phi`` / ``tau^2`` against section 6 by hand, plus a
hand computation at n = 1 and a check that an in-control unit falls outside the 95 % limits
about 5 % of the time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from radgov.stats.funnel import funnel_limits, funnel_plot, overdispersion


def exact_limit_by_hand(n: int, theta: float, p: float) -> float:
    cdf, r = 0.0, -1
    while cdf < p:  # smallest r with P(R <= r) >= p
        r += 1
        previous = cdf
        cdf += math.comb(n, r) * theta**r * (1 - theta) ** (n - r)
    alpha = (cdf - p) / (cdf - previous)
    return min(max((r - alpha) / n, 0.0), 1.0)


@pytest.mark.parametrize("theta", [0.05, 0.2, 0.5])
def test_exact_limits_are_the_appendix_interpolation(theta: float) -> None:
    sizes = [5, 12, 40, 150, 600]
    limits = funnel_limits(sizes, target=theta)
    for i, n in enumerate(sizes):
        assert limits.low_95[i] == pytest.approx(exact_limit_by_hand(n, theta, 0.025))
        assert limits.high_95[i] == pytest.approx(exact_limit_by_hand(n, theta, 0.975))
        assert limits.low_998[i] == pytest.approx(exact_limit_by_hand(n, theta, 0.001))
        assert limits.high_998[i] == pytest.approx(exact_limit_by_hand(n, theta, 0.999))


def test_exact_limit_at_n_1_by_hand() -> None:
    """theta = 0.5, n = 1: r_0.975 = 1, alpha = (1 - 0.975) / (1 - 0.5) = 0.05, limit 0.95."""
    limits = funnel_limits([1], target=0.5)
    assert limits.high_95[0] == pytest.approx(0.95)
    assert limits.low_95[0] == 0.0  # (0 - 0.95) / 1 clipped at 0


def test_normal_limits_and_convergence() -> None:
    limits = funnel_limits([100, 10_000], target=0.2, method="normal")
    se = np.sqrt(0.2 * 0.8 / np.array([100, 10_000]))
    np.testing.assert_allclose(limits.high_95, 0.2 + 1.959963984540054 * se)
    np.testing.assert_allclose(limits.low_998, 0.2 - 3.090232306167813 * se)
    exact = funnel_limits([10_000], target=0.2)
    assert exact.high_95[0] == pytest.approx(limits.high_95[1], abs=2e-4)


def test_normal_z_and_95_flags_match_funnelR_vignette_example_3() -> None:
    """Kumar M, funnelR 0.1.0 (CRAN, 2018), vignette "Funnel Plots for Proportion Data",
    Example 3: ``funscore(my_data, benchmark = 0.50, alpha = 0.80, alpha2 = 0.95,
    method = "approximate")`` on ten physicians' satisfied patients (n of d).  It prints
    z = |r - 0.5| / sqrt(0.25 / d) to 7 decimals and ``score2``, "Extreme" outside the 95 %
    limits; our z is signed, our flag names the side and the 99.8 % limits too."""
    satisfied = [130, 65, 155, 125, 19, 185, 82, 77, 50, 80]
    patients = [150, 200, 300, 250, 50, 220, 100, 90, 400, 425]
    printed_z = [8.9814624, 4.9497475, 0.5773503, 0.0, 1.6970563,
                 10.1129979, 6.4, 6.7461923, 15.0, 12.8543881]  # fmt: skip
    extreme_95 = [True, True, False, False, False, True, True, True, True, True]
    funnel = funnel_plot(satisfied, patients, target=0.5, method="normal")
    np.testing.assert_allclose(np.abs(funnel.z), printed_z, rtol=0, atol=5e-8)
    assert [f != "within" for f in funnel.flags] == extreme_95
    assert funnel.flags[4] == "within"  # physician 5: |z| = 1.70, inside 1.96
    # physician 2 (65 of 200) is 4.9 SD low: beyond the 99.8 % limits (3.09 SD) too
    assert funnel.flags[1] == "low-99.8" and funnel.flags[0] == "high-99.8"


def test_in_control_units_fall_outside_the_95_limits_about_5_percent() -> None:
    rng = np.random.default_rng(1)
    n = rng.integers(20, 400, size=20_000)
    events = rng.binomial(n, 0.15)
    funnel = funnel_plot(events, n, target=0.15)
    outside = np.mean([f != "within" for f in funnel.flags])
    assert 0.035 <= outside <= 0.055
    assert np.mean([f.endswith("99.8") for f in funnel.flags]) < 0.004


def test_one_radiologist_of_five_overrides_far_more() -> None:
    """Issue 17's scenario: only the outlier is flagged, against the pooled rate.

    The pooled rate includes the outlier: a far larger outlier (90 of 300) would pull it up
    enough to flag the other four as low at 95 %; ``target=`` then takes a standard instead.
    """
    events = [30, 28, 35, 31, 60]
    n = [300, 280, 320, 310, 300]
    funnel = funnel_plot(events, n)
    assert funnel.limits.target == pytest.approx(sum(events) / sum(n))
    assert funnel.flags == ("within", "within", "within", "within", "high-99.8")
    assert funnel.n_units == 5 and "exact binomial" in funnel.method
    pulled = funnel_plot([30, 28, 35, 31, 90], n)
    assert pulled.flags[0] == "low"
    standard = funnel_plot([30, 28, 35, 31, 90], n, target=0.1)
    assert standard.flags == ("within", "within", "within", "within", "high-99.8")


def test_overdispersion_phi_and_tau2() -> None:
    """Section 6: Winsorized phi (10th / 90th percentiles, R's type-7 quantiles) and tau^2."""
    events = np.array([12, 30, 8, 25, 40, 10, 22, 60, 15, 35])
    n = np.array([100, 150, 90, 120, 200, 110, 130, 210, 95, 160])
    theta = events.sum() / n.sum()
    z = (events / n - theta) / np.sqrt(theta * (1 - theta) / n)
    low, high = np.quantile(z, [0.1, 0.9])
    phi_hand = np.mean(np.clip(z, low, high) ** 2)
    w = n / (theta * (1 - theta))
    tau2_hand = (10 * phi_hand - 9) / (w.sum() - (w**2).sum() / w.sum())
    phi, tau2 = overdispersion(z, n, target=theta)
    assert phi == pytest.approx(phi_hand) and tau2 == pytest.approx(max(tau2_hand, 0.0))
    multiplicative = funnel_plot(events, n, overdispersion_adjustment="multiplicative")
    additive = funnel_plot(events, n, overdispersion_adjustment="additive")
    plain = funnel_plot(events, n, method="normal")
    if tau2_hand > 0:
        assert multiplicative.phi == pytest.approx(phi_hand)
        assert additive.tau2 == pytest.approx(tau2_hand)
        assert np.all(multiplicative.limits.high_95 > plain.limits.high_95)
        assert np.all(additive.limits.high_95 > plain.limits.high_95)
        se2 = theta * (1 - theta) / n
        np.testing.assert_allclose(
            additive.limits.high_95, theta + 1.959963984540054 * np.sqrt(se2 + tau2_hand)
        )
    # no over-dispersion: nothing is widened
    calm = funnel_plot([20, 21, 19, 20], [100, 100, 100, 100], overdispersion_adjustment="additive")
    assert calm.tau2 == 0.0 and calm.phi == 1.0 and "exact binomial" in calm.method


def test_funnel_bad_input() -> None:
    with pytest.raises(ValueError, match=r"unit 1: need whole counts"):
        funnel_plot([1, 5], [10, 0])
    with pytest.raises(ValueError, match="target must lie strictly between 0 and 1"):
        funnel_plot([0, 0], [10, 10])
    with pytest.raises(ValueError, match="use method='normal'"):
        funnel_limits([10], target=0.1, phi=2.0)
    with pytest.raises(ValueError, match="overdispersion_adjustment must be"):
        funnel_plot([1, 2], [10, 10], overdispersion_adjustment="both")  # type: ignore[arg-type]
