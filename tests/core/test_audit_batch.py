"""``radgov.core.audit.batch``: one entry for a bulk write, its count and keys, and a digest
that recomputes from the rows as the database holds them."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext

from radgov.core.audit import batch, record
from radgov.core.audit.chain import verify_rows
from radgov.core.audit.rows import digest
from radgov.core.models import AuditEntry
from radgov.core.services import service

from .audit_support import audit_key, define_event_model, scratch_tables  # noqa: F401

m = SimpleNamespace()
T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module", autouse=True)
def tables(django_db_setup, django_db_blocker):
    m.Event = define_event_model()
    with django_db_blocker.unblock(), scratch_tables([m.Event]):
        yield


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("audit_key")]


def events(n: int, start: int = 0, **overrides) -> list:
    return [
        m.Event(
            exam_id=start + i,
            deployment_id=3,
            sop_instance_uid=f"1.2.826.0.1.{start + i}",
            status="queued",
            score=None if i % 5 == 0 else 0.5 + i / 1000,
            received_at=T0 + dt.timedelta(seconds=i),
            outputs={"finding": "ich", "p": 0.9} if i % 2 else {},
            **overrides,
        )
        for i in range(n)
    ]


def ingest(objs, **options):
    @service
    def run():
        with batch(**options):
            return m.Event.objects.bulk_create(objs)

    return run()


def batch_entries() -> list[AuditEntry]:
    return [e for e in AuditEntry.objects.order_by("seq") if "batch" in e.detail]


def recomputed(entry: AuditEntry) -> str:
    """The digest from the rows as stored, read independently of the writer."""
    spec = entry.detail["batch"]
    found = {}
    for label, ranges in spec["rows"].items():
        where = models.Q()
        for lo, hi in ranges:
            where |= models.Q(pk__range=(lo, hi))
        found[label] = {
            pk: values
            for pk, *values in m.Event.objects.filter(where).values_list(
                "pk", *spec["fields"][label]
            )
        }
    return digest(found)


def test_a_bulk_insert_is_one_entry_with_count_keys_and_a_digest_of_the_stored_rows():
    made = ingest(events(250), action="import", detail={"source": "feed-7"})
    (entry,) = AuditEntry.objects.all()
    spec = entry.detail["batch"]
    pks = sorted(e.pk for e in made)
    assert (entry.action, entry.event_code, entry.object_type) == (
        "import",
        "110107",
        "core.audittestevent",
    )
    assert entry.detail["source"] == "feed-7"
    assert (spec["count"], spec["created"], spec["updated"]) == (250, 250, 0)
    assert spec["rows"] == {"core.audittestevent": [[pks[0], pks[-1]]]}
    assert spec["fields"]["core.audittestevent"] == sorted(
        [
            "exam_id",
            "deployment_id",
            "sop_instance_uid",
            "status",
            "score",
            "received_at",
            "outputs",
        ]
    )
    assert spec["digest"] == recomputed(entry)


def test_a_batch_takes_no_statement_per_row():
    ingest(events(1))  # the chain's head exists
    with CaptureQueriesContext(connection) as queries:
        ingest(events(300))
    statements = [q["sql"] for q in queries.captured_queries]
    on_rows = [s.split()[0] for s in statements if "audittestevent" in s]
    assert set(on_rows) == {"INSERT"}  # never read back: every value is stored as given
    on_trail = [s.split()[0] for s in statements if "core_auditentry" in s or "core_audithead" in s]
    assert on_trail == ["SELECT", "INSERT", "UPDATE"]  # lock the head, one entry, move the head


def test_every_kind_of_write_in_a_block_joins_its_one_entry_with_the_final_values():
    first = ingest(events(3))

    @service
    def work():
        with batch(action="update", detail={"message": "ORU-1"}):
            a, b, c = (m.Event.objects.get(pk=e.pk) for e in first)
            a.status = "sent"
            a.save()
            a.status = "inferred"  # written twice: counted once, with what it holds last
            a.save(update_fields=["status"])
            b.score = 0.25
            m.Event.objects.bulk_update([b], ["score"])
            m.Event.objects.filter(pk=c.pk).update(status="failed")
            m.Event.objects.create(
                **{
                    k: v
                    for k, v in vars(events(1, 99)[0]).items()
                    if not k.startswith("_") and k != "id"
                }
            )

    work()
    entry = batch_entries()[-1]
    spec = entry.detail["batch"]
    assert (spec["count"], spec["created"], spec["updated"]) == (4, 1, 3)
    assert entry.detail["message"] == "ORU-1" and spec["digest"] == recomputed(entry)
    assert len(batch_entries()) == 2 and AuditEntry.objects.count() == 2  # no entry per row


def test_rows_written_in_a_rolled_back_savepoint_are_left_out():
    @service
    def work():
        with batch():
            m.Event.objects.bulk_create(events(2))
            try:
                with transaction.atomic():
                    m.Event.objects.bulk_create(events(3, 10))
                    raise ValueError("a duplicate message: skipped")
            except ValueError:
                pass
            m.Event.objects.bulk_create(events(1, 20))

    work()
    (entry,) = batch_entries()
    assert entry.detail["batch"]["count"] == 3 == m.Event.objects.count()
    assert entry.detail["batch"]["digest"] == recomputed(entry)


def test_deletions_in_a_batch_keep_their_own_entries_and_nested_blocks_their_own_rows():
    made = ingest(events(3))

    @service
    def work():
        with batch(detail={"outer": True}):
            m.Event.objects.bulk_create(events(2, 50))
            with batch(detail={"inner": True}):
                m.Event.objects.bulk_create(events(4, 60))
            m.Event.objects.filter(pk=made[0].pk).delete()

    work()
    deletes = list(AuditEntry.objects.filter(action="delete"))
    assert [(e.object_id, e.changes["status"]) for e in deletes] == [
        (str(made[0].pk), ["queued", None])
    ]
    counts = {
        ("inner" if "inner" in e.detail else "outer"): e.detail["batch"]["count"]
        for e in batch_entries()[1:]
    }
    assert counts == {"inner": 4, "outer": 2}


def test_a_block_that_writes_nothing_records_nothing_and_one_outside_a_service_is_refused():
    service(lambda: batch().__enter__)()  # opened, never closed: nothing written
    assert not AuditEntry.objects.exists()

    @service
    def nothing():
        with batch():
            pass

    nothing()
    assert not AuditEntry.objects.exists()
    with pytest.raises(RuntimeError, match="inside a service"), batch():
        pass


def test_a_failed_block_records_nothing():
    @service
    def failing():
        with batch():
            m.Event.objects.bulk_create(events(2))
            raise ValueError("bad row 2, column score")

    with pytest.raises(ValueError):
        failing()
    assert not AuditEntry.objects.exists() and not m.Event.objects.exists()


def test_batches_and_single_entries_make_one_intact_chain():
    ingest(events(5))
    record(action="read", object_type="core.audittestevent", object_id="1")
    ingest(events(5, 100))
    assert verify_rows(AuditEntry.objects.order_by("seq").values()).problem is None
