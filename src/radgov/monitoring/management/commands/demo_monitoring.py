"""``radgov demo_monitoring``: three months of monitoring for the demo practice's live
deployments, one of them drifting (run after ``radgov demo``; twice changes nothing)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from radgov.core.context import ActingContext, acting_as


class Command(BaseCommand):
    help = (
        "Load three months of monitoring (exams, AI calls, reports, comparisons, alerts) for "
        "the demo practice's live deployments; run after `radgov demo`"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from radgov.monitoring import demo_data

        with acting_as(ActingContext(channel="cli")):
            demo_data.load(self.stdout)
