"""The worker's side of release (issue 16): every minute, one attempt at each delivery the
PACS, the RIS or the EMR has not acknowledged yet, as the task's own principal."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from radgov.core import machines


@db_periodic_task(crontab(minute="*"))
@machines.task("exams.deliver_releases")
def deliver_releases() -> int:
    """How many deliveries were acknowledged in this round."""
    from radgov.core.machines import acting_machine
    from radgov.exams.services.delivery import deliver_pending

    return deliver_pending(acting_machine())
