"""Bring the database up to date: the one step `radgov serve` and `radgov demo` take first,
so either works on a fresh data folder without a separate `radgov migrate`."""

from __future__ import annotations

from django.core.management import call_command


def bring_up_to_date() -> None:
    """Apply every migration and create the database cache's table (both idempotent)."""
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
