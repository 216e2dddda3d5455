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
from radgov.stats.counted import percentile
from radgov.stats.periods import bin_periods
from radgov.stats.proportions import proportion_ci

WEEKS = 12


def weekly(deployment: Deployment, *, today: dt.date, weeks: int = WEEKS) -> list[dict[str, Any]]:
    """The last ``weeks`` ISO weeks up to ``today``, oldest first; a week without studies
    is shown with zero (that is the signal).  Each week's counts are summed by the database."""
    since = today - dt.timedelta(weeks=weeks)
    none = np.array([], dtype="datetime64[D]")
    labels = bin_periods(none, frequency="week", start=since, end=today).labels
    sunday = today + dt.timedelta(days=6 - today.weekday())  # the end of today's ISO week
    counted = rollups.totals(
        deployment.pk, since, today, ("status", "turnaround"), weeks_to=sunday, weeks=len(labels)
    )
    studies, failed, rejected = (np.zeros(len(labels), np.int64) for _ in range(3))
    for back, status, n, _ in counted.get("status", []):
        week = len(labels) - 1 - back
        studies[week] += n
        failed[week] += n if status == Status.FAILED else 0
        rejected[week] += n if status == Status.REJECTED else 0
    turnaround = counted.get("turnaround", [])
    weeks_of = np.array([len(labels) - 1 - back for back, _, _, _ in turnaround], dtype=np.intp)
    values = np.array([float(value) for _, value, _, _ in turnaround], dtype=np.float64)
    counts = np.array([n for _, _, n, _ in turnaround], dtype=np.int64)
    out = []
    for k, start in enumerate(labels):
        n = int(studies[k])
        here = (weeks_of == k) & (counts > 0)
        found = here.any()
        out.append(
            {
                "week": start,
                "studies": n,
                "failed": proportion_ci(int(failed[k]), n, method="wilson").to_dict(),
                "rejected": proportion_ci(int(rejected[k]), n, method="wilson").to_dict(),
                "turnaround_minutes_median": (
                    percentile(values[here], counts[here], q=50) if found else None
                ),
                "turnaround_minutes_p90": (
                    percentile(values[here], counts[here], q=90) if found else None
                ),
            }
        )
    return out
