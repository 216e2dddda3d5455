"""Average run lengths against published tables.

* Lucas JM, Crosier RB (1982), "Fast initial response for CUSUM quality-control schemes",
  Technometrics 24:199-205, Table 1, reprinted as Montgomery (2009), *Introduction to
  Statistical Quality Control*, 6th ed., Table 9.3: ARLs of the two-sided tabular CUSUM with
  k = 1/2 and h = 4 or 5 for shifts of 0 to 4 sigma.
* Lucas JM, Saccucci MS (1990), "Exponentially weighted moving average control schemes",
  Technometrics 32:1-12, reprinted as Montgomery (2009) Table 9.11: ARLs of the EWMA with
  (lambda, L) = (0.05, 2.615), (0.10, 2.814), (0.20, 2.962), in-control ARL about 500.
* The Bernoulli CUSUM's ARL is exact on its lattice (Reynolds & Stoumbos 1999); no published
  table could be sourced here, so it is checked against closed forms (a chart that signals on
  the first event has ARL 1/p; a chart with gamma = 1/2 is a reflected random walk whose ARL
  solves a second-order recurrence by hand) and against simulation of the very chart that
  ``bernoulli_cusum`` runs.
"""

from __future__ import annotations

import numpy as np
import pytest

from radgov.stats.control_charts import bernoulli_cusum
from radgov.stats.run_length import (
    bernoulli_cusum_arl,
    bernoulli_cusum_design,
    bernoulli_reference_value,
    cusum_arl,
    ewma_arl,
    ewma_limit_for_arl,
)

SHIFTS = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0]
TABLE_9_3 = {
    4.0: [168, 74.2, 26.6, 13.3, 8.38, 4.75, 3.34, 2.62, 2.19, 1.71],
    5.0: [465, 139, 38.0, 17.0, 10.4, 5.75, 4.01, 3.11, 2.57, 2.01],
}
TABLE_9_11 = {
    (0.05, 2.615): [500, 84.1, 28.8, 16.4, 11.4, 7.1, 5.2, 4.2, 3.5, 2.7],
    (0.10, 2.814): [500, 106, 31.3, 15.9, 10.3, 6.1, 4.4, 3.4, 2.9, 2.2],
    (0.20, 2.962): [500, 150, 41.8, 18.2, 10.5, 5.5, 3.7, 2.9, 2.4, 1.9],
}


@pytest.mark.parametrize("h", [4.0, 5.0])
def test_cusum_arl_lucas_crosier_table_1(h: float) -> None:
    for shift, printed in zip(SHIFTS, TABLE_9_3[h], strict=True):
        ours = cusum_arl(shift, k=0.5, h=h, sided="two")
        assert ours == pytest.approx(printed, rel=0.006), (h, shift)


def test_cusum_arl_sides() -> None:
    up = cusum_arl(1.0, k=0.5, h=5.0, sided="upper")
    down = cusum_arl(1.0, k=0.5, h=5.0, sided="lower")
    assert up == pytest.approx(10.4, rel=0.01) and down > 1e4
    assert cusum_arl(0.0, h=5.0, sided="upper") == pytest.approx(2 * 465, rel=0.003)
    with pytest.raises(ValueError, match="sided must be"):
        cusum_arl(0.0, sided="both")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="states must be at least 10"):
        cusum_arl(0.0, states=3)


@pytest.mark.parametrize(("lam", "limit"), list(TABLE_9_11))
def test_ewma_arl_lucas_saccucci(lam: float, limit: float) -> None:
    for shift, printed in zip(SHIFTS, TABLE_9_11[(lam, limit)], strict=True):
        ours = ewma_arl(shift, lam=lam, limit=limit)
        # the table prints 3 significant figures (2 for small ARLs)
        assert ours == pytest.approx(printed, rel=0.012, abs=0.05), (lam, shift)


def test_ewma_limit_for_arl_inverts_the_table() -> None:
    assert ewma_limit_for_arl(500, lam=0.1) == pytest.approx(2.814, abs=0.003)
    with pytest.raises(ValueError, match="arl0 must exceed 1"):
        ewma_limit_for_arl(1, lam=0.1)


def test_bernoulli_reference_value() -> None:
    """Reynolds & Stoumbos (1999) eq. for gamma: the SPRT boundary slope."""
    p0, p1 = 0.05, 0.10
    expected = np.log(0.95 / 0.90) / np.log(0.10 * 0.95 / (0.05 * 0.90))
    assert bernoulli_reference_value(p0, p1) == pytest.approx(expected)
    assert p0 < bernoulli_reference_value(p0, p1) < p1
    with pytest.raises(ValueError, match="p1 must exceed p0"):
        bernoulli_reference_value(0.2, 0.1)


def test_bernoulli_arl_signal_on_first_event_is_geometric() -> None:
    """With h below one up-step, the first 1 signals: the run length is geometric, ARL 1/p."""
    for p in (0.01, 0.2, 0.7):
        assert bernoulli_cusum_arl(p, gamma=0.1, h=0.5) == pytest.approx(1 / p)


def test_bernoulli_arl_reflected_random_walk_by_hand() -> None:
    """gamma = 1/2: +1/2 on a 1, -1/2 on a 0 (floor 0); h = 2 is 4 lattice steps.

    L_i = 1 + p L_(i+1) + q L_(i-1) for 1 <= i <= 3, L_0 = 1 + p L_1 + q L_0, L_4 = 0:
    the recurrence solved with fractions, independently of the sparse solver.
    """
    from fractions import Fraction

    p = Fraction(3, 10)
    q = 1 - p
    # write L_i = a_i + b_i L_0 going up from L_0 = 1 + p L_1 + q L_0, i.e. L_1 = (p L_0 - 1)/p
    a, b = [Fraction(0)], [Fraction(1)]
    a.append(-1 / p)
    b.append(Fraction(1))
    for i in range(1, 4):  # L_(i+1) = (L_i - 1 - q L_(i-1)) / p
        a.append((a[i] - 1 - q * a[i - 1]) / p)
        b.append((b[i] - q * b[i - 1]) / p)
    l0 = -a[4] / b[4]  # L_4 = 0
    assert bernoulli_cusum_arl(0.3, gamma=0.5, h=2.0) == pytest.approx(float(l0), rel=1e-10)


def test_bernoulli_design_reaches_the_target_arl() -> None:
    design = bernoulli_cusum_design(0.05, 0.10, arl0=2000)
    assert design.arl0 >= 2000
    smaller = bernoulli_cusum_arl(
        0.05, gamma=design.gamma, h=design.h - 1 / design.scale, max_denominator=design.scale
    )
    assert smaller < 2000  # the limit is the smallest that reaches the target
    assert design.arl1 < design.arl0 / 5
    assert design.arl(0.05) == pytest.approx(design.arl0)
    assert design.arl(0.20) < design.arl1
    assert "Reynolds & Stoumbos" in design.method
    with pytest.raises(ValueError, match="exactly one of arl0"):
        bernoulli_cusum_design(0.05, 0.1)
    with pytest.raises(ValueError, match="p0 must lie strictly between 0 and 1"):
        bernoulli_cusum_design(0.0, 0.1, h=3)


def test_bernoulli_arl_matches_simulation_of_the_chart() -> None:
    """The exact ARL agrees with 4,000 simulated runs of ``bernoulli_cusum`` itself."""
    design = bernoulli_cusum_design(0.10, 0.20, arl0=300, max_denominator=50)
    rng = np.random.default_rng(11)
    for p, expected in ((0.10, design.arl0), (0.20, design.arl1)):
        lengths = []
        for _ in range(4000):
            outcomes = rng.random(int(expected * 12)) < p
            chart = bernoulli_cusum(outcomes, design)
            assert chart.first_signal is not None
            lengths.append(chart.first_signal + 1)
        mean, se = np.mean(lengths), np.std(lengths) / np.sqrt(len(lengths))
        assert abs(mean - expected) < 3.5 * se, (p, mean, expected)
