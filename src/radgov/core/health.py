"""Is the platform well: which database and queue, and is each long-running process alive.

Every long-running process (the web server, each worker, each listener) reports a heartbeat
with ``beat(name)`` at least every ``BEAT_SECONDS``, or starts ``start_beating(name)``, a
thread that does it.  The beats live in the database (``core.ProcessBeat``, one row per name
and host), so /healthz on any web server shows every process of every machine that shares
the database; a process is alive while its last beat is younger than ``ALIVE_WITHIN_SECONDS``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from radgov.core.models import ProcessBeat

BEAT_SECONDS = 5
ALIVE_WITHIN_SECONDS = 30
SHOWN_FOR = timedelta(days=1)  # a process silent for longer is no longer listed
HOST = socket.gethostname()[:255]
log = logging.getLogger("radgov.health")


def beat(name: str) -> None:
    """Record that the process ``name`` on this host is alive now."""
    now, pid = timezone.now(), os.getpid()
    if ProcessBeat.objects.filter(name=name, host=HOST, pid=pid).update(beat_at=now):
        return
    try:
        with transaction.atomic():
            ProcessBeat.objects.update_or_create(
                name=name, host=HOST, defaults={"pid": pid, "started_at": now, "beat_at": now}
            )
    except IntegrityError:  # the same name started twice at once on this host: next beat wins
        pass


def start_beating(name: str, every: float = BEAT_SECONDS) -> threading.Thread:
    """Beat for ``name`` from a daemon thread, now and every ``every`` seconds."""

    def run() -> None:
        while True:
            try:
                beat(name)
            except Exception:  # the database is away: say so, keep trying
                log.warning("heartbeat of %s not recorded", name, exc_info=True)
                connection.close()
            time.sleep(every)

    thread = threading.Thread(target=run, name=f"radgov-beat-{name}", daemon=True)
    thread.start()
    return thread


def processes() -> list[dict[str, Any]]:
    now = timezone.now()
    rows = ProcessBeat.objects.filter(beat_at__gte=now - SHOWN_FOR)
    return [
        {
            "name": row.name,
            "host": row.host,
            "pid": row.pid,
            "alive": (now - row.beat_at).total_seconds() <= ALIVE_WITHIN_SECONDS,
            "last_beat_seconds_ago": round((now - row.beat_at).total_seconds(), 1),
            "up_seconds": round((row.beat_at - row.started_at).total_seconds()),
        }
        for row in rows
    ]


def status() -> dict[str, Any]:
    connection.ensure_connection()
    listed = processes()
    workers = [p for p in listed if p["name"] == "worker"]
    return {
        "status": "ok",
        "database": connection.vendor,
        "queue": type(HUEY).__name__,
        "worker": {
            "alive": any(p["alive"] for p in workers),
            "last_heartbeat_seconds_ago": min(
                (p["last_beat_seconds_ago"] for p in workers), default=None
            ),
        },
        "processes": listed,
    }
