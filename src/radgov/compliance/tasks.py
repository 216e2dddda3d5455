"""The worker's side of de-identification jobs."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from radgov.core import machines
from radgov.core.context import ActingContext, acting_as


@db_task()
def run_deid_job(job_id: int) -> str | None:
    """Run one queued de-identification job; returns its final status (None if it was not
    queued any more: taken by another worker, finished, or gone)."""
    from radgov.compliance.services import run_job

    with acting_as(ActingContext(channel="worker")):
        job = run_job(job_id)
    return job.status if job is not None else None


@db_periodic_task(crontab(minute="17"))
def delete_finished_deid_inputs() -> int:
    """Hourly: delete the uploads of finished jobs that a stopped worker left behind (PHI)."""
    from radgov.compliance.services import delete_finished_inputs

    with acting_as(ActingContext(channel="worker")):
        return delete_finished_inputs()


@db_periodic_task(crontab(hour="2", minute="30"))
@machines.task("compliance.purge")
def purge_past_retention() -> dict[str, int]:
    """Nightly: remove what is past its retention and not held (resuming a stopped run)."""
    from radgov.compliance.purge import purge

    run = purge(machines.acting_machine(), started_by="task:compliance.purge")
    return dict(run.removed)


@db_periodic_task(crontab(minute="23"))
@machines.task("compliance.detect_access")
def detect_unusual_access() -> int:
    """Hourly: the access rules over yesterday and today so far; returns the cases opened."""
    from radgov.compliance.detect import detect

    today = timezone.localdate()
    return len(detect(today - timedelta(days=1))) + len(detect(today))


@db_periodic_task(crontab(hour="6", minute="10"))
@machines.task("compliance.remind")
def remind_privacy_officer() -> dict[str, int]:
    """Daily: raise the privacy officer's reminders (breach notices due within two weeks or
    overdue, the notice's review, deployments the notice does not cover, records not purged),
    deliver each new stage to the alert queue and by email; clear the rest."""
    from radgov.compliance.reminders import remind

    return remind()
