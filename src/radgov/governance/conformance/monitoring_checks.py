"""The conformance check of real-world monitoring (IV.G.1, issue 15): each deployment in
pilot or deployed is watched (the finding its model calls and a baseline, set by the
governance group) and its AI calls were compared with the exams' reports recently, so its
performance is being tracked rather than merely configured."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Max, Q

from radgov.governance.conformance.registry import (
    DEPLOYMENT,
    Context,
    Result,
    check,
    failed,
    passed,
)

RECENT_DAYS = 30  # comparisons older than this do not show performance is tracked now
WHERE = "its monitoring page (Monitoring) or PUT /api/monitoring/deployments/{id}/watch"


@check("monitoring_active", "IV.G.1", "Monitoring of performance is active", DEPLOYMENT)
def monitoring_active(d: Any, ctx: Context) -> Result:
    from radgov.monitoring.models import Concordance, Watch

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
