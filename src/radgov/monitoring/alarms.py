"""Stop rules to alerts, and alerts to a suspension (IV.G; docs/monitoring.md).

:func:`check_deployment` runs the watched deployment's charts (``analysis.charts``) and opens
one :class:`Alert` per rule and signal day in the governance group's queue.  When the
governance group allowed this task's machine to suspend the deployment (an
``inventory.AlarmSuspension``), the alert also suspends it through
``inventory.lifecycle.suspend_on_alarm``: audited as the alarm's act, and resumed only by a
person's lifecycle decision.  The periodic task :func:`radgov.monitoring.tasks.check_alarms`
acts as the machine ``task:monitoring.check_alarms``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from radgov.core import machines, policy
from radgov.core.services import service
from radgov.exams.errors import ExamError, NotPermitted, Problem
from radgov.inventory import lifecycle
from radgov.inventory.models import AlarmSuspension, Deployment
from radgov.inventory.stages import Stage
from radgov.monitoring import analysis
from radgov.monitoring.models import Alert, Rule, Watch

LIVE = (Stage.PILOT, Stage.DEPLOYED)


def _summary(rule: str, found: analysis.Charts, day: str, watch: Watch) -> str:
    base = found.baseline
    rate = f"baseline discordance {base.estimate:.1%} ({base.ci_low:.1%} to {base.ci_high:.1%})"
    if rule == Rule.CONSECUTIVE:
        return f"{watch.run_length} days in a row above the {rate}, the last on {day}"
    chart = found.charts[rule]
    return f"{Rule(rule).label} crossed its limit on {day} ({chart.method}); {rate}"


@service
def check_deployment(deployment: Deployment) -> list[Alert]:
    """Open an alert for each stop rule that signalled (once per rule and day), and suspend
    the deployment when the governance group allowed the acting machine to."""
    watch = Watch.objects.filter(deployment=deployment).first()
    if watch is None:
        return []
    found = analysis.charts(watch)
    opened = []
    for rule, day in found.signal_days.items():
        signal_day = dt.date.fromisoformat(day)
        if Alert.objects.filter(deployment=deployment, rule=rule, signal_day=signal_day).exists():
            continue
        chart = found.charts[rule]
        opened.append(
            Alert.objects.create(
                deployment=deployment,
                rule=rule,
                signal_day=signal_day,
                summary=_summary(rule, found, day, watch),
                detail={"baseline": found.baseline.to_dict(), "method": chart.method},
            )
        )
    machine = machines.acting_machine()
    if opened and machine is not None and deployment.status in LIVE:
        allowed = AlarmSuspension.objects.filter(
            deployment=deployment, machine=machine, withdrawn_at__isnull=True
        ).exists()
        if allowed:
            first = opened[0]
            lifecycle.suspend_on_alarm(
                machine, deployment, alarm=f"monitoring.{first.rule}", reason=first.summary
            )
            for alert in opened:
                alert.suspended = True
                alert.save()
    return opened


@service
def close_alert(user: Any, alert: Alert, *, note: str) -> Alert:
    """A governance-group member (or an administrator) closes an alert, saying why."""
    policy.require_governance(
        user,
        "IV.G: only governance-group members and administrators close alerts",
        denied=NotPermitted,
    )
    if alert.rule == Rule.PRIVACY:
        raise NotPermitted(
            "a privacy reminder closes itself once its cause is gone (radgov.compliance.reminders)"
        )
    note = (note or "").strip()
    if not note:
        raise ExamError(
            [Problem("note", "say why the alert is closed (the decision or the cause found)")]
        )
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.closed_at is None:
        alert.closed_at, alert.closed_by, alert.note = timezone.now(), user, note
        alert.save()
    return alert
