"""The worker's heartbeat, read by /healthz."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import HUEY, periodic_task

from radgov.core import health


@HUEY.on_startup()
def heartbeat_at_start() -> None:
    health.beat()


@periodic_task(crontab(minute="*"))
def heartbeat() -> None:
    health.beat()
