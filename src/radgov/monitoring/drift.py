"""Input and output drift of a deployment against its reference window (IV.G; issue 17;
docs/monitoring.md, "Drift").

The statistics are ``radgov.stats.drift``'s: categorical exam metadata by Pearson's
chi-square test and PSI, continuous metadata and the model's score and confidence by the
two-sample KS test and PSI over the reference's deciles, the positive rate and the rejection
rate as two-category columns (chi-square and PSI).  The windows are read from the daily
rollups (``radgov.monitoring.rollups``), continuous columns in its fixed bins.  A column drifts when its PSI reaches the
reference's ``psi_threshold`` and its test's p-value is below ``alpha``: the PSI says the
shift is large, the p-value that it is not chance.  Values of the current window never seen
in the reference are recorded once as :class:`FirstSeen` events.  :func:`check` opens the
alerts in monitoring's one queue: one ``first_seen`` alert per day a new value appeared, one
``drift`` alert while none is open.  Drift alerts warn; they never suspend a deployment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from radgov.core import policy
from radgov.core.services import service
from radgov.exams.errors import ExamError, NotPermitted
from radgov.inventory.models import Deployment
from radgov.monitoring import rollups
from radgov.monitoring.configure import MONITORING_RULE
from radgov.monitoring.models import Alert, DriftReference, FirstSeen, Rule
from radgov.monitoring.options import problems_of, store_settings
from radgov.monitoring.rollups import CATEGORICAL, CONTINUOUS
from radgov.stats import drift as stats

MIN_N = 20  # fewer values in either window: the column is not tested, and says so
OUTPUTS = ("score", "confidence", "positive_rate", "rejection_rate")
FLAGS = ("positive_rate", "rejection_rate")
COLUMNS = (*CATEGORICAL, *CONTINUOUS, *FLAGS)
WEEKS = 12  # the chart's weeks of PSI against the reference
SETTINGS = {
    "window_days": lambda v: isinstance(v, int) and 1 <= v <= 366,
    "psi_threshold": lambda v: isinstance(v, int | float) and 0 < v <= 10,
    "alpha": lambda v: isinstance(v, int | float) and 0 < v < 1,
}


@dataclass
class ColumnDrift:
    column: str
    kind: str  # input or output
    test: str  # chi-square or KS
    n_reference: int
    n_current: int
    statistic: float | None = None
    p_value: float | None = None
    psi: float | None = None
    drifted: bool = False
    note: str = ""
    bin_width: float | None = None  # continuous: the rollup's bin width, D is from those bins


@dataclass
class DriftReport:
    reference: tuple[str, str]
    current: tuple[str, str]
    columns: list[ColumnDrift] = field(default_factory=list)
    new_values: list[dict[str, Any]] = field(default_factory=list)

    @property
    def drifted(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.drifted]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["drifted"] = [c.column for c in self.drifted]
        return out


@service
def set_reference(
    user: Any, deployment: Deployment, *, reference_start: dt.date, reference_end: dt.date,
    **options: Any,
) -> DriftReference:  # fmt: skip
    """The governance group sets the reference window (and window_days, psi_threshold, alpha)."""
    policy.require_governance(user, MONITORING_RULE, denied=NotPermitted)
    period = {"reference_start": reference_start, "reference_end": reference_end}
    problems = problems_of("drift", SETTINGS, options, period)
    if problems:
        raise ExamError(problems)
    return store_settings(DriftReference, deployment, {**period, **options})


@dataclass(frozen=True)
class Counted:
    """One column's values over a window: the count of each and the first day it was seen."""

    counts: dict[str, int]
    first_day: dict[str, dt.date]


def _read(deployment_id: int, start: dt.date, end: dt.date) -> dict[str, Counted]:
    """Each column's counts over ``start..end``, summed by the database (a blank value:
    unknown)."""
    found = rollups.totals(deployment_id, start, end, COLUMNS)
    return {
        name: Counted(
            {value: n for _, value, n, _ in found.get(name, [])},
            {value: day for _, value, _, day in found.get(name, [])},
        )
        for name in COLUMNS
    }


def _categorical(name: str, kind: str, ref: Counted, cur: Counted) -> ColumnDrift:
    n_ref, n_cur = sum(ref.counts.values()), sum(cur.counts.values())
    row = ColumnDrift(name, kind, "chi-square", n_ref, n_cur)
    if min(n_ref, n_cur) < MIN_N:
        row.note = f"fewer than {MIN_N} exams in a window: not tested"
        return row
    found = stats.categorical_drift_from_counts(_unknown_as_none(ref), _unknown_as_none(cur))
    row.statistic, row.p_value = found.chi_square.statistic, found.chi_square.p_value
    row.psi = found.psi.psi
    return row


def _unknown_as_none(window: Counted) -> dict[str | None, int]:
    """Blank means unknown: one category, None."""
    out: dict[str | None, int] = {}
    for value, n in window.counts.items():
        out[value or None] = out.get(value or None, 0) + n
    return out


def _grid(ref: Counted, cur: Counted) -> tuple[np.ndarray, np.ndarray]:
    """The known values of a continuous column in both windows, in order, and each window's
    count of each (blank: unknown, left out)."""
    known = sorted({float(v) for v in (*ref.counts, *cur.counts) if v})
    at = {v: i for i, v in enumerate(known)}
    counts = np.zeros((2, len(known)), dtype=np.int64)
    for row, window in enumerate((ref, cur)):
        for value, n in window.counts.items():
            if value:
                counts[row, at[float(value)]] += n
    return np.array(known, dtype=float), counts


def _continuous(name: str, kind: str, ref: Counted, cur: Counted) -> ColumnDrift:
    grid, counts = _grid(ref, cur)
    n_ref, n_cur = (int(c) for c in counts.sum(axis=1))
    width = 10.0 ** -rollups.BINS[name]
    row = ColumnDrift(name, kind, "KS", n_ref, n_cur, bin_width=width)
    if min(n_ref, n_cur) < MIN_N:
        row.note = f"fewer than {MIN_N} values in a window: not tested"
        return row
    found = stats.continuous_drift_from_counts(grid, counts[0], counts[1])
    row.statistic, row.p_value, row.psi = found.ks.statistic, found.ks.p_value, found.psi.psi
    return row


def _psi(name: str, ref: Counted, cur: Counted) -> float | None:
    """A column's PSI alone (None with too few values in a window), for the weekly chart."""
    if name not in CONTINUOUS:
        return _categorical(name, "", ref, cur).psi
    grid, counts = _grid(ref, cur)
    if counts.sum(axis=1).min() < MIN_N:
        return None
    return stats.continuous_psi_from_counts(grid, counts[0], counts[1]).psi


def current_start(reference: DriftReference, as_of: dt.date) -> dt.date:
    """The first day of the current window: ``window_days`` up to ``as_of``, never reaching
    back into the reference."""
    return max(
        as_of - dt.timedelta(days=reference.window_days - 1),
        reference.reference_end + dt.timedelta(days=1),
    )


def report(
    reference: DriftReference, as_of: dt.date, ref: dict[str, Counted] | None = None
) -> DriftReport:
    """The drift of every column: reference window against the ``window_days`` up to ``as_of``
    (``ref``: the reference window's counts when already read)."""
    start = current_start(reference, as_of)
    if ref is None:
        ref = _read(reference.deployment_id, reference.reference_start, reference.reference_end)
    cur = _read(reference.deployment_id, start, as_of)
    found = DriftReport(
        reference=(reference.reference_start.isoformat(), reference.reference_end.isoformat()),
        current=(start.isoformat(), as_of.isoformat()),
    )
    for name in CATEGORICAL:
        found.columns.append(_categorical(name, "input", ref[name], cur[name]))
        found.new_values += [
            {"column": name, "value": value, "count": n,
             "first_seen": cur[name].first_day[value].isoformat()}
            for value, n in sorted(cur[name].counts.items(),
                                   key=lambda kv: (-kv[1], cur[name].first_day[kv[0]], kv[0]))
            if value and value not in ref[name].counts
        ]  # fmt: skip
    for name in (*CONTINUOUS, *FLAGS):
        kind, test = _columns_of(name)
        found.columns.append(test(name, kind, ref[name], cur[name]))
    for row in found.columns:
        row.drifted = (
            row.psi is not None
            and row.psi >= reference.psi_threshold
            and row.p_value is not None
            and row.p_value < reference.alpha
        )
    return found


def _first_seen_alerts(deployment: Deployment, found: DriftReport) -> list[Alert]:
    fresh: dict[dt.date, list[FirstSeen]] = {}
    for new in found.new_values:
        day = dt.date.fromisoformat(new["first_seen"])
        event, created = FirstSeen.objects.get_or_create(
            deployment=deployment, column=new["column"], value=new["value"][:200],
            defaults={"first_seen": day, "count": new["count"]},
        )  # fmt: skip
        if created:
            fresh.setdefault(day, []).append(event)
    opened = []
    for day, events in sorted(fresh.items()):
        words = "; ".join(f"{e.column.replace('_', ' ')} {e.value}" for e in events)
        alert, created = Alert.objects.get_or_create(
            deployment=deployment, rule=Rule.FIRST_SEEN, signal_day=day,
            defaults={"summary": f"first seen on {day}: {words}", "detail": {"values": []}},
        )  # fmt: skip
        if not created:
            alert.summary = f"{alert.summary}; {words}"
        alert.detail["values"] += [{"column": e.column, "value": e.value} for e in events]
        alert.save()
        if created:
            opened.append(alert)
    return opened


@service
def check(deployment: Deployment, as_of: dt.date) -> list[Alert]:
    """Record the new values and open the drift alerts of ``deployment`` on ``as_of``."""
    reference = DriftReference.objects.filter(deployment=deployment).first()
    if reference is None or as_of <= reference.reference_end:
        return []
    found = report(reference, as_of)
    opened = _first_seen_alerts(deployment, found)
    drifted = found.drifted
    still_open = Alert.objects.filter(
        deployment=deployment, rule=Rule.DRIFT, closed_at__isnull=True
    ).exists()
    same_day = Alert.objects.filter(deployment=deployment, rule=Rule.DRIFT, signal_day=as_of)
    if drifted and not still_open and not same_day.exists():
        words = ", ".join(f"{c.column.replace('_', ' ')} (PSI {c.psi:.2f})" for c in drifted)
        opened.append(
            Alert.objects.create(
                deployment=deployment,
                rule=Rule.DRIFT,
                signal_day=as_of,
                summary=f"drift against the reference {found.reference[0]} to "
                f"{found.reference[1]} in the {reference.window_days} days to {as_of}: {words}",
                detail={"columns": [asdict(c) for c in drifted], "current": found.current},
            )  # fmt: skip
        )
    return opened


def _columns_of(name: str) -> tuple[str, Any]:
    """The kind of a column and the function that tests it."""
    if name in CONTINUOUS:
        return ("output" if name in OUTPUTS else "input"), _continuous
    return ("output" if name in FLAGS else "input"), _categorical


def weekly(
    reference: DriftReference, as_of: dt.date, ref: dict[str, Counted], columns: list[str]
) -> list[dict[str, Any]]:
    """Each column's PSI against the reference in each of the ``WEEKS`` weeks up to ``as_of``
    after the reference (the weeks' counts summed by the database); weeks with too few exams
    are left out."""
    weeks: list[dict[str, Counted]] = [
        {name: Counted({}, {}) for name in columns} for _ in range(WEEKS)
    ]
    first = max(
        as_of - dt.timedelta(days=7 * WEEKS - 1), reference.reference_end + dt.timedelta(days=1)
    )
    if first <= as_of:
        found = rollups.totals(
            reference.deployment_id, first, as_of, columns, weeks_to=as_of, weeks=WEEKS
        )
        for name, rows in found.items():
            for back, value, n, _ in rows:
                weeks[back][name].counts[value] = n
    out = []
    for back in reversed(range(WEEKS)):
        end = (as_of - dt.timedelta(days=7 * back)).isoformat()
        for name in columns:
            psi = _psi(name, ref[name], weeks[back][name])
            if psi is not None:
                out.append({"week": end, "column": name, "psi": psi})
    return out


def view(deployment: Deployment, as_of: dt.date) -> dict[str, Any] | None:
    """What the page and the API show: the report, each output's (and each drifting column's)
    weekly PSI, and the recorded first-seen events.  Three reads of the rollups, each summed
    by the database: the reference window, the current window and the chart's weeks."""
    reference = DriftReference.objects.filter(deployment=deployment).first()
    if reference is None:
        return None
    ref = _read(deployment.pk, reference.reference_start, reference.reference_end)
    found = report(reference, as_of, ref)
    out = found.to_dict()
    drifting = [c.column for c in found.drifted if c.column not in OUTPUTS]
    out["weekly_psi"] = weekly(reference, as_of, ref, [*OUTPUTS, *drifting])
    out["settings"] = {
        "window_days": reference.window_days,
        "psi_threshold": reference.psi_threshold,
        "alpha": reference.alpha,
    }
    out["first_seen"] = [
        {"column": e.column, "value": e.value, "first_seen": e.first_seen.isoformat()}
        for e in FirstSeen.objects.filter(deployment=deployment)
    ]
    return out
