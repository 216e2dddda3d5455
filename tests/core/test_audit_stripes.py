"""Striped chains (docs/decisions/0002-audit-at-volume.md): a trail of three stripes, each
entry appended to a chosen stripe, checkpointed once over all three heads; then tampering
across and within stripes, which `verify` must name with the stripe and the entry."""

from __future__ import annotations

import hashlib
import json
import random
import threading

import pytest
from django.db import connection, transaction

from radgov.core.audit.chain import HASHED_FIELDS, canonical_json, format_timestamp
from radgov.core.audit.checkpoint import make_checkpoint
from radgov.core.audit.head import lock_head, stripes
from radgov.core.audit.verify import verify_trail
from radgov.core.audit.writer import append, record
from radgov.core.models import AuditCheckpoint, AuditEntry

from .audit_support import audit_key  # noqa: F401

STRIPES = 3
BEFORE, AFTER = 30, 2  # entries per stripe before and after the checkpoint
EDIT = (
    "UPDATE core_auditentry SET detail_json = replace(detail_json, %s, %s) "
    "WHERE stripe = %s AND seq = %s"
)


def sql(statement: str, *params: object) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def entry(n: int) -> AuditEntry:
    return AuditEntry(
        action="execute",
        event_code="110100",
        object_type="test.stripe",
        object_id=str(n),
        outcome="success",
        detail_json=canonical_json({"n": n}),
        changes_json="{}",
    )


def append_round(start: int) -> None:
    for stripe in range(STRIPES):
        with transaction.atomic():
            append([entry(start + stripe)], stripe=stripe)


@pytest.fixture
def striped(db, audit_key, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(BEFORE):
            append_round(i * STRIPES)
        make_checkpoint()
        for i in range(BEFORE, BEFORE + AFTER):
            append_round(i * STRIPES)
    report = verify_trail(record_use=False)
    assert report.ok, report.summary()


def problems() -> str:
    report = verify_trail(record_use=False)
    assert not report.ok
    return report.summary()


def test_an_intact_striped_trail_verifies_and_its_checkpoint_signs_every_head(striped):
    report = verify_trail(record_use=False)
    assert report.entries == STRIPES * (BEFORE + AFTER) and report.stripes == STRIPES
    assert "(1..32 and 2 more stripes)" in report.summary()
    cp = AuditCheckpoint.objects.get()
    assert cp.seq == BEFORE
    assert [h[:2] for h in json.loads(cp.heads_json)] == [[1, 30], [2, 30]]


def test_stripe_0_hashes_as_before_stripes_and_other_stripes_hash_their_stripe(striped):
    """An existing one-chain trail becomes stripe 0 by the migration and still verifies:
    its entries' hash is the one-chain form (no stripe in it); stripe 1's includes it."""
    for stripe in (0, 1):
        row = AuditEntry.objects.filter(stripe=stripe, seq=5).values().get()
        doc = {name: row[name] for name in HASHED_FIELDS}
        doc["timestamp"] = format_timestamp(doc["timestamp"])
        doc["v"] = 1
        one_chain = hashlib.sha256(
            row["prev_hash"].encode() + canonical_json(doc).encode()
        ).hexdigest()
        assert (one_chain == row["entry_hash"]) is (stripe == 0)


def test_one_edited_byte_anywhere_in_any_stripe_is_named(striped):
    rng = random.Random(12)
    for _ in range(40):
        stripe, seq = rng.randrange(STRIPES), rng.randrange(1, BEFORE + AFTER + 1)
        sql(EDIT, "n", "m", stripe, seq)
        message = problems()
        name = f"stripe {stripe}: entry {seq} " if stripe else f"entry {seq} "
        assert name in message and "hash mismatch" in message, message
        sql(EDIT, "m", "n", stripe, seq)
    assert verify_trail(record_use=False).ok


def test_entries_swapped_across_stripes_are_caught(striped):
    sql("UPDATE core_auditentry SET stripe = 9 WHERE stripe = 1 AND seq = 10")
    sql("UPDATE core_auditentry SET stripe = 1 WHERE stripe = 2 AND seq = 10")
    sql("UPDATE core_auditentry SET stripe = 2 WHERE stripe = 9 AND seq = 10")
    message = problems()
    assert "stripe 1: entry 10 " in message and "stripe 2: entry 10 " in message


def test_an_entry_moved_to_the_end_of_another_stripe_is_caught(striped):
    sql("UPDATE core_auditentry SET stripe = 1, seq = 33 WHERE stripe = 2 AND seq = 32")
    message = problems()
    assert "stripe 1: entry 33 " in message and "hash mismatch" in message
    assert "stripe 2: trail ends at 31 but the chain head is at 32 (truncated)" in message


def test_one_stripe_truncated_before_the_checkpoint(striped):
    sql("DELETE FROM core_auditentry WHERE stripe = 1 AND seq > 20")
    sql("UPDATE core_audithead SET seq = 20 WHERE id = 2")
    assert "stripe 1: trail ends at 20 but checkpoint 1 covers 30 (truncated)" in problems()


def test_one_stripe_removed_with_its_head_is_caught_by_the_checkpoint(striped):
    sql("DELETE FROM core_auditentry WHERE stripe = 2")
    sql("DELETE FROM core_audithead WHERE id = 3")
    assert "stripe 2: trail ends at 0 but checkpoint 1 covers 30 (truncated)" in problems()


def test_a_stripe_deletion_and_insertion_are_caught(striped):
    sql("DELETE FROM core_auditentry WHERE stripe = 1 AND seq = 7")
    assert "stripe 1: sequence gap after 6: entry 7 is missing" in problems()


def test_a_checkpoint_whose_heads_were_edited_does_not_verify(striped):
    cp = AuditCheckpoint.objects.get()
    sql("UPDATE core_auditcheckpoint SET heads_json = %s", cp.heads_json.replace("30", "29", 1))
    assert "checkpoint 1 (at entry 30): signature does not verify" in problems()


def test_pruning_removes_every_stripe_up_to_the_checkpoint_and_still_verifies(striped):
    from radgov.core.audit import prune

    checkpoint = AuditCheckpoint.objects.get()
    assert prune.count_prunable(checkpoint) == STRIPES * BEFORE  # what the purge reports
    assert prune.prune(checkpoint) == STRIPES * BEFORE
    assert set(AuditEntry.objects.values_list("stripe", "seq")) >= {(1, 31), (2, 32)}
    assert not AuditEntry.objects.filter(stripe__in=(1, 2), seq__lte=BEFORE).exists()
    assert verify_trail(record_use=False).ok
    sql("DELETE FROM core_auditentry WHERE stripe = 2 AND seq = 31")  # not by a prune
    assert "stripe 2: sequence gap after 0: entry 1 is missing" in problems()


@pytest.mark.django_db(transaction=True)
def test_a_writer_takes_a_free_stripe_while_another_holds_one(audit_key):  # noqa: F811
    """PostgreSQL: with stripe 0's head held by an open transaction, an entry goes to
    stripe 1 at once.  SQLite serialises whole transactions, so it keeps one stripe."""
    if connection.vendor != "postgresql":
        assert stripes() == 1
        return
    assert record(action="execute", object_type="test.stripe").stripe == 0  # makes head 0
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                lock_head(0)
                held.set()
                done.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        written = record(action="execute", object_type="test.stripe")
    finally:
        done.set()
        holder.join(10)
    assert (written.stripe, written.seq) == (1, 1)
    assert verify_trail(record_use=False).ok
