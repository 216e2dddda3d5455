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
from radgov.monitoring.models import LabellerCheck, OrderDay, Outcome, Watch
from radgov.monitoring.rollups import SUBGROUPS
from radgov.stats.classification import ConfusionCounts
from radgov.stats.control_charts import (
    ControlChart,
    bernoulli_cusum,
    bernoulli_cusum_method,
    consecutive_above_baseline,
    ewma_proportion,
)
from radgov.stats.periods import bin_periods, metrics_of_counts
from radgov.stats.proportions import proportion_ci
from radgov.stats.results import Estimate
from radgov.stats.run_length import (
    BernoulliCusumDesign,
    bernoulli_cusum_design,
    ewma_limit_for_arl,
)

FREQUENCIES = ("day", "week", "month")
MIN_CASES = 20


CELLS = (Outcome.TN, Outcome.FP, Outcome.FN, Outcome.TP)  # the columns of Outcomes.counts


@dataclass(frozen=True)
class Outcomes:
    """The scored comparisons of one deployment counted per day (and subgroup value): one
    cell per day (and value), sorted by day, with its count of each outcome (``CELLS``)."""

    day: NDArray[np.datetime64]
    counts: NDArray[np.int64]  # shape (cells, 4): TN, FP, FN, TP
    unscored: int
    group: NDArray[np.intp] | None = None  # each cell's subgroup, an index into group_labels
    group_labels: tuple[str | None, ...] = ()  # sorted, None (unknown) last

    @property
    def discordant(self) -> NDArray[np.int64]:
        return self.counts[:, 1] + self.counts[:, 2]

    @property
    def trials(self) -> NDArray[np.int64]:
        return self.counts.sum(axis=1)

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def table(
        self, codes: NDArray[np.intp], labels: tuple[Hashable, ...]
    ) -> dict[Hashable, ConfusionCounts]:
        """The counts summed per group (``codes``: each cell's index into ``labels``)."""
        summed = np.zeros((len(labels), 4), np.int64)
        np.add.at(summed, codes, self.counts)
        return {
            label: ConfusionCounts(tn=int(tn), fp=int(fp), fn=int(fn), tp=int(tp))
            for label, (tn, fp, fn, tp) in zip(labels, summed, strict=True)
        }


def _count(values: list[tuple[Any, ...]], by: str | None) -> Outcomes:
    """(day, outcome, subgroup value, count) rows as counts per day (and value)."""
    cells: dict[tuple[dt.date, str], NDArray[np.int64]] = {}
    unscored = 0
    for day, outcome, value, n in values:
        if outcome == Outcome.UNSCORED:
            unscored += n
            continue
        key = (day, value if by else "")
        cells.setdefault(key, np.zeros(4, np.int64))[CELLS.index(outcome)] += n
    keys = sorted(cells)
    day = np.array([k[0] for k in keys], dtype="datetime64[D]")
    counts = np.array([cells[k] for k in keys], dtype=np.int64).reshape(-1, 4)
    if not by:
        return Outcomes(day=day, counts=counts, unscored=unscored)
    found = sorted({k[1] for k in keys}, key=lambda v: (v == "", v))
    index = {v: i for i, v in enumerate(found)}
    group = np.array([index[k[1]] for k in keys], dtype=np.intp)
    labels = tuple(v or None for v in found)
    return Outcomes(day, counts, unscored, group=group, group_labels=labels)


def outcomes(deployment_id: int, *, by: str | None = None) -> Outcomes:
    """The scored comparisons, from the daily rollups (and today's raw rows), per day and
    outcome (and subgroup).  Without a subgroup, the daily counts the retention purge kept of
    removed rows count too."""
    return _count(rollups.outcomes(deployment_id, by or ""), by)


def performance(
    deployment_id: int, *, frequency: str = "month", by: str | None = None
) -> list[dict[str, Any]]:
    """Concordance, sensitivity, specificity, PPV and NPV with intervals per period (or per
    subgroup), from the counts (never one row per exam); a bin with fewer than MIN_CASES
    says so instead of a number."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}")
    if by is not None and by not in SUBGROUPS:
        raise ValueError(f"by must be one of {', '.join(SUBGROUPS)}")
    data = outcomes(deployment_id, by=by)
    if data.n == 0:
        return []
    if data.group is not None:
        table = data.table(data.group, data.group_labels)
    else:
        periods = bin_periods(data.day, frequency=frequency)  # type: ignore[arg-type]
        table = data.table(periods.index, tuple(periods.starts.tolist()))
    metrics = metrics_of_counts(table, min_cases=MIN_CASES)
    return [_row(label, found) for label, found in metrics.items()]


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
    hits, n = int(data.discordant[inside].sum()), int(data.trials[inside].sum())
    return proportion_ci(hits, n, method="wilson")


@dataclass(frozen=True)
class Charts:
    """The stop rules' charts over the days after the baseline (``days``), or why not.  The
    CUSUM runs over the exams in arrival order and is shown per day (``cusum_days``): each
    day's highest value; ``cusum_exams`` and ``cusum_first_exam`` count its exams."""

    baseline: Estimate
    days: tuple[str, ...] = ()
    daily_rate: list[float | None] = field(default_factory=list)
    charts: dict[str, ControlChart] = field(default_factory=dict)
    signal_days: dict[str, str] = field(default_factory=dict)
    problem: str = ""
    cusum_days: tuple[str, ...] = ()
    cusum_exams: int = 0
    cusum_first_exam: int | None = None  # the first exam at or over the limit (0: the first)


def _design(watch: Watch, base: Estimate) -> BernoulliCusumDesign:
    p0 = base.estimate
    return bernoulli_cusum_design(p0, min(p0 * watch.cusum_shift, 0.95), arl0=watch.arl0)


def _problem(base: Estimate) -> str:
    if not base.estimable:
        return "the baseline period has no compared exams"
    if not 0.0 < base.estimate < 0.5:
        return f"the baseline discordance rate is {base.estimate:.3f}: a chart needs 0 < p0 < 0.5"
    return ""


def charts(watch: Watch) -> Charts:
    data = outcomes(watch.deployment_id)
    base = baseline(watch, data)
    problem = _problem(base)
    if problem:
        return Charts(base, problem=problem)
    p0 = base.estimate
    after = data.day > np.datetime64(watch.baseline_end)
    if not after.any():
        return Charts(base, problem="no compared exams after the baseline period yet")
    periods = bin_periods(data.day[after], frequency="day")
    size = len(periods.starts)
    hits = np.bincount(periods.index, weights=data.discordant[after], minlength=size)
    trials = np.bincount(periods.index, weights=data.trials[after], minlength=size)
    hits, trials = hits.astype(np.int64), trials.astype(np.int64)
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
    names = tuple(str(d) for d in periods.starts)
    signal_days = {
        rule: names[chart.first_signal]
        for rule, chart in made.items()
        if chart.first_signal is not None
    }
    design = _design(watch, base)
    state = cusum_state(watch, design)
    made["cusum"] = state.chart(design)
    first = made["cusum"].first_signal
    first_exam = None
    if first is not None:
        signal_days["cusum"] = str(state.day[first])
        first_exam = int(state.n[:first].sum() + state.first[first])
    rate = [None if t == 0 else float(h) / float(t) for h, t in zip(hits, trials, strict=True)]
    return Charts(
        base, names, rate, made, signal_days,
        cusum_days=tuple(str(d) for d in state.day),
        cusum_exams=int(state.n.sum()),
        cusum_first_exam=first_exam,
    )  # fmt: skip


# --- the CUSUM's state per day ----------------------------------------------------------------


@dataclass(frozen=True)
class CusumState:
    """The Bernoulli CUSUM at each day's end on the chart's lattice (values ``x / scale``):
    the day's exams ``n``, its last value ``end`` and highest ``high``, and the first of its
    exams at or over the limit (``first``, -1: none)."""

    day: NDArray[np.datetime64]
    n: NDArray[np.int64]
    end: NDArray[np.int64]
    high: NDArray[np.int64]
    first: NDArray[np.int64]

    def chart(self, design: BernoulliCusumDesign) -> ControlChart:
        """One point per day: the day's highest value, signalling when it reached the limit."""
        size = int(self.day.size)
        signals = self.high >= design.limit_steps
        found = np.flatnonzero(signals)
        return ControlChart(
            statistic=(self.high / design.scale).astype(np.float64),
            upper_limit=np.full(size, design.h),
            lower_limit=np.full(size, -np.inf),
            centre=0.0,
            signals=signals,
            first_signal=int(found[0]) if found.size else None,
            method=f"{bernoulli_cusum_method(design)}; per day: the day's highest value",
            n=size,
        )


def _run(
    days: NDArray[np.datetime64], events: NDArray[np.int8], design: BernoulliCusumDesign, start: int
) -> CusumState:
    """The CUSUM over exams in time order from the lattice value ``start``, per day."""
    if not days.size:
        empty = np.zeros(0, np.int64)
        return CusumState(np.zeros(0, "datetime64[D]"), empty, empty, empty, empty)
    chart = bernoulli_cusum(events, design, start=start / design.scale)
    lattice = np.rint(chart.statistic * design.scale).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
    sizes = np.diff(np.r_[starts, days.size]).astype(np.int64)
    first = np.full(starts.size, -1, np.int64)
    hits = np.flatnonzero(chart.signals)
    if hits.size:
        day_of_hit = np.searchsorted(starts, hits, side="right") - 1
        seen, at = np.unique(day_of_hit, return_index=True)
        first[seen] = hits[at] - starts[seen]
    return CusumState(
        day=days[starts],
        n=sizes,
        end=lattice[starts + sizes - 1],
        high=np.maximum.reduceat(lattice, starts),
        first=first,
    )


def _key(watch: Watch, design: BernoulliCusumDesign) -> str:
    """What a stored day's state depends on: the chart's start and lattice."""
    return f"{watch.baseline_end}|{design.scale}|{design.step_down}|{design.limit_steps}"


def _stored(watch: Watch, key: str) -> list[tuple[Any, ...]]:
    """The rolled-up days' stored states for ``key``, as far as they run unbroken."""
    last = rollups.through(watch.deployment_id)
    if last is None:
        return []
    rows = (
        OrderDay.objects.filter(
            deployment_id=watch.deployment_id, day__gt=watch.baseline_end, day__lte=last
        )
        .order_by("day")
        .values_list("day", "n", "cusum_design", "cusum_end", "cusum_high", "cusum_first")
    )
    kept = []
    for day, n, design, end, high, first in rows:
        if design != key:
            break
        kept.append((day, n, design, end, high, -1 if first is None else first))
    return kept


def cusum_state(watch: Watch, design: BernoulliCusumDesign) -> CusumState:
    """The CUSUM per day after the baseline: the stored states of the rolled-up days, then the
    later days run from the exams in arrival order, continuing from the last stored value."""
    kept = _stored(watch, _key(watch, design))
    after = kept[-1][0] if kept else watch.baseline_end
    days, events = rollups.discordance_in_order(watch.deployment_id, after)
    fresh = _run(days, events, design, start=int(kept[-1][3]) if kept else 0)
    columns = list(zip(*kept, strict=True)) if kept else [[] for _ in range(6)]
    return CusumState(
        day=np.r_[np.array(columns[0], dtype="datetime64[D]"), fresh.day],
        n=np.r_[np.array(columns[1], np.int64), fresh.n],
        end=np.r_[np.array(columns[3], np.int64), fresh.end],
        high=np.r_[np.array(columns[4], np.int64), fresh.high],
        first=np.r_[np.array(columns[5], np.int64), fresh.first],
    )


def store_cusum(watch: Watch) -> int:
    """Store the CUSUM's state of the rolled-up days not stored yet for the watch's chart (run
    after each roll-up: a page then reads the states instead of every exam); how many days."""
    data = outcomes(watch.deployment_id)
    base = baseline(watch, data)
    if _problem(base):
        return 0
    design = _design(watch, base)
    key = _key(watch, design)
    kept = _stored(watch, key)
    state = cusum_state(watch, design)
    last = rollups.through(watch.deployment_id)
    rows = {
        day: (int(end), int(high), int(first))
        for day, end, high, first in zip(
            state.day[len(kept) :].tolist(), state.end[len(kept) :], state.high[len(kept) :],
            state.first[len(kept) :], strict=True,
        )
        if last is not None and day <= last
    }  # fmt: skip
    changed = list(OrderDay.objects.filter(deployment_id=watch.deployment_id, day__in=list(rows)))
    for row in changed:
        end, high, first = rows[row.day]
        row.cusum_design, row.cusum_end, row.cusum_high = key, end, high
        row.cusum_first = None if first < 0 else first
    fields = ["cusum_design", "cusum_end", "cusum_high", "cusum_first"]
    OrderDay.objects.bulk_update(changed, fields, batch_size=500)
    return len(changed)


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
