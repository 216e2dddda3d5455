"""Control charts against published worked examples.

* Montgomery DC (2009), *Introduction to Statistical Quality Control*, 6th ed., Wiley:
  Example 9.1 (Table 9.1 data: 30 observations, the first 20 from N(10, 1), the last 10 from
  N(11, 1)); Table 9.2, the tabular CUSUM with k = 1/2, h = 5: C+ first exceeds H = 5 at
  observation 29, where C+ = 5.28 and N+ = 7, and the new mean is estimated as
  10 + 0.5 + 5.28/7 = 11.25.  Example 9.2 (the same data, EWMA with lambda = 0.1, L = 2.7):
  z1 = 9.945, z2 = 9.7495; limits 10 +/- 0.27 at i = 1 and 10.36 / 9.64 at i = 2; the
  asymptotic limits 10.62 / 9.38; the chart first signals at observation 29 (z = 10.6468).
  The same data and design are IMSL's documented EWMA example ("Montgomery 428").
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from radgov.stats.control_charts import (
    bernoulli_cusum,
    consecutive_above_baseline,
    ewma_chart,
    ewma_proportion,
    tabular_cusum,
)
from radgov.stats.proportions import proportion_ci
from radgov.stats.run_length import bernoulli_cusum_design

TABLE_9_1 = [
    9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.20, 10.34,
    9.03, 11.47, 10.51, 9.40, 10.08, 9.37, 10.62, 10.31, 8.52, 10.84,
    10.90, 9.33, 12.29, 11.50, 10.60, 11.08, 10.38, 11.62, 11.31, 10.52,
]  # fmt: skip

# Montgomery Table 9.2: C+ and C- for periods 1-30 (as printed, two decimals)
C_PLUS = [
    0, 0, 0, 1.16, 2.82, 2.50, 0.04, 1.00, 0, 0,
    0, 0.97, 0.98, 0, 0, 0, 0.12, 0, 0, 0.34,
    0.74, 0, 1.79, 2.79, 2.89, 3.47, 3.35, 4.47, 5.28, 5.30,
]  # fmt: skip
C_MINUS = [
    0.05, 1.56, 1.77, 0, 0, 0, 1.46, 0, 0.30, 0,
    0.47, 0, 0, 0.10, 0, 0.13, 0, 0, 0.98, 0,
    0, 0.17, 0, 0, 0, 0, 0, 0, 0, 0,
]  # fmt: skip


def test_tabular_cusum_montgomery_example_9_1() -> None:
    chart = tabular_cusum(TABLE_9_1, target=10.0, sigma=1.0, k=0.5, h=5.0)
    np.testing.assert_allclose(chart.statistic, C_PLUS, atol=0.006)
    assert chart.lower_statistic is not None
    np.testing.assert_allclose(chart.lower_statistic, C_MINUS, atol=0.006)
    assert chart.first_signal == 28  # observation 29 (0-based 28)
    assert chart.statistic[28] == pytest.approx(5.28, abs=0.005)
    assert chart.shift_estimate == pytest.approx(11.25, abs=0.005)
    assert chart.signals.tolist() == [False] * 28 + [True, True]
    assert chart.n == 30 and chart.upper_limit[0] == 5.0 and "tabular CUSUM" in chart.method
    as_json = json.loads(json.dumps(chart.to_dict()))
    assert as_json["lower_limit"][0] is None and as_json["first_signal"] == 28


def test_tabular_cusum_downward_shift_and_scale() -> None:
    """A downward shift signals on C-, and the estimate is mu0 - K - C-/N- (eq. 9.4)."""
    mirrored = [20.0 - v for v in TABLE_9_1]  # target 10 mirrored: same chart, lower side
    chart = tabular_cusum(mirrored, target=10.0, sigma=1.0)
    assert chart.first_signal == 28 and chart.shift_estimate == pytest.approx(8.75, abs=0.005)
    scaled = tabular_cusum([100 + 2 * (v - 10) for v in TABLE_9_1], target=100.0, sigma=2.0)
    np.testing.assert_allclose(scaled.statistic, 2 * np.asarray(C_PLUS), atol=0.012)
    assert scaled.upper_limit[0] == 10.0 and scaled.first_signal == 28


def test_ewma_montgomery_example_9_2() -> None:
    chart = ewma_chart(TABLE_9_1, target=10.0, sigma=1.0, lam=0.1, limit=2.7)
    assert chart.statistic[0] == pytest.approx(9.945, abs=5e-4)
    assert chart.statistic[1] == pytest.approx(9.7495, abs=5e-5)
    assert (chart.upper_limit[0], chart.lower_limit[0]) == pytest.approx((10.27, 9.73), abs=0.005)
    assert (chart.upper_limit[1], chart.lower_limit[1]) == pytest.approx((10.36, 9.64), abs=0.005)
    assert chart.upper_limit[-1] == pytest.approx(10.62, abs=0.005)
    assert chart.first_signal == 28
    assert chart.statistic[28] == pytest.approx(10.6468, abs=5e-5)
    steady = ewma_chart(TABLE_9_1, target=10.0, sigma=1.0, limits="asymptotic")
    np.testing.assert_allclose(steady.upper_limit, 10 + 2.7 * math.sqrt(0.1 / 1.9))
    np.testing.assert_allclose(steady.statistic, chart.statistic)


def test_ewma_with_a_sigma_per_period_is_the_variance_recursion() -> None:
    rng = np.random.default_rng(3)
    x, sig = rng.normal(size=40), rng.uniform(0.5, 2.0, size=40)
    chart = ewma_chart(x, target=0.0, sigma=sig, lam=0.2, limit=3.0)
    z, v = 0.0, 0.0
    for i in range(40):  # z_i = lam x_i + (1 - lam) z_(i-1); Var z_i summed term by term
        z = 0.2 * x[i] + 0.8 * z
        v = 0.64 * v + 0.04 * sig[i] ** 2
        assert chart.statistic[i] == pytest.approx(z)
        assert chart.upper_limit[i] == pytest.approx(3.0 * math.sqrt(v))


def test_ewma_proportion() -> None:
    """The EWMA of daily rates with sigma_i^2 = p0 (1 - p0) / n_i; empty days carry over."""
    successes, n = [2, 5, 0, 9, 12], [40, 50, 0, 45, 40]
    chart = ewma_proportion(successes, n, p0=0.1, lam=0.2, limit=3.0)
    z, v = 0.1, 0.0
    expected_z, expected_hi = [], []
    for x, m in zip(successes, n, strict=True):
        if m:
            z = 0.2 * x / m + 0.8 * z
            v = 0.64 * v + 0.04 * 0.09 / m
        expected_z.append(z)
        expected_hi.append(0.1 + 3 * math.sqrt(v))
    np.testing.assert_allclose(chart.statistic, expected_z)
    np.testing.assert_allclose(chart.upper_limit, expected_hi)
    assert chart.first_signal == 4 and not chart.signals[2]
    quiet = ewma_proportion([0, 0], [0, 0], p0=0.1)  # no exams at all: nothing to chart
    assert quiet.statistic.tolist() == [0.1, 0.1] and quiet.first_signal is None
    with pytest.raises(ValueError, match=r"period 1: need whole counts"):
        ewma_proportion([1, 6], [5, 5], p0=0.1)
    with pytest.raises(ValueError, match="p0 must lie"):
        ewma_proportion([1], [5], p0=0.0)


def test_bernoulli_cusum_runs_on_the_lattice() -> None:
    design = bernoulli_cusum_design(0.05, 0.10, h=3.0, max_denominator=14)
    assert (design.step_down, design.scale) == (1, 14)  # gamma = 0.0724 -> 1/14
    outcomes = [0, 1, 0, 0, 1, 1, 1, 0, 1]
    chart = bernoulli_cusum(outcomes, design)
    b, expected = 0.0, []
    for x in outcomes:
        b = max(0.0, b + x - 1 / 14)
        expected.append(b)
    np.testing.assert_allclose(chart.statistic, expected, atol=1e-12)
    assert chart.first_signal == 6 and chart.signals[6]  # the seventh outcome crosses h = 3
    assert chart.statistic[6] >= 3.0 > chart.statistic[5]
    with pytest.raises(ValueError, match="outcomes must contain only 0 and 1; found 2 at index 1"):
        bernoulli_cusum([0, 2], design)


def test_bernoulli_cusum_continues_from_a_last_value() -> None:
    """The outcomes run in two parts, the second from the first's last value, give the chart
    of the whole (what monitoring's stored per-day state relies on)."""
    design = bernoulli_cusum_design(0.05, 0.10, h=3.0, max_denominator=14)
    outcomes = [0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0]
    whole = bernoulli_cusum(outcomes, design)
    head = bernoulli_cusum(outcomes[:5], design)
    tail = bernoulli_cusum(outcomes[5:], design, start=float(head.statistic[-1]))
    assert np.r_[head.statistic, tail.statistic].tolist() == whole.statistic.tolist()
    assert np.r_[head.signals, tail.signals].tolist() == whole.signals.tolist()
    assert tail.first_signal == whole.first_signal - 5  # type: ignore[operator]
    for bad in (-1 / 14, 0.05):
        with pytest.raises(ValueError, match="start must be a value of the chart"):
            bernoulli_cusum(outcomes, design, start=bad)


def test_consecutive_days_above_the_baseline_interval() -> None:
    """The PE-monitoring preset: 7 consecutive days above the baseline interval's upper bound."""
    base = proportion_ci(50, 1000)  # 5 % discordance at baseline, Wilson upper ~ 6.5 %
    days_n = [30] * 12
    days_x = [1, 3, 3, 3, 3, 0, 3, 3, 3, 3, 3, 3]  # 10 % on every day but day 0 and day 5
    chart = consecutive_above_baseline(days_x, days_n, baseline_successes=50, baseline_n=1000)
    assert chart.upper_limit[0] == pytest.approx(base.ci_high)
    assert chart.centre == pytest.approx(0.05)
    assert chart.first_signal is None  # days 1-4 and days 6-11: runs of 4 and 6
    days_x.append(3)
    days_n.append(30)
    chart = consecutive_above_baseline(days_x, days_n, baseline_successes=50, baseline_n=1000)
    assert chart.first_signal == 12 and chart.signals.tolist()[-1]
    gap = consecutive_above_baseline(
        [3, 3, 3, 0, 3, 3, 3, 3],
        [30, 30, 30, 0, 30, 30, 30, 30],
        baseline_successes=50,
        baseline_n=1000,
    )
    assert gap.first_signal is None and math.isnan(gap.statistic[3])
    short = consecutive_above_baseline(
        [3] * 3, [30] * 3, baseline_successes=50, baseline_n=1000, run_length=3
    )
    assert short.first_signal == 2
    with pytest.raises(ValueError, match="baseline period has no exams"):
        consecutive_above_baseline([1], [3], baseline_successes=0, baseline_n=0)


def test_charts_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="x must be finite; found nan at index 1"):
        tabular_cusum([1.0, float("nan")], target=0, sigma=1)
    with pytest.raises(ValueError, match="sigma must be a positive number"):
        tabular_cusum([1.0], target=0, sigma=0)
    with pytest.raises(ValueError, match="lam must lie"):
        ewma_chart([1.0], target=0, sigma=1, lam=0)
    with pytest.raises(ValueError, match="limits must be"):
        ewma_chart([1.0], target=0, sigma=1, limits="wide")  # type: ignore[arg-type]


def test_step_change_detected_within_the_predicted_delay() -> None:
    """Issue 15's scenario in miniature: 2,000 exams over 80 days, discordance 10 % rising to
    20 % on day 40; the chart designed on the first 20 days for an in-control ARL of 2,000
    exams does not signal before the change and signals within three times its ARL1 after it
    (the zero-state ARL1 bounds the expected delay from any state the chart is in)."""
    rng = np.random.default_rng(40)
    day = np.sort(rng.integers(0, 80, 2000))
    p = np.where(day < 40, 0.10, 0.20)
    discordant = rng.random(2000) < p
    baseline = discordant[day < 20]
    design = bernoulli_cusum_design(float(baseline.mean()), 2 * float(baseline.mean()), arl0=2000)
    assert design.arl0 >= 2000
    chart = bernoulli_cusum(discordant, design)
    change = int(np.flatnonzero(day >= 40)[0])
    assert chart.first_signal is not None and chart.first_signal >= change
    assert chart.first_signal - change <= 3 * design.arl1
