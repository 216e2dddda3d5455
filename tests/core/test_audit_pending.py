"""Entries recorded inside a service join the chain when it commits: together, once, in
order, without what a rolled-back savepoint recorded."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from radgov.core.audit import record
from radgov.core.audit.chain import verify_rows
from radgov.core.audit.checkpoint import CHECKPOINT_EVERY
from radgov.core.models import AuditCheckpoint, AuditEntry
from radgov.core.services import service

from .audit_support import audit_key  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("audit_key")]


def entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.order_by("seq"))


def chain_intact() -> bool:
    return verify_rows(AuditEntry.objects.order_by("seq").values()).problem is None


def test_an_entry_recorded_in_a_service_is_numbered_when_the_service_commits():
    seen = {}

    @service
    def change():
        entry = record(action="update", object_type="test.thing", object_id="1")
        seen["inside"] = (entry.seq, AuditEntry.objects.count())
        return entry

    entry = change()
    assert seen["inside"] == (None, 0)  # not in the chain while the service works
    assert entry.seq == 1 and entry.pk is not None
    assert AuditEntry.objects.get(seq=1).entry_hash == entry.entry_hash


def test_a_service_appends_all_its_entries_in_one_insert_under_one_lock_at_the_end():
    inner = service(lambda i: record(action="update", object_type="test.thing", object_id=i))

    @service
    def outer():
        for i in range(5):
            inner(str(i))

    record(action="execute")  # the head row exists from the first entry on
    with CaptureQueriesContext(connection) as queries:
        outer()
    statements = [q["sql"] for q in queries.captured_queries]
    assert sum("INSERT INTO" in s and "core_auditentry" in s for s in statements) == 1
    assert (
        sum(s.startswith("SELECT") and "core_audithead" in s for s in statements) == 1
    )  # one lock
    rows = entries()[1:]
    assert [e.object_id for e in rows] == ["0", "1", "2", "3", "4"]
    assert len({e.timestamp for e in rows}) == 1  # joined the chain at one moment
    assert chain_intact()


def test_what_a_rolled_back_savepoint_recorded_is_dropped_with_it():
    @service
    def change():
        record(action="update", object_type="test.thing", object_id="kept-1")
        try:
            with transaction.atomic():
                record(action="update", object_type="test.thing", object_id="undone")
                with transaction.atomic():
                    record(action="update", object_type="test.thing", object_id="undone-inner")
                raise ValueError("the inner step failed")
        except ValueError:
            pass
        with transaction.atomic():  # a savepoint that is released keeps its entries
            record(action="update", object_type="test.thing", object_id="kept-2")
        record(action="update", object_type="test.thing", object_id="kept-3")

    change()
    assert [e.object_id for e in entries()] == ["kept-1", "kept-2", "kept-3"]
    assert [e.seq for e in entries()] == [1, 2, 3] and chain_intact()


def test_a_nested_service_that_fails_leaves_nothing_and_the_outer_one_goes_on():
    @service
    def failing():
        record(action="update", object_type="test.thing", object_id="undone")
        raise ValueError("refused")

    @service
    def outer():
        record(action="update", object_type="test.thing", object_id="before")
        with pytest.raises(ValueError):
            failing()
        record(action="update", object_type="test.thing", object_id="after")

    outer()
    assert [e.object_id for e in entries()] == ["before", "after"]


def test_a_failed_service_appends_nothing_and_leaves_no_gap():
    @service
    def failing():
        record(action="update", object_type="test.thing")
        raise ValueError("refused")

    with pytest.raises(ValueError):
        failing()
    assert not AuditEntry.objects.exists()
    assert record(action="execute").seq == 1


def test_an_append_that_passes_a_hundred_signs_a_checkpoint_at_its_end():
    @service
    def many(n):
        for i in range(n):
            record(action="execute", object_type="test.thing", object_id=str(i))

    many(CHECKPOINT_EVERY - 10)
    assert not AuditCheckpoint.objects.exists()
    many(25)
    (cp,) = AuditCheckpoint.objects.all()
    assert cp.seq == CHECKPOINT_EVERY + 15
    assert cp.entry_hash == AuditEntry.objects.get(seq=cp.seq).entry_hash
