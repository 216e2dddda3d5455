"""Monitoring's periodic work: compare what waits for a comparison, then run every watched
deployment's stop rules, as the machine ``task:monitoring.check_alarms``; each day, the
drift of every deployment with a reference window, as ``task:monitoring.check_drift``; and
every hour, the daily rollups the pages read (``task:monitoring.roll_up``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from radgov.core import machines
from radgov.inventory.models import Deployment
from radgov.monitoring import alarms, analysis, drift, intake, rollups

TASK = "monitoring.check_alarms"
DRIFT_TASK = "monitoring.check_drift"
ROLLUP_TASK = "monitoring.roll_up"


@db_periodic_task(crontab(minute="17"), name=TASK)
@machines.task(TASK)
def check_alarms() -> dict[str, int]:
    pending = intake.compare_pending()
    opened = 0
    for deployment in Deployment.objects.filter(watch__isnull=False).exclude(status="sunset"):
        opened += len(alarms.check_deployment(deployment))
    return {**pending, "alerts": opened}


@db_periodic_task(crontab(minute="37", hour="2"), name=DRIFT_TASK)
@machines.task(DRIFT_TASK)
def check_drift() -> dict[str, int]:
    """Yesterday's drift (a whole day) for every deployment with a reference window."""
    as_of = timezone.localdate() - dt.timedelta(days=1)
    opened = 0
    live = Deployment.objects.filter(drift_reference__isnull=False).exclude(status="sunset")
    for deployment in live:
        opened += len(drift.check(deployment, as_of))
    return {"alerts": opened}


@db_periodic_task(crontab(minute="7"), name=ROLLUP_TASK)
@machines.task(ROLLUP_TASK)
def roll_up() -> dict[str, int]:
    """Roll up every deployment's days before today, rebuild the days that changed, and store
    the watched ones' CUSUM state of the days rolled up."""
    today = timezone.localdate()
    days = 0
    for deployment in Deployment.objects.select_related("watch"):
        days += rollups.roll_up(deployment.pk, today=today)["days"]
        watch = getattr(deployment, "watch", None)
        if watch is not None:
            analysis.store_cusum(watch)
    return {"days": days}
