"""The conformance checks of monitoring, read from monitoring's records: that performance is
tracked (IV.G.1, issue 15: each deployment in pilot or deployed is watched, the finding its
model calls and a baseline set by the governance group, and its AI calls were compared with
the exams' reports recently, so its performance is tracked rather than merely configured);
that the inventory's record of each deployment links its monitoring data and performance
report (IV.B.2.h, issue 15: the record links the deployment's monitoring page, which holds
the comparisons with the reports, read from monitoring's rollups); how the AI is used (IV.G.3: the end-users' reviews of each AI result with the override
rates' funnel, ``radgov.monitoring.overrides``); and what went wrong with it (IV.G.4: the
adverse events with their peer-learning reviews, ``radgov.monitoring.events``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Max, Q
from django.urls import reverse

from radgov.exams.models import Inference
from radgov.governance.conformance.registry import (
    DEPLOYMENT,
    PRACTICE,
    Context,
    Result,
    check,
    failed,
    not_applicable,
    passed,
)
from radgov.governance.models import GovernanceGroup
from radgov.monitoring import overrides, selectors
from radgov.monitoring.models import AdverseEvent, Concordance, Watch
from radgov.training.models import TrainingRecord
from radgov.training.services import add_months

RECENT_DAYS = 30  # comparisons older than this do not show performance is tracked now
WHERE = "its monitoring page (Monitoring) or PUT /api/monitoring/deployments/{id}/watch"
OVERRIDES_PAGE = "Monitoring > How radiologists use the AI"


@check("monitoring_active", "IV.G.1", "Monitoring of performance is active", DEPLOYMENT)
def monitoring_active(d: Any, ctx: Context) -> Result:
    watch = Watch.objects.filter(deployment=d).first()
    if watch is None:
        return failed(
            "No monitoring watch is set: nothing compares the AI's calls with the reports.",
            "A governance-group member sets the watch (the finding the model calls and a "
            f"baseline period) on {WHERE.format(id=d.pk)}.",
        )
    since = ctx.day - dt.timedelta(days=RECENT_DAYS - 1)
    seen = Concordance.objects.filter(deployment=d).aggregate(
        recent=Count("id", filter=Q(day__gte=since)), last=Max("day")
    )
    watched = (
        f"Watched for {watch.finding} (baseline {watch.baseline_start} to {watch.baseline_end})"
    )
    if not seen["recent"]:
        last = f"the last on {seen['last']}" if seen["last"] else "never any"
        return failed(
            f"{watched}, but no AI call was compared with a report in the last {RECENT_DAYS} "
            f"days ({last}).",
            "Check that studies still reach the model and that the reports reach radgov "
            "(API, file, HL7 ORU, FHIR DiagnosticReport); the monitoring page shows what waits.",
        )
    return passed(
        f"{watched}: {seen['recent']} AI calls compared with reports in the last {RECENT_DAYS} "
        f"days, the latest on {seen['last']}."
    )


@check("doc_monitoring_data", "IV.B.2.h", "Post-deployment monitoring data", DEPLOYMENT)
def doc_monitoring_data(d: Any, ctx: Context) -> Result:
    found = selectors.monitoring_data(d, until=ctx.day)
    page = reverse("monitoring:deployment", kwargs={"deployment_id": d.pk})
    if found["watch"] is None:
        return failed(
            "No post-deployment monitoring data: the deployment is not watched, so the "
            "monitoring page its inventory record links compares nothing with the reports.",
            "A governance-group member sets the watch (the finding the model calls and a "
            f"baseline period) on {WHERE.format(id=d.pk)}.",
        )
    if not found["compared"]:
        return failed(
            f"Watched for {found['watch'].finding}, but no AI call has been compared with a "
            f"report yet: the monitoring data the inventory record links ({page}) are empty.",
            "Check that studies reach the model and that the reports reach radgov (API, file, "
            "HL7 ORU, FHIR DiagnosticReport); the monitoring page shows what waits.",
        )
    return passed(
        f"The inventory record links the monitoring data ({page}): {found['compared']:,} AI "
        f"calls compared with reports from {found['first']} to {found['last']}, and the "
        f"performance report ({page}report.pdf)."
    )


@check(
    "override_monitoring",
    "IV.G.3",
    "How end-users interact with the AI and how often they override it is monitored",
    DEPLOYMENT,
)
def override_monitoring(d: Any, ctx: Context) -> Result:
    results = Inference.objects.filter(deployment=d, created_at__lte=ctx.at).count()
    if not results:
        return not_applicable(
            f"No AI result of {d} is recorded in radgov, so none can have been reviewed."
        )
    found = overrides.practice_rates(deployment=d)
    if not found.rows:
        return failed(
            f"{results} AI results recorded, none reviewed: whether end-users accept, modify or "
            "reject them is not known.",
            "Have the end-users record their decision on each AI result (Clinical AI review, or "
            f"the review API); the override rates then appear under {OVERRIDES_PAGE}.",
        )
    untrained = [
        r.username
        for r in found.flagged
        if not TrainingRecord.objects.filter(
            user_id=r.user_id, model_version=d.model_version, is_supplemental=True,
            completed_at__lte=ctx.at, expires_at__gt=ctx.at,
        ).exists()
    ]  # fmt: skip
    rate = f"{found.practice_rate:.2f}" if found.practice_rate is not None else "none"
    summary = (
        f"{found.practice_n} reviews by {len(found.rows)} end-users, override rate {rate}; "
        f"{len(found.flagged)} beyond the funnel's 99.8 % limits"
    )
    if untrained:
        return failed(
            f"{summary}, without a current supplemental training on {d.model_version}: "
            f"{', '.join(untrained)}.",
            f"Offer them the supplemental training (IV.F.3) from {OVERRIDES_PAGE} and record it.",
        )
    return passed(
        summary + (", each with a current supplemental training." if found.flagged else ".")
    )


@check(
    "adverse_events_reviewed",
    "IV.G.4",
    "AI-related complications and adverse events are reviewed in peer learning",
    PRACTICE,
)
def adverse_events_reviewed(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    reported = AdverseEvent.objects.filter(reported_at__lte=ctx.at)
    if not reported.exists():
        return passed(
            "No AI-related complication, near miss or adverse event has been reported "
            "(anyone but the vendor may report one: Monitoring > AI adverse events)."
        )
    since = add_months(ctx.at, -ctx.meeting_months)
    months = f"{ctx.meeting_months} month{'s' if ctx.meeting_months != 1 else ''}"
    waiting = reported.filter(reviewed_at__isnull=True)
    overdue = sorted(waiting.filter(reported_at__lt=since).values_list("pk", flat=True))
    counts = (
        f"{reported.count()} events reported, "
        f"{reported.filter(reviewed_at__isnull=False).count()} reviewed in peer learning"
    )
    if overdue:
        return failed(
            f"{counts}; {len(overdue)} reported more than {months} ago still await their review "
            f"(event {', '.join(str(pk) for pk in overdue)}).",
            "Review them in the peer-learning queue (Monitoring > AI adverse events), or put "
            "them on the next meeting's agenda and review them there.",
        )
    on_agenda = waiting.filter(agenda_item__isnull=False).count()
    return passed(
        f"{counts}; {waiting.count()} open, each reported within the last {months} "
        f"({on_agenda} on a meeting's agenda)."
    )
