"""Unusual access, found in the audit trail: each finding opens an ``AccessCase`` for the
compliance role naming the entries that triggered it (docs/privacy-incidents.md).

The rules look at one local calendar day at a time (``detect(day)``; the periodic task looks
at yesterday and today so far), so running them again finds the same case and opens nothing
new:

* ``after_hours``: one person read ``RADGOV_AFTER_HOURS_READS`` or more patient records
  outside ``RADGOV_WORKING_HOURS``;
* ``above_baseline``: one person read ``RADGOV_UNUSUAL_READS`` or more patient records, and
  more than five times their own daily average of the 30 days before, or five times their
  role's (per person);
* ``export_burst``: one person made ``RADGOV_EXPORT_BURST`` or more exports;
* ``new_address``: an API token (audit channel ``token:<id>``) was used from an address that
  token had not been used from in the 90 days before (when it had been used before).

A read entry counts the records it names (``detail["shown"]`` for a list, else one).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from radgov.compliance.models import AccessCase
from radgov.core import config
from radgov.core.audit import Action, EventCode
from radgov.core.models import AuditEntry
from radgov.core.services import service

PATIENT_READS = (EventCode.PATIENT_RECORD, EventCode.PROCEDURE_RECORD, EventCode.INSTANCES_ACCESSED)
BASELINE_DAYS = 30
ADDRESS_MEMORY_DAYS = 90
FACTOR = 5
MAX_SEQS = 1000  # a case lists at most this many entries (the count covers all)


@dataclass
class Tally:
    """One person's entries of one kind in the window."""

    actor_id: int | None
    actor_name: str
    actor_role: str
    seqs: list[int] = field(default_factory=list)
    records: int = 0

    def add(self, row: dict[str, Any], records: int = 1) -> None:
        self.seqs.append(row["seq"])
        self.records += records


def working_hours() -> tuple[dt.time, dt.time]:
    text = config.get("RADGOV_WORKING_HOURS") or ""
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ValueError(
            f"RADGOV_WORKING_HOURS={text!r} is not a range of times such as 07:00-19:00"
        ) from None
    return start, end


def after_hours(moment: dt.datetime, hours: tuple[dt.time, dt.time]) -> bool:
    local = timezone.localtime(moment)
    start, end = hours
    inside = start <= local.time() < end if start <= end else not end <= local.time() < start
    return local.weekday() >= 5 or not inside


def day_window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def records_in(row: dict[str, Any]) -> int:
    detail = json.loads(row["detail_json"] or "{}")
    shown = detail.get("shown")
    return int(shown) if isinstance(shown, int) and shown > 0 else 1


FIELDS = ("seq", "timestamp", "actor_id", "actor_name", "actor_role", "detail_json")


def _reads(start: dt.datetime, end: dt.datetime) -> Iterable[dict[str, Any]]:
    return (
        AuditEntry.objects.filter(
            timestamp__gte=start,
            timestamp__lt=end,
            action=Action.READ,
            event_code__in=PATIENT_READS,
            outcome="success",
        )
        .exclude(actor_name="")
        .values(*FIELDS)
        .iterator(chunk_size=2000)
    )


def _tallies(rows: Iterable[dict[str, Any]], *, only_after_hours: bool = False) -> dict[str, Tally]:
    hours = working_hours()
    found: dict[str, Tally] = {}
    for row in rows:
        if only_after_hours and not after_hours(row["timestamp"], hours):
            continue
        tally = found.setdefault(
            row["actor_name"], Tally(row["actor_id"], row["actor_name"], row["actor_role"])
        )
        tally.add(row, records_in(row))
    return found


def detect(day: dt.date) -> list[AccessCase]:
    """Open the cases the rules find on ``day`` (local); returns the cases opened now."""
    start, end = day_window(day)
    opened = []
    threshold = config.get_int("RADGOV_AFTER_HOURS_READS")
    for tally in _tallies(_reads(start, end), only_after_hours=True).values():
        if tally.records >= threshold:
            summary = f"{tally.records} patient records read outside working hours on {day}"
            opened += _open(AccessCase.Rule.AFTER_HOURS, tally, start, end, summary)
    for tally, why in _above_baseline(start, end):
        opened += _open(AccessCase.Rule.ABOVE_BASELINE, tally, start, end, why)
    exports = _tallies(
        AuditEntry.objects.filter(timestamp__gte=start, timestamp__lt=end, action=Action.EXPORT)
        .exclude(actor_name="")
        .values(*FIELDS)
        .iterator(chunk_size=2000)
    )
    for tally in exports.values():
        if len(tally.seqs) >= config.get_int("RADGOV_EXPORT_BURST"):
            summary = f"{len(tally.seqs)} exports on {day}"
            opened += _open(AccessCase.Rule.EXPORT_BURST, tally, start, end, summary)
    for tally, addresses in _new_addresses(start, end):
        summary = f"API token used from {len(addresses)} new address(es) on {day}"
        opened += _open(AccessCase.Rule.NEW_ADDRESS, tally, start, end, summary)
    return opened


def _above_baseline(start: dt.datetime, end: dt.datetime) -> list[tuple[Tally, str]]:
    minimum = config.get_int("RADGOV_UNUSUAL_READS")
    today = {n: t for n, t in _tallies(_reads(start, end)).items() if t.records >= minimum}
    if not today:
        return []
    before = _tallies(_reads(start - dt.timedelta(days=BASELINE_DAYS), start))
    by_role: dict[str, list[int]] = defaultdict(list)
    for tally in before.values():
        by_role[tally.actor_role].append(tally.records)
    found = []
    for name, tally in today.items():
        own = before[name].records / BASELINE_DAYS if name in before else 0.0
        peers = by_role.get(tally.actor_role, [])
        role = sum(peers) / (BASELINE_DAYS * len(peers)) if peers else 0.0
        if tally.records > FACTOR * own or tally.records > FACTOR * role:
            found.append(
                (
                    tally,
                    f"{tally.records} patient records read in a day; daily average of the last "
                    f"{BASELINE_DAYS} days: {own:.1f} for this person, {role:.1f} for the role",
                )
            )
    return found


def _new_addresses(start: dt.datetime, end: dt.datetime) -> list[tuple[Tally, set[str]]]:
    """Per person: the addresses a token of theirs (channel ``token:<id>``) was used from in
    the window and not in the 90 days before, when that token had been used before."""
    used = AuditEntry.objects.filter(channel__startswith="token:").exclude(client_address="")
    since = start - dt.timedelta(days=ADDRESS_MEMORY_DAYS)
    known: dict[tuple[str, str], set[str]] = defaultdict(set)
    for name, channel, address in (
        used.filter(timestamp__gte=since, timestamp__lt=start)
        .values_list("actor_name", "channel", "client_address")
        .distinct()
    ):
        known[(name, channel)].add(address)
    found: dict[str, tuple[Tally, set[str]]] = {}
    window = used.filter(timestamp__gte=start, timestamp__lt=end)
    for row in window.values(*FIELDS, "channel", "client_address").iterator(chunk_size=2000):
        seen = known.get((row["actor_name"], row["channel"]))
        if seen and row["client_address"] not in seen:
            tally, addresses = found.setdefault(
                row["actor_name"],
                (Tally(row["actor_id"], row["actor_name"], row["actor_role"]), set()),
            )
            tally.add(row)
            addresses.add(row["client_address"])
    return list(found.values())


def _open(
    rule: str, tally: Tally, start: dt.datetime, end: dt.datetime, summary: str
) -> list[AccessCase]:
    if AccessCase.objects.filter(
        rule=rule, actor_name=tally.actor_name, window_start=start
    ).exists():
        return []
    try:
        with transaction.atomic():
            return [_create(rule, tally, start, end, summary)]
    except IntegrityError:  # another worker opened it at the same moment
        return []


@service
def _create(
    rule: str, tally: Tally, start: dt.datetime, end: dt.datetime, summary: str
) -> AccessCase:
    return AccessCase.objects.create(
        rule=rule,
        actor_id=tally.actor_id,
        actor_name=tally.actor_name,
        actor_role=tally.actor_role,
        window_start=start,
        window_end=end,
        entry_seqs=tally.seqs[:MAX_SEQS],
        records=tally.records,
        summary=summary[:500],
    )
