"""Is the platform well: which database, and is a background worker alive.

The worker writes a heartbeat into Huey's own key-value storage when it starts
and every minute (radgov.core.tasks), so this works for the embedded SQLite queue
and for Redis shared by many machines alike."""

from __future__ import annotations

import time
from typing import Any

from django.db import connection
from huey.contrib.djhuey import HUEY

HEARTBEAT_KEY = "radgov-worker-heartbeat"
ALIVE_WITHIN_SECONDS = 150


def beat() -> None:
    HUEY.put(HEARTBEAT_KEY, time.time())


def worker_status() -> dict[str, Any]:
    try:
        last = HUEY.get(HEARTBEAT_KEY, peek=True)
    except Exception as exc:  # the queue's storage itself is unreachable
        return {"alive": False, "error": type(exc).__name__}
    if last is None:
        return {"alive": False, "last_heartbeat_seconds_ago": None}
    age = time.time() - float(last)
    return {"alive": age <= ALIVE_WITHIN_SECONDS, "last_heartbeat_seconds_ago": round(age, 1)}


def status() -> dict[str, Any]:
    connection.ensure_connection()
    return {
        "status": "ok",
        "database": connection.vendor,
        "queue": type(HUEY).__name__,
        "worker": worker_status(),
    }
