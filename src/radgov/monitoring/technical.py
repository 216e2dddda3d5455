"""Technical signals of a deployment, per week of the study: how many studies reached it (a
drop means studies are no longer routed), how many failed or were rejected (with Wilson
intervals from ``radgov.stats``), and the turnaround from radgov's receipt to the result
(median and 90th percentile, to the minute; results recorded as history, with a result time
before radgov received them, have none).  Read from the daily rollups' status and turnaround
counts (``radgov.monitoring.rollups``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from radgov.exams.statuses import Status
from radgov.inventory.models import Deployment
from radgov.monitoring import rollups
from radgov.stats.periods import bin_periods
from radgov.stats.proportions import proportion_ci

WEEKS = 12


def _by_week(rows: list[tuple[dt.date, str, int]], start: dt.date, end: dt.date) -> np.ndarray:
    """Each row's week, as an index into the weeks of ``start..end``."""
    days = np.array([d for d, _, _ in rows], dtype="datetime64[D]")
    return bin_periods(days, frequency="week", start=start, end=end).index


def weekly(deployment: Deployment, *, today: dt.date, weeks: int = WEEKS) -> list[dict[str, Any]]:
    """The last ``weeks`` ISO weeks up to ``today``, oldest first; a week without studies
    is shown with zero (that is the signal)."""
    since = today - dt.timedelta(weeks=weeks)
    counted = rollups.values(deployment.pk, since, today, ("status", "turnaround"))
    statuses, turnaround = counted.get("status", []), counted.get("turnaround", [])
    none = np.array([], dtype="datetime64[D]")
    labels = bin_periods(none, frequency="week", start=since, end=today).labels
    studies, failed, rejected = (np.zeros(len(labels), np.int64) for _ in range(3))
    for (_, status, n), week in zip(statuses, _by_week(statuses, since, today), strict=True):
        studies[week] += n
        failed[week] += n if status == Status.FAILED else 0
        rejected[week] += n if status == Status.REJECTED else 0
    weeks_of = _by_week(turnaround, since, today)
    values = np.array([float(value) for _, value, _ in turnaround], dtype=np.float64)
    counts = np.array([n for _, _, n in turnaround], dtype=np.int64)
    out = []
    for k, start in enumerate(labels):
        n = int(studies[k])
        found = np.repeat(values[weeks_of == k], counts[weeks_of == k])
        out.append(
            {
                "week": start,
                "studies": n,
                "failed": proportion_ci(int(failed[k]), n, method="wilson").to_dict(),
                "rejected": proportion_ci(int(rejected[k]), n, method="wilson").to_dict(),
                "turnaround_minutes_median": float(np.median(found)) if found.size else None,
                "turnaround_minutes_p90": float(np.percentile(found, 90)) if found.size else None,
            }
        )
    return out
