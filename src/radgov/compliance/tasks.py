"""The worker's side of de-identification jobs."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

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
