"""The monitoring overview's status lights (issue 17, "Dashboards at scale"): per deployment,
one light each for performance, drift, usage and events, with the sentence that explains it.
Read from the daily rollups and the open alerts and events, never from the raw inferences.

* performance: red while a stop rule's alert is open; amber when watched but nothing was
  compared with a report in the last 30 days; grey when not watched;
* drift: amber while a drift or first-seen alert is open; grey without a reference window;
* usage: red when no study reached the model in the last 7 days after some in the 4 weeks
  before (studies no longer routed) or a delivery alert is open; amber when the week's volume
  fell below half the weekly mean of those 4 weeks, or a tenth or more failed or were rejected;
* events: amber while an adverse event waits for its peer-learning review.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Count

from radgov.inventory.models import Deployment
from radgov.monitoring import rollups
from radgov.monitoring.models import AdverseEvent, Alert, DriftReference, Outcome, Rule, Watch

RECENT_DAYS = 30
WEEK = 7
WEEKS_BEFORE = 4
FAILING = 0.10  # failed or rejected share of a week's studies that turns usage amber
STOP_RULES = (Rule.CONSECUTIVE, Rule.CUSUM, Rule.EWMA)
DRIFT_RULES = (Rule.DRIFT, Rule.FIRST_SEEN)


@dataclass(frozen=True)
class Light:
    colour: str  # green, amber, red or grey
    text: str

    @property
    def css(self) -> str:
        return {"green": "ok", "amber": "warn", "red": "bad"}.get(self.colour, "")

    @property
    def word(self) -> str:
        return {"green": "ok", "amber": "check", "red": "act", "grey": "not set"}[self.colour]


def _performance(deployment: Deployment, alerts: Counter[str], today: dt.date) -> Light:
    if not Watch.objects.filter(deployment=deployment).exists():
        return Light("grey", "not watched: no comparison with the reports")
    open_rules = [r for r in STOP_RULES if alerts[r]]
    if open_rules:
        names = ", ".join(Rule(r).label for r in open_rules)
        return Light("red", f"stop rule alert open: {names}")
    since = today - dt.timedelta(days=RECENT_DAYS - 1)
    rows = [r for r in rollups.outcomes(deployment.pk, since=since) if r[1] != Outcome.UNSCORED]
    n = sum(r[3] for r in rows)
    if not n:
        return Light("amber", f"no AI call compared with a report in the last {RECENT_DAYS} days")
    agreed = sum(r[3] for r in rows if r[1] in (Outcome.TP, Outcome.TN))
    return Light("green", f"{agreed / n:.1%} concordant of {n:,} in the last {RECENT_DAYS} days")


def _drift(deployment: Deployment, alerts: Counter[str]) -> Light:
    if not DriftReference.objects.filter(deployment=deployment).exists():
        return Light("grey", "no reference window set")
    if alerts[Rule.DRIFT]:
        return Light("amber", "drift alert open")
    if alerts[Rule.FIRST_SEEN]:
        return Light("amber", "a value never seen in the reference appeared")
    return Light("green", "no open drift alert")


def _usage(deployment: Deployment, alerts: Counter[str], today: dt.date) -> Light:
    if alerts[Rule.DELIVERY]:
        return Light("red", "released results are not reaching a destination")
    week_start = today - dt.timedelta(days=WEEK - 1)
    start = week_start - dt.timedelta(days=WEEK * WEEKS_BEFORE)
    # week 0: the last 7 days, week 1: the 4 weeks before, summed by the database
    counted = rollups.totals(deployment.pk, start, today, ("status",), weeks_to=today, weeks=1)
    rows = counted.get("status", [])
    week = sum(n for back, _, n, _ in rows if back == 0)
    before = sum(n for back, _, n, _ in rows if back == 1) / WEEKS_BEFORE
    if not week and not before:
        return Light("grey", "no studies in the last 5 weeks")
    if not week:
        return Light("red", f"no studies in the last {WEEK} days: are they still routed?")
    failing = sum(n for back, s, n, _ in rows if back == 0 and s in ("failed", "rejected"))
    if failing / week >= FAILING:
        return Light("amber", f"{failing / week:.0%} of {week:,} studies failed or rejected")
    if week < before / 2:
        return Light("amber", f"{week:,} studies this week, {before:,.0f} a week before")
    return Light("green", f"{week:,} studies in the last {WEEK} days")


def _events(waiting: int) -> Light:
    if waiting:
        return Light("amber", f"{waiting} adverse event{'s' * (waiting > 1)} awaiting review")
    return Light("green", "no adverse event awaiting review")


def lights(deployments: list[Deployment], today: dt.date) -> list[dict[str, Any]]:
    """One row per deployment: its four lights by name."""
    alerts: dict[int, Counter[str]] = {d.pk: Counter() for d in deployments}
    for row in (
        Alert.objects.filter(deployment__in=deployments, closed_at__isnull=True)
        .values("deployment_id", "rule")
        .annotate(n=Count("id"))
    ):
        alerts[row["deployment_id"]][row["rule"]] = row["n"]
    waiting = dict(
        AdverseEvent.objects.filter(deployment__in=deployments, reviewed_at__isnull=True)
        .values_list("deployment_id")
        .annotate(n=Count("id"))
    )
    return [
        {
            "deployment": d,
            "lights": {
                "performance": _performance(d, alerts[d.pk], today),
                "drift": _drift(d, alerts[d.pk]),
                "usage": _usage(d, alerts[d.pk], today),
                "events": _events(waiting.get(d.pk, 0)),
            },
        }
        for d in deployments
    ]
