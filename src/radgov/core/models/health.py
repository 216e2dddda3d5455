"""The heartbeats of radgov's long-running processes (the web server, workers, listeners),
one row per process name and host, shown by /healthz.

Not an audited model: a beat every few seconds is liveness bookkeeping, not a change of
governed data, and it is written outside any service (``radgov.core.health.beat``).
"""

from __future__ import annotations

from django.db import models


class ProcessBeat(models.Model):
    name = models.CharField(max_length=64, help_text="web, worker, or a registered listener")
    host = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField(help_text="when this pid first beat")
    beat_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "host"]
        constraints = [
            models.UniqueConstraint(fields=["name", "host"], name="core_processbeat_name_host")
        ]

    def __str__(self) -> str:
        return f"{self.name}@{self.host} (pid {self.pid})"
