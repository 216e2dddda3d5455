"""Entries that commit before they join the chain (radgov.core.audit.staging): on PostgreSQL an
outermost transaction stages its entries, commits, and the chain takes them right after; what
was staged is never lost, and whatever appends next (a writer, the minute task, verify) takes
it.  On SQLite the entries are appended inside the transaction that wrote them, as before."""

from __future__ import annotations

import json

import pytest
from django.db import DatabaseError, connection, transaction

from radgov.core.audit import record, staging
from radgov.core.audit.verify import verify_trail
from radgov.core.models import AuditEntry, AuditStaged
from radgov.core.services import service
from radgov.core.tasks import checkpoint_audit_trail

from .audit_support import audit_key  # noqa: F401

pytestmark = pytest.mark.usefixtures("audit_key")


def _entry(object_id: str) -> AuditEntry:
    return AuditEntry(
        action="execute",
        event_code="110100",
        object_type="test.staged",
        object_id=object_id,
        outcome="success",
    )


def _chained() -> list[str]:
    return list(AuditEntry.objects.order_by("seq").values_list("object_id", flat=True))


@pytest.mark.django_db
def test_staged_entries_join_the_chain_in_the_order_they_were_staged():
    first, second = [_entry("a1"), _entry("a2")], [_entry("b1")]
    with transaction.atomic():
        staging.stage(first)
        staging.stage(second)
    assert _chained() == [] and AuditStaged.objects.count() == 2

    assert staging.sequence() == 3
    assert _chained() == ["a1", "a2", "b1"]
    assert AuditStaged.objects.count() == 0
    # the writer's own objects come back numbered and hashed, as append() leaves them
    assert [e.seq for e in first + second] == [1, 2, 3]
    assert first[1].prev_hash == first[0].entry_hash and second[0].entry_hash
    assert staging.sequence() == 0
    assert verify_trail(record_use=False).ok


@pytest.mark.django_db
def test_entries_staged_by_another_process_are_appended_from_what_was_stored():
    fields = {name: getattr(_entry("elsewhere"), name) for name in staging.FIELDS}
    AuditStaged.objects.create(entries_json=json.dumps([fields]))
    assert staging.sequence() == 1
    stored = AuditEntry.objects.get()
    assert (stored.object_id, stored.action, stored.event_code) == (
        "elsewhere",
        "execute",
        "110100",
    )


@pytest.mark.django_db(transaction=True)
def test_an_outermost_service_on_postgresql_commits_first_and_is_chained_before_it_returns():
    @service
    def change() -> AuditEntry:
        entry = record(action="update", object_type="test.staged", object_id="svc")
        # inside the service nothing has reached the chain, staged or not
        assert not AuditEntry.objects.filter(object_id="svc").exists()
        return entry

    assert staging.staged_here() == (connection.vendor == "postgresql")
    entry = change()
    assert entry.seq == 1 and _chained() == ["svc"]
    assert AuditStaged.objects.count() == 0

    @service
    def refused() -> None:
        record(action="update", object_type="test.staged", object_id="rolled-back")
        raise ValueError("no")

    with pytest.raises(ValueError):
        refused()
    assert _chained() == ["svc"] and AuditStaged.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_failed_append_after_commit_loses_nothing_and_the_next_sequencer_takes_it(
    monkeypatch, caplog
):
    if connection.vendor != "postgresql":
        # SQLite appends inside the writer's transaction: there is no after-commit step
        assert not staging.staged_here()
        return
    real = staging._sequence_batch

    def broken() -> tuple[int, bool]:
        raise DatabaseError("the connection dropped")

    monkeypatch.setattr(staging, "_sequence_batch", broken)

    @service
    def change() -> str:
        record(action="update", object_type="test.staged", object_id="kept")
        return "done"

    assert change() == "done"  # committed work stands: the failure is logged, not raised
    assert "wait for the chain" in caplog.text
    assert _chained() == [] and AuditStaged.objects.count() == 1

    monkeypatch.setattr(staging, "_sequence_batch", real)
    checkpoint_audit_trail.call_local()  # the worker's minute task appends first
    assert _chained() == ["kept"] and AuditStaged.objects.count() == 0

    with transaction.atomic():
        staging.stage([_entry("after-a-crash")])
    report = verify_trail(record_use=False)  # verify appends what waits, then checks it
    assert report.ok and "after-a-crash" in _chained(), report.summary()
