"""Binning into periods and metrics per period or subgroup.

The metrics are those of ``radgov.stats.classification`` (tested there against Altman & Bland
1994); here the liver-scan counts of that example (231 TP, 32 FP, 54 TN, 27 FN) are split over
two weeks and must add up to the published figures, and ISO weeks follow ISO 8601 (week 1 of
2026 starts on Monday 29 December 2025).
"""

from __future__ import annotations

import numpy as np
import pytest

from radgov.stats.classification import ConfusionCounts, classification_metrics
from radgov.stats.periods import (
    bin_periods,
    counts_by_group,
    events_by_group,
    metrics_by_group,
    metrics_of_counts,
)


def test_iso_weeks_months_and_days() -> None:
    times = np.array(
        ["2026-01-01T10:00", "2025-12-29", "2026-01-05", "2026-01-19"], dtype="datetime64[m]"
    )
    weeks = bin_periods(times, frequency="week")
    assert weeks.labels == ("2025-12-29", "2026-01-05", "2026-01-12", "2026-01-19")
    assert weeks.index.tolist() == [0, 0, 1, 3]  # the week of 12 January is empty but present
    months = bin_periods(["2026-01-31", "2026-03-01"], frequency="month")
    assert months.labels == ("2026-01-01", "2026-02-01", "2026-03-01")
    days = bin_periods(["2026-03-02", "2026-03-04"], frequency="day", start="2026-03-01")
    assert days.labels == ("2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04")
    assert days.index.tolist() == [1, 3]
    empty = bin_periods([], frequency="day", start="2026-03-01", end="2026-03-02")
    assert len(empty.starts) == 2 and empty.index.size == 0


def test_bin_periods_bad_input() -> None:
    with pytest.raises(ValueError, match="times must be dates"):
        bin_periods(["yesterday"])
    with pytest.raises(ValueError, match="times has no date at index 1"):
        bin_periods(np.array(["2026-01-01", "NaT"], dtype="datetime64[D]"))
    with pytest.raises(ValueError, match=r"times\[0\] = 2026-02-01 lies outside"):
        bin_periods(["2026-02-01"], frequency="day", start="2026-03-01")
    with pytest.raises(ValueError, match="frequency must be"):
        bin_periods(["2026-02-01"], frequency="year")  # type: ignore[arg-type]


def liver_scan_over_two_weeks() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cells = {"tp": 231, "fp": 32, "tn": 54, "fn": 27}
    truth = np.r_[np.ones(231 + 27, int), np.zeros(32 + 54, int)]
    pred = np.r_[np.ones(231, int), np.zeros(27, int), np.ones(32, int), np.zeros(54, int)]
    assert sum(cells.values()) == truth.size
    rng = np.random.default_rng(0)
    week = np.where(rng.random(truth.size) < 0.5, "2026-03-02", "2026-03-09")
    return truth, pred, week


def test_counts_and_metrics_by_period_add_up() -> None:
    truth, pred, week = liver_scan_over_two_weeks()
    periods = bin_periods(week, frequency="week")
    counts = counts_by_group(truth, pred, periods)
    total = ConfusionCounts(
        *(sum(getattr(c, f) for c in counts.values()) for f in ("tp", "fp", "tn", "fn"))
    )
    assert total == ConfusionCounts(tp=231, fp=32, tn=54, fn=27)
    metrics = metrics_by_group(truth, pred, periods)
    for start, c in counts.items():
        mask = week == str(start)
        assert metrics[start] == {
            **classification_metrics(truth[mask], pred[mask]),
            "concordance": classification_metrics(truth[mask], pred[mask])["accuracy"],
        }
        assert metrics[start]["sensitivity"].n == c.tp + c.fn
    # the same from the counts alone (as monitoring sums them from daily rollups)
    assert metrics_of_counts(counts) == metrics
    with pytest.raises(ValueError, match="min_cases must be at least 1; got 0"):
        metrics_of_counts(counts, min_cases=0)


def test_small_subgroup_says_so() -> None:
    truth = np.r_[np.ones(30, int), np.zeros(30, int), [1, 0, 1]]
    pred = np.r_[np.ones(25, int), np.zeros(35, int), [1, 0, 0]]
    site = np.r_[["A"] * 60, ["B"] * 3]
    metrics = metrics_by_group(truth, pred, site, min_cases=20)
    assert metrics["A"]["sensitivity"].estimate == pytest.approx(25 / 30)
    with_missing = metrics_by_group(truth, pred, np.r_[["A"] * 60, [None] * 3].astype(object))
    assert list(with_missing) == ["A", None] and with_missing[None]["accuracy"].n == 3
    b = metrics["B"]["concordance"]
    assert not b.estimable and b.reason == "too few cases to estimate: 3 < 20" and b.n == 3


def test_events_by_group() -> None:
    days = bin_periods(["2026-03-01", "2026-03-01", "2026-03-03"], frequency="day")
    labels, events, trials = events_by_group([1, 0, 1], days)
    assert [str(d) for d in labels] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert events.tolist() == [1, 0, 1] and trials.tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match="same length"):
        events_by_group([1, 0], days)
