"""How each radiologist uses the AI (IV.G.3; issue 17; docs/monitoring.md, "Overrides").

From the exams' review records and the interaction events a PACS or viewer reports
(``radgov.monitoring.interactions``): per user, how often they accept, modify or reject the
AI's result, and their override rate (modified or rejected) with its Wilson interval.  A
result a user reviewed in radgov counts once, by its last review; a result they only decided
on in the viewer counts by their last accept, modify or reject there.  Their engagement rate
is the share of the results presented to them in the viewer that they opened (any
interaction but ``not_opened``), from the interactions alone.  The rates are
placed on a funnel plot against the practice's pooled rate (``radgov.stats.funnel``,
Spiegelhalter 2005, exact binomial limits), so that a user is flagged only when the
difference is beyond chance: an override rate outside the 99.8 % limits, or an engagement
rate below them.  A flagged user may be offered supplemental training (IV.F.3).

The governance group and administrators see everyone; anyone else sees only their own line,
never their peers'.  A changed mind is an addendum: only the last review of each result counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Count, Exists, OuterRef, Q

from radgov.core import policy
from radgov.exams.models import Review, ReviewDecision
from radgov.monitoring.models import Interaction, InteractionAction
from radgov.stats import funnel
from radgov.stats.proportions import proportion_ci
from radgov.stats.results import Estimate

BEYOND = ("high-99.8", "low-99.8")  # flagged: outside the 99.8 % limits
DECIDED = {  # a viewer's decision and the review decision it counts as
    InteractionAction.ACCEPTED: ReviewDecision.ACCEPT,
    InteractionAction.MODIFIED: ReviewDecision.MODIFY,
    InteractionAction.REJECTED: ReviewDecision.REJECT,
}


@dataclass
class ReviewerRate:
    user_id: int
    username: str
    n: int
    accepted: int
    modified: int
    rejected: int
    rate: Estimate | None
    flag: str = "within"  # or "high", "low" (95 %), "high-99.8", "low-99.8"
    presented: int = 0  # results the viewer presented to them (interactions)
    opened: int = 0
    engagement: Estimate | None = None
    engagement_flag: str = "within"

    @property
    def overrides(self) -> int:
        return self.modified + self.rejected

    @property
    def beyond(self) -> bool:
        """Overriding beyond chance, or opening the AI's results less than chance allows."""
        return self.flag in BEYOND or self.engagement_flag == "low-99.8"


@dataclass
class Overrides:
    rows: list[ReviewerRate]
    practice_rate: float | None
    practice_n: int
    limits: dict[str, list[float]] = field(default_factory=dict)
    sees_everyone: bool = False
    engagement_rate: float | None = None  # the practice's, from the viewers' interactions
    engagement_limits: dict[str, list[float]] = field(default_factory=dict)

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


def _decisions(deployment: Any | None) -> dict[int, dict[str, Any]]:
    """{user id: username and counts of accept, modify, reject}: each result's last review,
    and each user's last decision in the viewer on a result they did not review."""
    counts = {
        "n": Count("id"),
        **{name: Count("id", filter=Q(decision=name)) for name in ReviewDecision.values},
    }
    reviews = (
        _last_reviews(deployment)
        .values("reviewer_id", "reviewer__username")
        .annotate(**counts)
        .order_by()
    )
    rows: dict[int, dict[str, Any]] = {
        c["reviewer_id"]: {**c, "username": c["reviewer__username"]} for c in reviews
    }
    later = Interaction.objects.filter(
        inference=OuterRef("inference"), user=OuterRef("user"), action__in=list(DECIDED)
    ).filter(Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), pk__gt=OuterRef("pk")))
    reviewed = Review.objects.filter(inference=OuterRef("inference"), reviewer=OuterRef("user"))
    viewer = Interaction.objects.filter(action__in=list(DECIDED)).filter(
        ~Exists(later), ~Exists(reviewed)
    )
    if deployment is not None:
        viewer = viewer.filter(inference__deployment=deployment)
    counted = viewer.values("user_id", "user__username").annotate(
        n=Count("id"),
        **{d: Count("id", filter=Q(action=a)) for a, d in DECIDED.items()},
    )
    for c in counted.order_by():
        row = rows.setdefault(c["user_id"], {"username": c["user__username"], "n": 0})
        for name in ("n", *ReviewDecision.values):
            row[name] = row.get(name, 0) + c[name]
    return rows


def _engagement(deployment: Any | None) -> dict[int, dict[str, Any]]:
    """{user id: username, results presented in the viewer, results opened}."""
    rows = Interaction.objects.all()
    if deployment is not None:
        rows = rows.filter(inference__deployment=deployment)
    counted = rows.values("user_id", "user__username").annotate(
        presented=Count("inference", distinct=True),
        opened=Count("inference", distinct=True, filter=~Q(action=InteractionAction.NOT_OPENED)),
    )
    return {c["user_id"]: c for c in counted.order_by()}


def practice_rates(*, deployment: Any | None = None) -> Overrides:
    """Every user's override and engagement rates against the practice's, with the funnel's
    flags (for the governance group's page and the conformance audit; people see it
    through :func:`rates`)."""
    decided = _decisions(deployment)
    engaged = _engagement(deployment)
    rows = []
    for user_id in decided.keys() | engaged.keys():
        d = decided.get(user_id, {})
        e = engaged.get(user_id, {})
        n = d.get("n", 0)
        overridden = d.get(ReviewDecision.MODIFY, 0) + d.get(ReviewDecision.REJECT, 0)
        rows.append(
            ReviewerRate(
                user_id=user_id,
                username=d.get("username") or e["user__username"],
                n=n,
                accepted=d.get(ReviewDecision.ACCEPT, 0),
                modified=d.get(ReviewDecision.MODIFY, 0),
                rejected=d.get(ReviewDecision.REJECT, 0),
                rate=proportion_ci(overridden, n) if n else None,
                presented=e.get("presented", 0),
                opened=e.get("opened", 0),
                engagement=proportion_ci(e["opened"], e["presented"]) if e else None,
            )
        )
    rows.sort(key=lambda r: r.username)
    decided_rows = [r for r in rows if r.n]
    total = sum(r.n for r in decided_rows)
    found = Overrides(rows, None, total, sees_everyone=True)
    overrides = sum(r.overrides for r in decided_rows)
    if decided_rows:
        found.practice_rate = overrides / total
    if 0 < overrides < total:  # a rate of 0 or 1 has no funnel
        plot = funnel.funnel_plot([r.overrides for r in decided_rows], [r.n for r in decided_rows])
        for row, flag in zip(decided_rows, plot.flags, strict=True):
            row.flag = flag
        found.limits = _curve(max(r.n for r in decided_rows), overrides / total)
    _engagement_flags([r for r in rows if r.presented], found)
    return found


def _engagement_flags(rows: list[ReviewerRate], found: Overrides) -> None:
    presented = sum(r.presented for r in rows)
    opened = sum(r.opened for r in rows)
    if not rows:
        return
    found.engagement_rate = opened / presented
    if 0 < opened < presented:
        plot = funnel.funnel_plot([r.opened for r in rows], [r.presented for r in rows])
        for row, flag in zip(rows, plot.flags, strict=True):
            row.engagement_flag = flag
        found.engagement_limits = _curve(max(r.presented for r in rows), opened / presented)


def rates(viewer: Any, *, deployment: Any | None = None) -> Overrides:
    """What ``viewer`` may see of :func:`practice_rates`: everyone for the governance group
    and administrators, otherwise only their own line (the practice's rate and limits stay, the
    limits drawn up to the viewer's own number of results)."""
    found = practice_rates(deployment=deployment)
    if not policy.governs(viewer):
        found.sees_everyone = False
        found.rows = [r for r in found.rows if r.user_id == getattr(viewer, "pk", None)]
        # the limits are drawn up to the viewer's own volume, not to their busiest peer's
        own = found.rows[0] if found.rows else None
        found.limits = _own_curve(found.limits, own.n if own else 0, found.practice_rate)
        found.engagement_limits = _own_curve(
            found.engagement_limits, own.presented if own else 0, found.engagement_rate
        )
    return found


def _own_curve(
    limits: dict[str, list[float]], n: int, target: float | None
) -> dict[str, list[float]]:
    return _curve(n, target) if limits and n and target is not None else {}
