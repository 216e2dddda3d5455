"""Tamper detection: the pure chain walk on a 10,000-entry trail (1,000 random
one-byte edits), then real edits to the database through `radgov audit verify`.

Every test runs twice: over a trail of single entries, and over a trail of batch entries
(each carrying a count, row keys and a digest, as `radgov.core.audit.batch` writes them).
The batches' own check against their rows is tested at the end."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from io import StringIO
from itertools import chain as concat
from itertools import islice

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, models, transaction
from django.utils import timezone

from radgov.core.audit import batch, record
from radgov.core.audit.chain import (
    GENESIS,
    HASHED_FIELDS,
    canonical_json,
    entry_hash,
    format_timestamp,
    verify_rows,
)
from radgov.core.audit.rows import FORM
from radgov.core.audit.verify import verify_trail
from radgov.core.models import AuditCheckpoint, AuditEntry
from radgov.core.services import service
from radgov.inventory.models import Product, VendorCompany

from .audit_support import audit_key  # noqa: F401

N = 10_000
FLIPS = 1_000
FLIPPABLE = (
    *HASHED_FIELDS,
    "prev_hash",
    "entry_hash",
)  # the row id is the database's key, not content


def batch_detail(seq: int, rng: random.Random) -> str:
    """The detail of a batch entry: what radgov.core.audit.batch writes."""
    low = seq * 1000 + rng.randrange(100)
    count = rng.randrange(1, 900)
    return canonical_json(
        {
            "source": f"feed-{seq}",
            "batch": {
                "form": FORM,
                "count": count,
                "created": count,
                "updated": 0,
                "digest": f"{rng.getrandbits(256):064x}",
                "fields": {"exams.inference": ["deployment_id", "exam_id", "score", "status"]},
                "rows": {"exams.inference": [[low, low + count - 1]]},
            },
        }
    )


def make_rows(n: int, rng: random.Random, *, kind: str = "entries") -> list[dict]:
    rows, prev = [], GENESIS
    start = datetime(2026, 3, 1, tzinfo=UTC)
    actions = ["create", "update", "read", "delete", "login", "export"]
    for seq in range(1, n + 1):
        row = {
            "id": seq + 500,
            "seq": seq,
            "timestamp": start + timedelta(seconds=seq, microseconds=rng.randrange(10**6)),
            "actor_id": rng.choice([None, 1, 2, 17, 340]),
            "actor_name": rng.choice(["alice", "bob", "os:root", ""]),
            "actor_role": rng.choice(["physician", "informatics", ""]),
            "client_address": rng.choice(["10.0.0.7", "2001:db8::1", ""]),
            "request_id": f"{rng.getrandbits(128):032x}",
            "channel": rng.choice(["web", "api", "cli"]),
            "action": rng.choice(actions),
            "event_code": str(rng.randrange(110100, 110115)),
            "object_type": "inventory.product",
            "object_id": str(rng.randrange(1, 10**6)),
            "outcome": rng.choice(["success", "failure", "denied"]),
            "detail_json": canonical_json({"n": seq, "note": "é"}),
            "changes_json": canonical_json({"name": ["old", "new"]}),
            "prev_hash": prev,
        }
        if kind == "batches":
            row.update(
                action="import",
                object_type="exams.inference",
                object_id="",
                detail_json=batch_detail(seq, rng),
                changes_json="{}",
            )
        row["entry_hash"] = prev = entry_hash(prev, row)
        rows.append(row)
    return rows


def flip_one_byte(row: dict, rng: random.Random) -> tuple[str, dict]:
    """Change one character of one field (ASCII bit 0 flipped: digits stay digits)."""
    while True:
        name = rng.choice(FLIPPABLE)
        value = row[name]
        if value in (None, ""):
            continue
        text = format_timestamp(value) if name == "timestamp" else str(value)
        positions = (
            [i for i, c in enumerate(text) if c.isdigit()]
            if name == "timestamp"
            else range(len(text))
        )
        i = rng.choice(list(positions))
        changed = text[:i] + chr(ord(text[i]) ^ 1) + text[i + 1 :]
        if name == "timestamp":
            try:
                new = datetime.strptime(changed, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
            except ValueError:
                continue  # not a date any more (e.g. month 13): pick another byte
        elif isinstance(value, int):
            new = int(changed)
        else:
            new = changed
        return name, {**row, name: new}


KINDS = ["entries", "batches"]


@pytest.fixture(scope="module", params=KINDS)
def trail(request) -> list[dict]:
    return make_rows(N, random.Random(20261123), kind=request.param)


def test_an_intact_10000_entry_trail_verifies(trail):
    result = verify_rows(trail)
    assert result.problem is None
    assert (result.count, result.last_seq, result.last_hash) == (N, N, trail[-1]["entry_hash"])


def test_one_edited_byte_at_1000_random_positions_is_the_first_bad_entry(trail):
    """Each edit leaves every earlier entry as it was, and the intact trail
    verifies from the genesis (test above), so a walk that starts from a
    trusted earlier entry is the same walk as one from the genesis up to the
    edit; starting up to 300 entries before it keeps 1,000 walks fast.  Every
    25th walk starts at the genesis anyway."""
    rng = random.Random(7)
    for k in range(FLIPS):
        p = rng.randrange(N)
        name, edited = flip_one_byte(trail[p], rng)
        start = 0 if k % 25 == 0 else max(0, p - rng.randrange(300))
        rows = concat(islice(trail, start, p), [edited], islice(trail, p + 1, None))
        prev = trail[start - 1]["entry_hash"] if start else GENESIS
        result = verify_rows(rows, start_seq=start + 1, prev_hash=prev)
        assert result.problem is not None, f"edit of {name} in entry {p + 1} not caught"
        assert (result.problem.seq, result.problem.row_id) == (p + 1, trail[p]["id"]), (
            name,
            str(result.problem),
        )
        assert result.count == p - start


@pytest.mark.parametrize("seq", [1, 2, 5000, N - 1])
def test_a_deletion_is_a_gap(trail, seq):
    rows = trail[: seq - 1] + trail[seq:]
    problem = verify_rows(rows).problem
    assert problem.kind == "gap" and problem.seq == seq
    assert f"sequence gap after {seq - 1}" in problem.message


def test_a_swap_is_out_of_order(trail):
    rows = trail[:4999] + [trail[5000], trail[4999]] + trail[5001:]
    problem = verify_rows(rows).problem
    assert problem.kind == "order" and problem.seq == 5000
    assert "entries 5000 and 5001 out of order" in problem.message


def test_an_insertion_breaks_the_chain(trail):
    forged = {**trail[99], "seq": 100, "object_id": "666"}
    forged["entry_hash"] = entry_hash(forged["prev_hash"], forged)  # a well-formed forgery
    renumbered = [{**r, "seq": r["seq"] + 1} for r in trail[99:200]]
    problem = verify_rows(trail[:99] + [forged] + renumbered).problem
    assert problem.seq == 101  # the first entry that no longer fits
    assert "out of order" in problem.message or "link" in problem.message


def test_a_truncation_is_caught_by_a_later_checkpoint(trail):
    expected = {9500: (95, trail[9499]["entry_hash"])}
    result = verify_rows(trail[:9000], expected=expected)
    assert result.problem is None and result.last_seq == 9000  # the walk alone cannot tell...
    # ...so verify_trail compares it with the last checkpoint (see the database tests below)


# --- the database and the command -------------------------------------------------------------------


def bulk_insert(rows: list[dict]) -> None:
    """Test-only path: a plain QuerySet around the append-only manager."""
    models.QuerySet(AuditEntry).bulk_create([AuditEntry(**r) for r in rows], batch_size=1000)


def run_verify() -> str:
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    return out.getvalue()


def verify_fails() -> str:
    with pytest.raises(CommandError) as caught:
        run_verify()
    assert caught.value.returncode == 1
    return str(caught.value)


def sql(statement: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def feed_company() -> VendorCompany:
    """The products' company, written in SQL outside the trail, so the trail holds only the
    entries a test writes."""
    sql(
        "INSERT INTO inventory_vendorcompany (name, created_at) VALUES (%s, %s)",
        "feed",
        timezone.now(),
    )
    return VendorCompany.objects.get(name="feed")


@service
def ingest_products(i: int, company: VendorCompany) -> None:
    """One batch entry: two products written in bulk, as an ingest would."""
    with batch(action="import", detail={"source": f"feed-{i}"}):
        Product.objects.bulk_create(
            Product(
                company=company, name=f"p{i}-{j}", category="other", regulatory_pathway="not_fda"
            )
            for j in range(2)
        )


@pytest.fixture(params=KINDS)
def db_trail(db, request, django_capture_on_commit_callbacks):
    """250 entries (single entries by record(), or batches of rows each written by a service):
    checkpoints at 100 and 200, anchor file written.  The value: the column whose text holds
    the entry's number (``changes_json`` of a single entry, ``detail_json`` of a batch)."""
    request.getfixturevalue("audit_key")
    company = feed_company()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for i in range(250):
            if request.param == "batches":
                ingest_products(i, company)
            else:
                record(
                    action="update",
                    object_type="inventory.product",
                    object_id=str(i),
                    changes={"n": [i, i + 1]},
                )
    assert AuditCheckpoint.objects.count() == 2
    return "detail_json" if request.param == "batches" else "changes_json"


@pytest.mark.usefixtures("audit_key")
def test_the_10000_entry_trail_verifies_from_the_database_and_an_edit_is_caught(db, trail):
    bulk_insert(trail)  # entries only: their batches name no rows in this database
    report = verify_trail(record_use=False, batch_rows=False)
    assert report.ok and report.entries == N, report.summary()
    sql("UPDATE core_auditentry SET actor_name = 'mallory' WHERE seq = 7777")
    report = verify_trail(record_use=False, batch_rows=False)
    assert [p.seq for p in report.problems] == [7777]
    assert (
        "entry 7777" in report.summary() and "hash mismatch (content altered)" in report.summary()
    )


def test_intact_exits_0_with_a_summary_and_the_check_is_audited(db_trail):
    assert "audit trail intact: 250 entries" in run_verify()
    last = AuditEntry.objects.order_by("-seq").first()
    assert (last.action, last.event_code, last.detail["purpose"]) == ("read", "110101", "verify")
    assert "251 entries" in run_verify()  # the recorded check is part of the trail


def test_edited_byte(db_trail):
    column = db_trail  # one of two fixed column names, never input
    sql(f"UPDATE core_auditentry SET {column} = replace({column}, '123', '124') WHERE seq = 124")  # noqa: S608
    message = verify_fails()
    assert "entry 124" in message and "hash mismatch" in message
    assert (
        AuditEntry.objects.order_by("-seq").first().outcome == "failure"
    )  # the failed check is recorded


def test_deleted_entry(db_trail):
    sql("DELETE FROM core_auditentry WHERE seq = 50")
    assert "sequence gap after 49" in verify_fails()


def test_inserted_entry(db_trail):
    sql("UPDATE core_auditentry SET seq = seq + 1000000 WHERE seq > 60")
    sql("UPDATE core_auditentry SET seq = seq - 999999 WHERE seq > 1000000")
    row = AuditEntry.objects.filter(seq=60).values().first()
    row.update(id=None, seq=61, object_id="forged", entry_hash="f" * 64)
    bulk_insert([row])
    assert "entry 61" in verify_fails()


def test_inserted_entry_with_the_chain_rehashed_after_it(db_trail):
    rows = list(AuditEntry.objects.order_by("seq").values())
    forged = {**rows[59], "id": None, "object_id": "forged"}
    rehashed = rows[:60] + [forged] + rows[60:]
    prev = rows[58]["entry_hash"]
    for seq, row in enumerate(rehashed[59:], start=60):
        row.update(seq=seq, prev_hash=prev)
        row["entry_hash"] = prev = entry_hash(prev, row)
    sql("DELETE FROM core_auditentry WHERE seq >= 60")
    bulk_insert([{**r, "id": None} for r in rehashed[59:]])
    message = verify_fails()
    assert "entry 100" in message and "does not match checkpoint 1" in message


def test_swapped_entries(db_trail):
    sql("UPDATE core_auditentry SET seq = 0 WHERE seq = 12")
    sql("UPDATE core_auditentry SET seq = 12 WHERE seq = 13")
    sql("UPDATE core_auditentry SET seq = 13 WHERE seq = 0")
    assert "entries 12 and 13 out of order" in verify_fails()


def test_truncated_before_the_last_checkpoint(db_trail):
    sql("DELETE FROM core_auditentry WHERE seq > 150")
    assert "trail ends at 150 but checkpoint 2 covers 200 (truncated)" in verify_fails()


def test_truncated_after_the_last_checkpoint(db_trail):
    sql("DELETE FROM core_auditentry WHERE seq > 210")
    assert "trail ends at 210 but the chain head is at 250 (truncated)" in verify_fails()


def test_truncated_with_its_checkpoints_and_head_is_caught_by_the_anchor_file(db_trail):
    sql("DELETE FROM core_auditentry WHERE seq > 150")
    sql("DELETE FROM core_auditcheckpoint WHERE number = 2")
    sql("UPDATE core_audithead SET seq = 150")
    message = verify_fails()
    assert "anchor file records checkpoint 2" in message and "last checkpoint is 1" in message


def test_forged_checkpoint_signature(db_trail):
    sql("UPDATE core_auditcheckpoint SET signature = %s WHERE number = 1", "ab" * 64)
    assert "checkpoint 1 (at entry 100): signature does not verify" in verify_fails()


def test_checkpoint_signed_by_an_unknown_key(db_trail):
    sql("UPDATE core_auditcheckpoint SET key_id = 'other' WHERE number = 2")
    assert "checkpoint 2 (at entry 200): signature does not verify" in verify_fails()


def test_deleted_checkpoint(db_trail):
    sql("DELETE FROM core_auditcheckpoint WHERE number = 1")
    assert "checkpoint 1 is missing" in verify_fails()


@pytest.mark.usefixtures("audit_key")
def test_checkpoint_command(db):
    record(action="execute")
    out = StringIO()
    call_command("audit", "checkpoint", stdout=out)
    assert "checkpoint 1 signed at entry 1" in out.getvalue()
    out = StringIO()
    call_command("audit", "checkpoint", stdout=out)
    assert "no new entries" in out.getvalue()


def test_an_unreadable_anchor_file_is_reported(db_trail, settings):
    (settings.DATA_DIR / "audit-anchor.json").write_text("{not json")
    assert "anchor file" in verify_fails()


# --- the batches against their rows -------------------------------------------------------------


@pytest.fixture
def batch_trail(db, request, django_capture_on_commit_callbacks):
    request.getfixturevalue("audit_key")
    company = feed_company()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for i in range(250):
            ingest_products(i, company)


def products_of(seq: int) -> list[int]:
    (label_ranges,) = AuditEntry.objects.get(seq=seq).detail["batch"]["rows"].values()
    return [pk for low, high in label_ranges for pk in range(low, high + 1)]


def test_every_batch_matches_its_rows(batch_trail):
    assert "batches matching their rows: 250, superseded by later writes: 0" in run_verify()


def test_a_row_edited_outside_the_trail_is_named_by_its_batch(batch_trail):
    sql("UPDATE inventory_product SET description = 'x' WHERE id = %s", products_of(124)[1])
    message = verify_fails()
    assert "entry 124: the rows of its batch no longer match its digest" in message
    assert "audit trail NOT intact" in message


def test_a_row_removed_outside_the_trail_is_named_by_its_batch(batch_trail):
    sql("DELETE FROM inventory_product WHERE id = %s", products_of(77)[0])
    assert "entry 77: its batch wrote 2 inventory.product rows but 1 stand" in verify_fails()


def test_a_row_written_again_by_a_later_audited_write_supersedes_its_batch(batch_trail):
    @service
    def rename(pk: int) -> None:
        row = Product.objects.get(pk=pk)
        row.description = "changed through a service"
        row.save()

    rename(products_of(124)[1])
    service(lambda: Product.objects.get(pk=products_of(30)[0]).delete())()
    assert "batches matching their rows: 248, superseded by later writes: 2" in run_verify()


def test_chain_only_does_not_read_the_rows(batch_trail):
    sql("UPDATE inventory_product SET description = 'x' WHERE id = %s", products_of(124)[1])
    out = StringIO()
    call_command("audit", "verify", "--chain-only", stdout=out)
    assert "batches not checked against their rows" in out.getvalue()
