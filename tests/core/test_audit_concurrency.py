"""Concurrent writers, each in its own thread with its own database connection,
leave one contiguous chain with no fork (SQLite: BEGIN IMMEDIATE; PostgreSQL:
the locked head row)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

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
    """``total`` entries, and each stripe one contiguous chain with no fork (SQLite has one
    stripe; PostgreSQL spreads concurrent appends over several)."""
    stripes = sorted(set(AuditEntry.objects.values_list("stripe", flat=True)))
    assert connection.vendor == "postgresql" or stripes == [0]
    assert AuditEntry.objects.count() == total
    for stripe in stripes:
        rows = list(AuditEntry.objects.filter(stripe=stripe).order_by("seq").values())
        assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
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


def test_automatic_checkpoints_and_the_anchor_under_concurrency(settings):
    settings.AUDIT_STRIPES = 1  # one stripe: its 100th entry is the 100th of the trail

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


def test_only_the_append_is_serialised_so_a_slow_service_does_not_hold_up_other_writers():
    """On PostgreSQL a writer commits while a slow service is still working, and the
    service's entry joins the chain after it, at its own commit.  SQLite serialises whole
    transactions (BEGIN IMMEDIATE), so there the writer waits for the service."""
    entered, results = threading.Event(), {}

    @service
    def slow_change():
        entry = record(action="update", object_type="test.slow")
        entered.set()
        time.sleep(0.3)
        return entry

    def work(n: int) -> None:
        if n == 0:
            results["service"] = slow_change().seq
        elif n == 1:
            entered.wait(5)
            results["writer"] = record(action="execute", object_type="test.fast").seq

    assert run_threads(work, count=2) == []
    serialised = connection.vendor == "sqlite"
    assert (results["service"], results["writer"]) == ((1, 2) if serialised else (2, 1))
    assert_one_chain(2)


def test_concurrent_changes_to_one_row_are_chained_in_commit_order_with_true_before_values():
    """Each service locks the row (select_for_update, so save() reads nothing before the
    write), adds one to it and saves.  In seq order the recorded changes must go 0 -> 1,
    1 -> 2, ...: every before is what the previous writer stored."""
    from radgov.inventory.models import Product, VendorCompany

    product = service(
        lambda: Product.objects.create(
            company=VendorCompany.objects.create(name="V"),
            name="counter",
            category="other",
            regulatory_pathway="not_fda",
            description="0",
        )
    )()

    @service
    def bump() -> None:
        row = Product.objects.select_for_update().get(pk=product.pk)
        row.description = str(int(row.description) + 1)
        row.save()

    def work(n: int) -> None:
        for _ in range(10):
            bump()

    assert run_threads(work) == []
    changes = [
        e.changes["description"]
        for e in AuditEntry.objects.filter(action="update", object_id=str(product.pk)).order_by(
            "seq"
        )
    ]
    assert changes == [[str(k), str(k + 1)] for k in range(THREADS * 10)]
    assert_one_chain(2 + THREADS * 10)  # the company, the product, the bumps
