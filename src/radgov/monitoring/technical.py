"""Technical signals of a deployment, per week of the study: how many studies reached it (a
drop means studies are no longer routed), how many failed or were rejected (with Wilson
intervals from ``radgov.stats``), and the turnaround from radgov's receipt to the result
(median and 90th percentile; results recorded as history, with a result time before radgov
received them, have none)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import numpy as np
from django.db.models import Q

from radgov.exams.models import Inference
from radgov.exams.statuses import Status
from radgov.inventory.models import Deployment
from radgov.stats.periods import bin_periods
from radgov.stats.proportions import proportion_ci

WEEKS = 12


def weekly(deployment: Deployment, *, today: dt.date, weeks: int = WEEKS) -> list[dict[str, Any]]:
    """The last ``weeks`` ISO weeks up to ``today``, oldest first; a week without studies
    is shown with zero (that is the signal)."""
    since = today - dt.timedelta(weeks=weeks)
    found = Inference.objects.filter(deployment=deployment).filter(
        Q(exam__study_datetime__date__gte=since)
        | Q(exam__study_datetime__isnull=True, created_at__date__gte=since)
    )
    rows = list(
        found.values_list("exam__study_datetime", "created_at", "status", "inferred_at").filter(
            Q(exam__study_datetime__date__lte=today) | Q(exam__study_datetime__isnull=True)
        )
    )
    periods = bin_periods(
        np.array([(r[0] or r[1]).date() for r in rows], dtype="datetime64[D]"),
        frequency="week",
        start=since,
        end=today,
    )
    buckets: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row, k in zip(rows, periods.index, strict=True):
        buckets[int(k)].append(row)
    out = []
    for k, start in enumerate(periods.labels):
        inside = buckets.get(k, [])
        n = len(inside)
        failed = sum(1 for row in inside if row[2] == Status.FAILED)
        rejected = sum(1 for row in inside if row[2] == Status.REJECTED)
        minutes = np.array(
            [
                (done - made).total_seconds() / 60
                for _, made, _, done in inside
                if done is not None and done >= made
            ]
        )
        out.append(
            {
                "week": start,
                "studies": n,
                "failed": proportion_ci(failed, n, method="wilson").to_dict(),
                "rejected": proportion_ci(rejected, n, method="wilson").to_dict(),
                "turnaround_minutes_median": float(np.median(minutes)) if minutes.size else None,
                "turnaround_minutes_p90": float(np.percentile(minutes, 90))
                if minutes.size
                else None,
            }
        )
    return out
