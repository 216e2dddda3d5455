"""Audit entries as CSV for a spreadsheet: one row per entry, in the order they were appended, the
detail and the changes as their canonical JSON.  A cell that a spreadsheet would read as a formula
(starting with = + - @, a tab or a carriage return) is written with a leading quote."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO

from radgov.core.audit.chain import HASHED_FIELDS, format_timestamp
from radgov.core.models import AuditEntry

# the entry's stripe and the fields the chain hashes, then the entry's hash
COLUMNS = ["stripe", *HASHED_FIELDS, "entry_hash"]


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(entries: Iterable[AuditEntry], out: IO[str]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for entry in entries:
        row = [
            format_timestamp(entry.timestamp) if name == "timestamp" else getattr(entry, name)
            for name in COLUMNS
        ]
        writer.writerow([_cell(v) for v in row])
        count += 1
    return count
