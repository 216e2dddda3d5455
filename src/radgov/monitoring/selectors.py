"""Monitoring's reads: one report (audited, for the roles that see identifiers), a
deployment's performance view (the page and the API read the same dictionary), the alert
queue.  Aggregates name no patient; a report's text does, so reading it is recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from radgov.core.audit import Action, EventCode, record
from radgov.core.roles import Role
from radgov.exams import access
from radgov.exams.errors import NotPermitted
from radgov.inventory.models import Deployment
from radgov.monitoring import analysis, rollups, technical
from radgov.monitoring.models import (
    Alert,
    DriftReference,
    Outcome,
    Report,
    Rule,
    Watch,
)


def report(actor: Any, report_id: int) -> dict[str, Any]:
    if not access.may_see_identifiers(actor):
        raise NotPermitted("a report's text is shown only to the roles that see identifiers")
    row = Report.objects.filter(pk=report_id).first()
    if row is None:
        raise NotPermitted("no such report, or not yours to read")
    record(
        action=Action.READ,
        obj=row,
        event_code=EventCode.PROCEDURE_RECORD,
        actor=actor,
        detail={"what": "report text", "exam": row.exam_id},
    )
    return {
        "id": row.pk,
        "exam_id": row.exam_id,
        "text": row.text.reveal(),
        "labels": [
            {"finding": lab.finding, "label": lab.label, "rule": lab.rule,
             "evidence": lab.evidence.reveal()}
            for lab in row.labels.all()
        ],
        "labeller_version": row.labeller_version,
        "received_at": row.received_at.isoformat(),
    }  # fmt: skip


def watch_out(watch: Watch) -> dict[str, Any]:
    names = ("finding", "run_length", "cusum_shift", "arl0", "ewma_lambda", "ewma_arl0")
    return {
        "deployment_id": watch.deployment_id,
        **{n: getattr(watch, n) for n in names},
        "baseline_start": watch.baseline_start.isoformat(),
        "baseline_end": watch.baseline_end.isoformat(),
        "absent_is_negative": watch.absent_is_negative,
    }


def drift_reference_out(ref: DriftReference) -> dict[str, Any]:
    return {
        "reference_start": ref.reference_start.isoformat(),
        "reference_end": ref.reference_end.isoformat(),
        **{n: getattr(ref, n) for n in ("window_days", "psi_threshold", "alpha")},
    }


def alert_out(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "deployment_id": alert.deployment_id,
        "deployment": str(alert.deployment) if alert.deployment else "",
        "rule": alert.rule,
        "signal_day": alert.signal_day.isoformat(),
        "summary": alert.summary,
        "suspended": alert.suspended,
        "opened_at": alert.opened_at.isoformat(),
        "closed_at": alert.closed_at.isoformat() if alert.closed_at else None,
        "note": alert.note,
    }


def sees_privacy_alerts(user: Any) -> bool:
    """The compliance role's reminders are that role's (``radgov.compliance.reminders``)."""
    return getattr(user, "role", None) == Role.COMPLIANCE


def waiting_for_report(deployment: Deployment) -> int:
    """Finished results whose exam has no report yet (an exam whose report never comes is
    shown, not lost), from the daily rollups."""
    rows = rollups.totals(deployment.pk, dt.date.min, timezone.localdate(), ("report",))
    return sum(n for _, value, n, _ in rows.get("report", []) if value == "waiting")


def reports_waiting_for_exam() -> int:
    """Reports kept until their exam is recorded (shown, not lost)."""
    return Report.objects.filter(exam__isnull=True).count()


def alerts(
    *, open_only: bool = True, deployment: Deployment | None = None, privacy: bool = False
) -> list[dict[str, Any]]:
    """The queue; the compliance role's reminders (rule ``privacy``) only with ``privacy``."""
    rows = Alert.objects.select_related("deployment__model_version__product")
    if not privacy:
        rows = rows.exclude(rule=Rule.PRIVACY)
    if open_only:
        rows = rows.filter(closed_at__isnull=True)
    if deployment is not None:
        rows = rows.filter(deployment=deployment)
    return [alert_out(a) for a in rows[:200]]


def _claims(deployment: Deployment) -> dict[str, Any] | None:
    """The IFU's claimed performance, to set the monitored figures against (IV.F.2)."""
    version = deployment.model_version
    if version.claimed_sensitivity is None and version.claimed_specificity is None:
        return None
    return {
        "sensitivity": version.claimed_sensitivity,
        "specificity": version.claimed_specificity,
        "source": version.claim_source,
    }


def deployment_view(
    deployment: Deployment, *, frequency: str = "month", by: str | None = None
) -> dict[str, Any]:
    """Everything the page and the API show for one deployment."""
    watch = Watch.objects.filter(deployment=deployment).first()
    out: dict[str, Any] = {
        "deployment_id": deployment.pk,
        "deployment": str(deployment),
        "status": deployment.status,
        "watch": watch_out(watch) if watch else None,
        "frequency": frequency,
        "by": by,
        "performance": analysis.performance(deployment.pk, frequency=frequency, by=by),
        "without_report": waiting_for_report(deployment),
        "unscored": sum(
            row[3] for row in rollups.outcomes(deployment.pk) if row[1] == Outcome.UNSCORED
        ),
        "alerts": alerts(open_only=False, deployment=deployment),
        "claims": _claims(deployment),
        "technical": technical.weekly(deployment, today=timezone.localdate()),
        "labeller_accuracy": None,
        "baseline": None,
        "charts": None,
        "chart_problem": "not watched: the governance group sets what it is watched for",
    }
    if watch is None:
        return out
    out["labeller_accuracy"] = analysis.labeller_accuracy(watch.finding)
    found = analysis.charts(watch)
    out["baseline"] = found.baseline.to_dict()
    out["chart_problem"] = found.problem
    if not found.problem:
        out["charts"] = {
            "days": list(found.days),
            "daily_rate": found.daily_rate,
            "signal_days": found.signal_days,
            **{rule: chart.to_dict() for rule, chart in found.charts.items()},
            "cusum_days": list(found.cusum_days),
        }
    return out


def monitoring_data(deployment: Deployment, until: dt.date | None = None) -> dict[str, Any]:
    """What monitoring holds of a deployment (IV.B.2.h): its watch and drift reference, the
    AI calls compared with reports up to ``until`` (from the rollups), first and last day."""
    rows = [r for r in rollups.outcomes(deployment.pk) if until is None or r[0] <= until]
    days = [r[0] for r in rows]
    return {
        "watch": Watch.objects.filter(deployment=deployment).first(),
        "drift_reference": DriftReference.objects.filter(deployment=deployment).exists(),
        "compared": sum(r[3] for r in rows),
        "first": min(days) if days else None,
        "last": max(days) if days else None,
    }


def summary(deployment: Deployment) -> str:
    """The inventory record's line on the deployment's monitoring data."""
    found = monitoring_data(deployment)
    if found["watch"] is None:
        return "Not watched: no comparison of the AI with the reports yet."
    if not found["compared"]:
        return f"Watched for {found['watch'].finding}; no AI call compared with a report yet."
    return (
        f"Watched for {found['watch'].finding}: {found['compared']:,} AI calls compared with "
        f"reports from {found['first']} to {found['last']}; performance report on the page."
    )
