"""Periodic work of the core app."""

from __future__ import annotations

from datetime import timedelta

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from radgov.core.audit.checkpoint import make_checkpoint


@db_periodic_task(crontab(minute="*"))
def checkpoint_audit_trail() -> int | None:
    """Sign a checkpoint of the audit chain head every minute (when it moved);
    returns the checkpoint number, or None when nothing was added."""
    cp = make_checkpoint()
    return cp.number if cp else None


@db_task()
def run_job_task(job_id: int) -> str | None:
    """Run one queued background job (radgov.core.jobs); returns its final status."""
    from radgov.core.jobs import run

    job = run(job_id)
    return job.status if job is not None else None


@db_periodic_task(crontab(minute="*/5"))
def requeue_stale_jobs() -> int:
    """Every five minutes: queue again the jobs a stopped worker left behind."""
    from radgov.core.context import ActingContext, acting_as
    from radgov.core.jobs import requeue_stale

    with acting_as(ActingContext(channel="worker")):
        return requeue_stale()


@db_periodic_task(crontab(minute="41"))
def delete_old_job_results() -> int:
    """Hourly: the files of jobs finished a day ago go (they can be made again)."""
    from radgov.core.jobs import delete_results_older_than

    return delete_results_older_than(timedelta(days=1))
