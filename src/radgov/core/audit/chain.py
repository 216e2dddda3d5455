"""The hash chain, pure: canonical bytes of an entry, its hash, and a verifier
over any iterable of rows (dicts with the entry's field names).

``entry_hash = SHA-256(prev_hash || canonical)`` where ``canonical`` is the JSON
object of the hashed fields plus ``"v": 1``: keys sorted, no whitespace, ASCII
only, integers as numbers, absent values as ``null``, the timestamp in UTC as
``YYYY-MM-DDTHH:MM:SS.ffffffZ``.  ``detail_json`` and ``changes_json`` are
hashed as the exact stored text.  An entry of a stripe other than 0 also has
``"stripe": n`` in it (stripe 0's entries hash as before stripes existed), so moving an
entry to another stripe breaks its hash.  The first entry of each stripe has 64 zeros as
its ``prev_hash``.
No Django import: the database-backed verify feeds rows from an iterator.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
FORMAT_VERSION = 1
HASHED_FIELDS = (
    "seq",
    "timestamp",
    "actor_id",
    "actor_name",
    "actor_role",
    "client_address",
    "request_id",
    "channel",
    "action",
    "event_code",
    "object_type",
    "object_id",
    "outcome",
    "detail_json",
    "changes_json",
)
ROW_FIELDS = ("id", "stripe", *HASHED_FIELDS, "prev_hash", "entry_hash")
REORDER_WINDOW = 8  # on a mismatch, look this far either side for the seq an entry was written with


# ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`` through
# one C encoder made once: ``dumps`` builds an encoder on every call, most of the time it
# takes for a small value (a JSON column's, row after row of a bulk ingest).  Without
# ``dumps``'s check for circular values (JSON read from a file or a message has none).
_ENCODE = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None,
    json.JSONEncoder().default,
    json.encoder.encode_basestring_ascii,  # type: ignore[attr-defined]
    None,
    ":",
    ",",
    True,
    False,
    True,
)


def canonical_json(value: Any) -> str:
    """JSON text with keys sorted, no whitespace, ASCII only."""
    return "".join(_ENCODE(value, 0))


def format_timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    if value.year < 1000:  # strftime's %Y does not pad; isoformat, 4x faster, does
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


def canonical_bytes(row: Mapping[str, Any]) -> bytes:
    doc = {name: row[name] for name in HASHED_FIELDS}
    ts = doc["timestamp"]
    doc["timestamp"] = format_timestamp(ts) if isinstance(ts, datetime) else ts
    if row.get("stripe"):
        doc["stripe"] = row["stripe"]
    doc["v"] = FORMAT_VERSION
    return canonical_json(doc).encode("ascii")


def canonical_around_seq(row: Mapping[str, Any]) -> tuple[str, str]:
    """``canonical_bytes`` of ``row`` split where its ``seq`` and ``stripe`` go, for an append
    that learns them only when it takes a head (``head.append_one``): the canonical text
    is ``before + str(seq) + ('"stripe":n'-part if the stripe is not 0) + after``, and
    ``canonical_with`` puts it together.  Keys sort as ``... request_id < seq < stripe <
    timestamp < v``, so the two halves are the other hashed fields below and above them."""
    doc = {name: row[name] for name in HASHED_FIELDS if name != "seq"}
    ts = doc["timestamp"]
    doc["timestamp"] = format_timestamp(ts) if isinstance(ts, datetime) else ts
    doc["v"] = FORMAT_VERSION
    text = canonical_json(doc)
    # the last '"timestamp":' is the key: inside a string value every quote is escaped
    cut = text.rindex(',"timestamp":')
    return text[:cut] + ',"seq":', text[cut:]


def stripe_part(stripe: int) -> str:
    """What an entry of ``stripe`` has between its seq and the rest (nothing on stripe 0)."""
    return f',"stripe":{stripe}' if stripe else ""


def canonical_with(before: str, after: str, seq: int, stripe: int) -> bytes:
    return f"{before}{seq}{stripe_part(stripe)}{after}".encode("ascii")


def entry_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return hashlib.sha256(str(prev_hash).encode("utf-8") + canonical_bytes(row)).hexdigest()


@dataclass(frozen=True)
class Problem:
    """What is wrong, and where: ``seq`` is the position in the trail (the first
    bad entry), ``row_id`` the database id of the row found there, if any."""

    kind: str  # altered, link, gap, order, checkpoint, truncated, signature, anchor
    message: str
    seq: int | None = None
    row_id: Any = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ChainResult:
    count: int
    last_seq: int
    last_hash: str
    problem: Problem | None


def verify_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    expected: Mapping[int, tuple[int, str]] | None = None,
    start_seq: int = 1,
    prev_hash: str = GENESIS,
) -> ChainResult:
    """Walk rows in order; stop at the first bad one.

    ``expected`` maps a seq to (checkpoint number, signed hash).  ``start_seq``
    and ``prev_hash`` let a walk start after a trusted point (a verified
    checkpoint) instead of the genesis.
    """
    expected = expected or {}
    it: Iterator[Mapping[str, Any]] = iter(rows)
    seq, prev, count = start_seq, prev_hash, 0
    for row in it:
        problem = _check(row, seq, prev, it)
        if problem is None and seq in expected and expected[seq][1] != row["entry_hash"]:
            number = expected[seq][0]
            problem = Problem(
                "checkpoint",
                f"entry {seq} (id {row.get('id')}) does not match checkpoint {number}: "
                f"the trail was rewritten at or before entry {seq}",
                seq,
                row.get("id"),
            )
        if problem is not None:
            return ChainResult(count, seq - 1, prev, problem)
        prev = row["entry_hash"]
        seq += 1
        count += 1
    return ChainResult(count, seq - 1, prev, None)


def _check(
    row: Mapping[str, Any], seq: int, prev: str, rest: Iterator[Mapping[str, Any]]
) -> Problem | None:
    found, row_id = row["seq"], row.get("id")
    if found != seq:
        if isinstance(found, int) and found > seq:
            following = next(rest, None)
            if following is not None and following["seq"] == seq:
                return Problem(
                    "order",
                    f"entries {seq} and {found} out of order (entry {found}, id {row_id}, comes first)",
                    seq,
                    row_id,
                )
            return Problem(
                "gap",
                f"sequence gap after {seq - 1}: entry {seq} is missing (deleted or renumbered); found entry {found} (id {row_id})",
                seq,
                row_id,
            )
        return Problem(
            "order",
            f"entries {seq - 1} and {found} out of order: entry {found} (id {row_id}) found where entry {seq} belongs",
            seq,
            row_id,
        )
    if entry_hash(row["prev_hash"], row) != row["entry_hash"]:
        written_as = _written_as(row, seq)
        if written_as is not None:
            return Problem(
                "order",
                f"entries {seq} and {written_as} out of order: entry {seq} (id {row_id}) was written as entry {written_as}",
                seq,
                row_id,
            )
        return Problem(
            "altered", f"entry {seq} (id {row_id}): hash mismatch (content altered)", seq, row_id
        )
    if row["prev_hash"] != prev:
        return Problem(
            "link",
            f"entry {seq} (id {row_id}): previous-hash link broken (an entry before it was removed, inserted or replaced)",
            seq,
            row_id,
        )
    return None


def _written_as(row: Mapping[str, Any], seq: int) -> int | None:
    """The seq this row's hash was computed with, if it is near ``seq``: a sign
    that rows were renumbered or swapped rather than edited."""
    for other in range(max(1, seq - REORDER_WINDOW), seq + REORDER_WINDOW + 1):
        if (
            other != seq
            and entry_hash(row["prev_hash"], {**row, "seq": other}) == row["entry_hash"]
        ):
            return other
    return None
