"""Concurrent writers, each in its own thread with its own database connection,
leave one contiguous chain with no fork (SQLite: BEGIN IMMEDIATE; PostgreSQL:
the locked head row)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from radgov.core.audit import record
from radgov.core.audit.chain import GENESIS, verify_rows
from radgov.core.audit.checkpoint import make_checkpoint, read_anchor
from radgov.core.audit.verify import verify_trail
from radgov.core.models import AuditCheckpoint, AuditEntry
from radgov.core.services import service

from .audit_support import audit_key  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("audit_key")]
THREADS = 6
EACH = 25


def run_threads(work, count: int = THREADS) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def worker(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def assert_one_chain(total: int) -> None:
    rows = list(AuditEntry.objects.order_by("seq").values())
    assert [r["seq"] for r in rows] == list(range(1, total + 1))
    assert rows[0]["prev_hash"] == GENESIS
    for before, after in zip(rows, rows[1:], strict=False):
        assert after["prev_hash"] == before["entry_hash"], f"fork at {after['seq']}"
    assert verify_rows(rows).problem is None


def test_concurrent_single_entry_transactions_make_one_chain():
    def work(n: int) -> None:
        for i in range(EACH):
            record(action="execute", object_type="test.thread", object_id=f"{n}-{i}")

    assert run_threads(work) == []
    assert_one_chain(THREADS * EACH)
    assert {e.split("-")[0] for e in AuditEntry.objects.values_list("object_id", flat=True)} == {
        str(n) for n in range(THREADS)
    }


def test_concurrent_services_holding_the_head_across_work_make_one_chain():
    @service
    def change(n: int, i: int) -> None:
        record(action="update", object_type="test.thread", object_id=f"{n}-{i}-a")
        time.sleep(0.002)  # other writers are waiting on the head meanwhile
        record(action="update", object_type="test.thread", object_id=f"{n}-{i}-b")

    def work(n: int) -> None:
        for i in range(8):
            change(n, i)

    assert run_threads(work) == []
    assert_one_chain(THREADS * 8 * 2)
    # 96 entries: no automatic checkpoint yet; concurrent explicit ones yield exactly one
    errors = run_threads(lambda n: make_checkpoint())
    assert errors == [] and AuditCheckpoint.objects.count() == 1


def test_automatic_checkpoints_and_the_anchor_under_concurrency():
    def work(n: int) -> None:
        for i in range(20):
            record(action="execute", object_type="test.thread", object_id=f"{n}-{i}")

    assert run_threads(work) == []  # 120 entries: one automatic checkpoint at 100
    assert_one_chain(THREADS * 20)
    assert list(AuditCheckpoint.objects.values_list("number", "seq")) == [(1, 100)]
    anchor = read_anchor()
    assert anchor is not None and (anchor["number"], anchor["seq"]) == (1, 100)
    report = verify_trail()
    assert report.ok and report.anchor_checked, report.summary()


def test_a_service_holds_the_chain_from_its_start_so_writers_queue_behind_it():
    entered, results = threading.Event(), {}

    @service
    def slow_change() -> None:
        entered.set()
        time.sleep(0.3)
        results["service"] = record(action="update", object_type="test.slow").seq

    def work(n: int) -> None:
        if n == 0:
            slow_change()
        elif n == 1:
            entered.wait(5)
            results["writer"] = record(action="execute", object_type="test.fast").seq

    assert run_threads(work, count=2) == []
    assert (results["service"], results["writer"]) == (1, 2)
