"""A deployment's performance against its reports, read from the comparisons: metrics by
period and subgroup, the baseline, and the stop rules' charts.  Every number comes from
``radgov.stats``; this module only gathers the counts it needs (docs/monitoring.md)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from radgov.monitoring import rollups
from radgov.monitoring.models import LabellerCheck, Outcome, Watch
from radgov.monitoring.rollups import SUBGROUPS
from radgov.stats.control_charts import (
    ControlChart,
    bernoulli_cusum,
    consecutive_above_baseline,
    ewma_proportion,
)
from radgov.stats.periods import bin_periods, events_by_group, metrics_by_group
from radgov.stats.proportions import proportion_ci
from radgov.stats.results import Estimate
from radgov.stats.run_length import bernoulli_cusum_design, ewma_limit_for_arl

FREQUENCIES = ("day", "week", "month")
MIN_CASES = 20


@dataclass(frozen=True)
class Outcomes:
    """The scored comparisons of one deployment in time order."""

    day: NDArray[np.datetime64]
    ai: NDArray[np.int8]
    truth: NDArray[np.int8]
    unscored: int
    group: NDArray[np.intp] | None = None  # each exam's subgroup, an index into group_labels
    group_labels: tuple[str | None, ...] = ()  # sorted, None (unknown) last

    @property
    def discordant(self) -> NDArray[np.int8]:
        return (self.ai != self.truth).astype(np.int8)

    @property
    def n(self) -> int:
        return int(self.day.shape[0])


def _expand(values: list[tuple[Any, ...]], by: str | None) -> Outcomes:
    """Counts per (day, outcome, subgroup value) as one entry per exam, in day order."""
    values = sorted(values)
    scored = [v for v in values if v[1] != Outcome.UNSCORED]
    unscored = sum(v[3] for v in values if v[1] == Outcome.UNSCORED)
    counts = np.array([v[3] for v in scored], dtype=np.int64)
    day = np.repeat(np.array([v[0] for v in scored], dtype="datetime64[D]"), counts)
    ai = np.repeat(np.array([v[1] in (Outcome.TP, Outcome.FP) for v in scored], np.int8), counts)
    truth = np.repeat(np.array([v[1] in (Outcome.TP, Outcome.FN) for v in scored], np.int8), counts)
    if not by:
        return Outcomes(day=day, ai=ai, truth=truth, unscored=unscored)
    found = sorted({v[2] for v in scored}, key=lambda v: (v == "", v))
    index = {v: i for i, v in enumerate(found)}
    group = np.repeat(np.array([index[v[2]] for v in scored], dtype=np.intp), counts)
    labels = tuple(v or None for v in found)
    return Outcomes(day, ai, truth, unscored, group=group, group_labels=labels)


def outcomes(deployment_id: int, *, by: str | None = None) -> Outcomes:
    """The scored comparisons, from the daily rollups (and today's raw rows), per day and
    outcome (and subgroup).  Without a subgroup, the daily counts the retention purge kept of
    removed rows count too."""
    return _expand(rollups.outcomes(deployment_id, by or ""), by)


def performance(
    deployment_id: int, *, frequency: str = "month", by: str | None = None
) -> list[dict[str, Any]]:
    """Concordance, sensitivity, specificity, PPV and NPV with intervals per period (or per
    subgroup); a bin with fewer than MIN_CASES says so instead of a number."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}")
    if by is not None and by not in SUBGROUPS:
        raise ValueError(f"by must be one of {', '.join(SUBGROUPS)}")
    data = outcomes(deployment_id, by=by)
    if data.n == 0:
        return []
    if data.group is not None:
        table = metrics_by_group(data.truth, data.ai, data.group, min_cases=MIN_CASES)
        return [_row(data.group_labels[int(c)], m) for c, m in table.items()]  # type: ignore[call-overload]
    periods = bin_periods(data.day, frequency=frequency)  # type: ignore[arg-type]
    table = metrics_by_group(data.truth, data.ai, periods, min_cases=MIN_CASES)
    return [_row(label, metrics) for label, metrics in table.items()]


def _row(label: Hashable, metrics: dict[str, Estimate]) -> dict[str, Any]:
    name = label.isoformat() if isinstance(label, dt.date) else label
    wanted = ("concordance", "sensitivity", "specificity", "ppv", "npv")
    return {
        "group": "unknown" if name is None else str(name),
        "n": metrics["concordance"].n,
        **{k: metrics[k].to_dict() for k in wanted},
    }


def baseline(watch: Watch, data: Outcomes) -> Estimate:
    """The discordance rate of the baseline period with its Wilson interval."""
    inside = (data.day >= np.datetime64(watch.baseline_start)) & (
        data.day <= np.datetime64(watch.baseline_end)
    )
    return proportion_ci(int(data.discordant[inside].sum()), int(inside.sum()), method="wilson")


@dataclass(frozen=True)
class Charts:
    """The stop rules' charts over the days after the baseline (``days``), or why not."""

    baseline: Estimate
    days: tuple[str, ...] = ()
    daily_rate: list[float | None] = field(default_factory=list)
    charts: dict[str, ControlChart] = field(default_factory=dict)
    signal_days: dict[str, str] = field(default_factory=dict)
    problem: str = ""
    cusum_by_day: ControlChart | None = None  # the CUSUM's highest point of each day, to show
    cusum_days: tuple[str, ...] = ()  # the days of cusum_by_day


def charts(watch: Watch) -> Charts:
    data = outcomes(watch.deployment_id)
    base = baseline(watch, data)
    if not base.estimable:
        return Charts(base, problem="the baseline period has no compared exams")
    p0 = base.estimate
    if not 0.0 < p0 < 0.5:
        return Charts(
            base, problem=f"the baseline discordance rate is {p0:.3f}: a chart needs 0 < p0 < 0.5"
        )
    after = data.day > np.datetime64(watch.baseline_end)
    if not after.any():
        return Charts(base, problem="no compared exams after the baseline period yet")
    days, events = data.day[after], data.discordant[after]
    periods = bin_periods(days, frequency="day")
    labels, hits, trials = events_by_group(events, periods)
    made = {
        "consecutive": consecutive_above_baseline(
            hits,
            trials,
            baseline_successes=round(p0 * base.n),
            baseline_n=base.n,
            run_length=watch.run_length,
        ),
        "ewma": ewma_proportion(
            hits,
            trials,
            p0=p0,
            lam=watch.ewma_lambda,
            limit=ewma_limit(watch.ewma_arl0, watch.ewma_lambda),
        ),
    }
    design = bernoulli_cusum_design(p0, min(p0 * watch.cusum_shift, 0.95), arl0=watch.arl0)
    exam_days, exam_events = rollups.discordance_in_order(watch.deployment_id, watch.baseline_end)
    cusum = bernoulli_cusum(exam_events, design)
    names = tuple(str(d) for d in labels)
    signal_days = {
        rule: names[chart.first_signal]
        for rule, chart in made.items()
        if chart.first_signal is not None
    }
    if cusum.first_signal is not None:
        signal_days["cusum"] = str(exam_days[cusum.first_signal])
    made["cusum"] = cusum
    daily = _by_day(cusum, exam_days)
    rate = [None if t == 0 else float(h) / float(t) for h, t in zip(hits, trials, strict=True)]
    cusum_days = tuple(str(d) for d in np.unique(exam_days))
    return Charts(base, names, rate, made, signal_days, cusum_by_day=daily, cusum_days=cusum_days)


def _by_day(chart: ControlChart, days: NDArray[np.datetime64]) -> ControlChart:
    """A chart with one point per exam reduced to one per day: the day's highest value, and a
    signal on a day when any of its exams signalled (a page does not draw a million points)."""
    if not days.size:
        return chart
    starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
    signals = np.logical_or.reduceat(chart.signals, starts)
    first = np.flatnonzero(signals)
    return ControlChart(
        statistic=np.maximum.reduceat(chart.statistic, starts),
        upper_limit=chart.upper_limit[starts],
        lower_limit=chart.lower_limit[starts],
        centre=chart.centre,
        signals=signals,
        first_signal=int(first[0]) if first.size else None,
        method=f"{chart.method}; per day: the day's highest value",
        n=int(starts.size),
    )


@functools.cache
def ewma_limit(arl0: int, lam: float) -> float:
    """The EWMA's L for an in-control ARL (a root search over Markov chains: kept once found)."""
    return ewma_limit_for_arl(arl0, lam=lam)


def labeller_accuracy(finding: str) -> dict[str, Any] | None:
    """The latest measured accuracy of the labeller for ``finding`` (with its warnings)."""
    check = LabellerCheck.objects.first()
    if check is None:
        return None
    found = check.results.get(finding)
    if found is None:
        return None
    return {**found, "checked_at": check.at.isoformat(), "labeller_version": check.labeller_version}
