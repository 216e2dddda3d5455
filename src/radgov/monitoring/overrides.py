"""How each radiologist uses the AI (IV.G.3; issue 17; docs/monitoring.md, "Overrides").

From the exams' review records: per reviewer, how often they accept, modify or reject the AI's
result, and their override rate (modified or rejected) with its Wilson interval.  The rates are
placed on a funnel plot against the practice's pooled rate (``radgov.stats.funnel``,
Spiegelhalter 2005, exact binomial limits), so that a reviewer is flagged only when the
difference is beyond chance: outside the 99.8 % limits.  A flagged reviewer may be offered
supplemental training (IV.F.3).

The governance group and administrators see everyone; anyone else sees only their own line,
never their peers'.  A changed mind is an addendum: only the last review of each result counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Count, Q

from radgov.core import policy
from radgov.exams.models import Review, ReviewDecision
from radgov.stats import funnel
from radgov.stats.proportions import proportion_ci
from radgov.stats.results import Estimate

BEYOND = ("high-99.8", "low-99.8")  # flagged: outside the 99.8 % limits


@dataclass
class ReviewerRate:
    user_id: int
    username: str
    n: int
    accepted: int
    modified: int
    rejected: int
    rate: Estimate
    flag: str = "within"  # or "high", "low" (95 %), "high-99.8", "low-99.8"

    @property
    def overrides(self) -> int:
        return self.modified + self.rejected

    @property
    def beyond(self) -> bool:
        return self.flag in BEYOND


@dataclass
class Overrides:
    rows: list[ReviewerRate]
    practice_rate: float | None
    practice_n: int
    limits: dict[str, list[float]] = field(default_factory=dict)
    sees_everyone: bool = False

    @property
    def flagged(self) -> list[ReviewerRate]:
        return [r for r in self.rows if r.beyond]


def _last_reviews(deployment: Any | None) -> Any:
    """Each AI result's last review (an addendum replaces the review it amends)."""
    rows = Review.objects.filter(addenda__isnull=True)
    return rows if deployment is None else rows.filter(inference__deployment=deployment)


def _curve(n_max: int, target: float) -> dict[str, list[float]]:
    """The funnel's limits along n, for the chart."""
    grid = np.unique(np.geomspace(1, max(n_max, 2) * 1.1, 80).round())
    limits = funnel.funnel_limits(grid, target=target)
    return {
        "n": grid.tolist(),
        "low_95": limits.low_95.tolist(),
        "high_95": limits.high_95.tolist(),
        "low_998": limits.low_998.tolist(),
        "high_998": limits.high_998.tolist(),
    }


def practice_rates(*, deployment: Any | None = None) -> Overrides:
    """Every reviewer's override rate against the practice's, with the funnel's flags (for
    the governance group's page and the conformance audit; people see it through
    :func:`rates`)."""
    counted = (
        _last_reviews(deployment)
        .values("reviewer_id", "reviewer__username")
        .annotate(
            n=Count("id"),
            accepted=Count("id", filter=Q(decision=ReviewDecision.ACCEPT)),
            modified=Count("id", filter=Q(decision=ReviewDecision.MODIFY)),
            rejected=Count("id", filter=Q(decision=ReviewDecision.REJECT)),
        )
        .order_by("reviewer__username")
    )
    rows = [
        ReviewerRate(
            user_id=c["reviewer_id"],
            username=c["reviewer__username"],
            n=c["n"],
            accepted=c["accepted"],
            modified=c["modified"],
            rejected=c["rejected"],
            rate=proportion_ci(c["modified"] + c["rejected"], c["n"]),
        )
        for c in counted
    ]
    total = sum(r.n for r in rows)
    found = Overrides(rows, None, total, sees_everyone=True)
    overrides = sum(r.overrides for r in rows)
    if rows:
        found.practice_rate = overrides / total
    if 0 < overrides < total:  # a rate of 0 or 1 has no funnel
        plot = funnel.funnel_plot([r.overrides for r in rows], [r.n for r in rows])
        for row, flag in zip(rows, plot.flags, strict=True):
            row.flag = flag
        found.limits = _curve(max(r.n for r in rows), overrides / total)
    return found


def rates(viewer: Any, *, deployment: Any | None = None) -> Overrides:
    """What ``viewer`` may see of :func:`practice_rates`: everyone for the governance group
    and administrators, otherwise only their own line (the practice's rate and limits stay)."""
    found = practice_rates(deployment=deployment)
    if not policy.governs(viewer):
        found.sees_everyone = False
        found.rows = [r for r in found.rows if r.user_id == getattr(viewer, "pk", None)]
    return found
