"""The worker's side of de-identification jobs."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from radgov.core.context import ActingContext, acting_as


@db_task()
def run_deid_job(job_id: int) -> str | None:
    """Run one queued de-identification job; returns its final status (None if it was not
    queued any more: taken by another worker, finished, or gone)."""
    from radgov.compliance.services import run_job

    with acting_as(ActingContext(channel="worker")):
        job = run_job(job_id)
    return job.status if job is not None else None
