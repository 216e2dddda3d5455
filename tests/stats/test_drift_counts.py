"""Drift from counts (daily rollups) against drift from the samples written out, and the
binned Kolmogorov-Smirnov D against ``scipy.stats.ks_2samp``'s D on the unbinned samples.

Binning moves each value by at most half a bin width ``w``, so each empirical CDF moves by at
most the largest share of its sample inside an interval of width ``w``; D (a difference of two
CDFs) moves by at most the sum of the two shares.  That is the bin error tested here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy.stats import ks_2samp

from radgov.stats.drift import (
    categorical_drift,
    categorical_drift_from_counts,
    continuous_drift,
    continuous_drift_from_counts,
    ks_from_counts,
)


def counted(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    grid = np.unique(np.concatenate([ref, cur]))
    return (
        grid,
        np.array([np.count_nonzero(ref == v) for v in grid]),
        np.array([np.count_nonzero(cur == v) for v in grid]),
    )


def largest_share(sample: np.ndarray, width: float) -> float:
    """The largest fraction of ``sample`` inside a closed interval of length ``width``."""
    s = np.sort(sample)
    return float((np.searchsorted(s, s + width, side="right") - np.arange(s.size)).max() / s.size)


@pytest.mark.parametrize(("n", "m"), [(300, 450), (20_000, 15_000)])
def test_continuous_from_counts_equals_the_samples_written_out(n: int, m: int) -> None:
    rng = np.random.default_rng(n)
    ref = np.round(rng.normal(1.0, 0.3, size=n), 1)
    cur = np.round(rng.normal(1.1, 0.3, size=m), 1)
    grid, ref_counts, cur_counts = counted(ref, cur)
    ours = continuous_drift_from_counts(grid, ref_counts, cur_counts)
    out = continuous_drift(ref, cur)
    assert ours.ks == out.ks
    assert ours.psi.psi == out.psi.psi and ours.psi.labels == out.psi.labels
    np.testing.assert_array_equal(ours.bin_edges, out.bin_edges)
    np.testing.assert_array_equal(
        ours.bin_edges, np.unique(np.quantile(ref, np.arange(1, 10) / 10, method="inverted_cdf"))
    )
    assert ours.ks.statistic == pytest.approx(ks_2samp(ref, cur).statistic, abs=1e-15)
    assert ("asymptotic" in ours.ks.method) == (n > 10_000)


@pytest.mark.parametrize("decimals", [3, 2])
def test_binned_ks_d_is_the_samples_d_within_the_bin_error(decimals: int) -> None:
    rng = np.random.default_rng(17)
    ref, cur = rng.normal(0.40, 0.15, size=60_000), rng.normal(0.46, 0.16, size=40_000)
    width = 10.0**-decimals
    binned = counted(np.round(ref, decimals), np.round(cur, decimals))
    ours = ks_from_counts(*binned)
    # D of the samples themselves; scipy's "exact" method gives the same D (within one ulp)
    # but spends 40 seconds on a p-value this test does not read
    unbinned = ks_2samp(ref, cur, method="asymp").statistic
    bound = largest_share(ref, width) + largest_share(cur, width)
    assert abs(ours.statistic - unbinned) <= bound
    assert bound < unbinned / 2  # the bound is tight enough to say something here
    assert "asymptotic" in ours.method and ours.p_value < 1e-20


def test_ks_from_counts_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        ks_from_counts([1.0, 1.0, 2.0], [1, 2, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="one count per value; got 2 and 3"):
        ks_from_counts([1.0, 2.0, 3.0], [1, 2], [1, 2])
    with pytest.raises(ValueError, match="whole counts >= 0; found -1"):
        ks_from_counts([1.0, 2.0], [1, -1], [1, 2])
    with pytest.raises(ValueError, match="the current window is empty"):
        continuous_drift_from_counts([1.0, 2.0], [1, 1], [0, 0])


def test_categorical_from_counts_equals_the_samples_written_out() -> None:
    ref = ["SIEMENS"] * 60 + ["GE"] * 40 + [None] * 3
    cur = ["SIEMENS"] * 30 + ["GE"] * 40 + ["Canon"] * 20 + ["Philips"] * 20 + [None] * 5
    out = categorical_drift(ref, cur)
    first = {"Canon": dt.date(2026, 3, 4), "Philips": dt.date(2026, 3, 2)}
    ours = categorical_drift_from_counts(
        {"SIEMENS": 60, "GE": 40, None: 3, "Canon": 0},
        {"SIEMENS": 30, "GE": 40, "Canon": 20, "Philips": 20, float("nan"): 5},
        first_seen=first,
    )
    assert ours.categories == out.categories == ("Canon", "GE", "Philips", "SIEMENS", None)
    assert ours.chi_square == out.chi_square and ours.psi.psi == out.psi.psi
    assert [(v.value, v.count, v.first_seen) for v in ours.new_values] == [
        ("Philips", 20, dt.date(2026, 3, 2)),  # as frequent as Canon, seen first
        ("Canon", 20, dt.date(2026, 3, 4)),
    ]
    with pytest.raises(ValueError, match="current_counts must hold whole counts >= 0; found 1.5"):
        categorical_drift_from_counts({"GE": 3}, {"GE": 1.5})  # type: ignore[dict-item]
