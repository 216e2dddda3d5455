"""Periodic work of the core app."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from radgov.core.audit.checkpoint import make_checkpoint


@db_periodic_task(crontab(minute="*"))
def checkpoint_audit_trail() -> int | None:
    """Sign a checkpoint of the audit chain head every minute (when it moved);
    returns the checkpoint number, or None when nothing was added."""
    cp = make_checkpoint()
    return cp.number if cp else None
