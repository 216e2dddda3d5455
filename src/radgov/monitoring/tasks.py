"""Monitoring's periodic work: compare what waits for a comparison, then run every watched
deployment's stop rules, as the machine ``task:monitoring.check_alarms``."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from radgov.core import machines
from radgov.inventory.models import Deployment
from radgov.monitoring import alarms, intake

TASK = "monitoring.check_alarms"


@db_periodic_task(crontab(minute="17"), name=TASK)
@machines.task(TASK)
def check_alarms() -> dict[str, int]:
    pending = intake.compare_pending()
    opened = 0
    for deployment in Deployment.objects.filter(watch__isnull=False).exclude(status="sunset"):
        opened += len(alarms.check_deployment(deployment))
    return {**pending, "alerts": opened}
