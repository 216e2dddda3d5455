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
from radgov.core.models import AuditBypassError, AuditEntry
from radgov.core.models.ingest import drawn_together
from radgov.core.services import service

from .audit_support import (  # noqa: F401
    EVENT_COLUMNS,
    audit_key,
    define_event_model,
    scratch_tables,
)

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
    assert spec["fields"]["core.audittestevent"] == sorted(EVENT_COLUMNS)
    assert spec["digest"] == recomputed(entry)


def test_a_batch_takes_no_statement_per_row():
    ingest(events(1))  # the chain's head exists
    with CaptureQueriesContext(connection) as queries:
        ingest(events(300))
    statements = [q["sql"] for q in queries.captured_queries]
    trail = [s for s in statements if "core_auditentry" in s or "core_audithead" in s]
    on_rows = [s.split()[0] for s in statements if "audittestevent" in s and s not in trail]
    assert set(on_rows) == {"INSERT"}  # never read back: every value is stored as given
    on_trail = [s.split()[0] for s in trail]
    # lock the head, one entry, move the head (on PostgreSQL all three in one statement)
    appended = ["WITH"] if connection.vendor == "postgresql" else ["SELECT", "INSERT", "UPDATE"]
    assert on_trail == appended


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


# --- ingest: plain rows at machine pace ---------------------------------------------------------

COLUMNS = ["exam_id", "deployment_id", "sop_instance_uid", "status", "score", "received_at"]


def rows(n: int, start: int = 0) -> list[tuple]:
    return [
        (start + i, 3, f"1.2.826.0.1.{start + i}", "queued", None if i % 5 else 0.25, T0)
        for i in range(n)
    ]


def ingest_rows(columns, data):
    @service
    def run():
        with batch(action="import"):
            return m.Event.objects.ingest(columns, data)

    return run()


def test_ingest_stores_plain_rows_as_one_entry_whose_digest_recomputes_from_the_rows():
    data = rows(300)
    data[7] = (
        *data[7][:5],
        dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    )
    keys = ingest_rows([*COLUMNS, "outputs"], [(*r, {"p": 0.9, "labels": ["ich"]}) for r in data])
    (entry,) = batch_entries()
    spec = entry.detail["batch"]
    assert len(keys) == 300 and keys == sorted(keys)
    assert (spec["count"], spec["created"]) == (300, 300)
    assert spec["rows"] == {"core.audittestevent": [[keys[0], keys[-1]]]}
    assert spec["digest"] == recomputed(entry)
    stored = m.Event.objects.get(pk=keys[7])
    assert (stored.exam_id, stored.sop_instance_uid, stored.outputs) == (
        7,
        "1.2.826.0.1.7",
        {"p": 0.9, "labels": ["ich"]},
    )
    assert stored.received_at == dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC)


def test_ingested_text_with_copy_escapes_and_json_of_every_kind_is_stored_as_given():
    """COPY's text format gives a backslash, a tab, a newline and a carriage return meanings
    of their own: values holding them (and JSON whose text holds escapes) must arrive as
    they were sent, and the digest must recompute from what was stored."""
    tricky = ["tab\there", "line\nbreak", "back\\slash \\N", "cr\rlf", "é ü 中", "\\", ""]
    outputs = [
        {"note": 'a "quoted"\tvalue\n', "path": "C:\\scans"},
        ["ich", 1, 2.5, True, None],
        "a JSON string",
        7,
        {"nested": {"é": ["ü"]}},
        {},
        False,
    ]
    data = [
        (i, 3, uid, "queued", None if i % 2 else 0.1 + i, T0, out)
        for i, (uid, out) in enumerate(zip(tricky, outputs, strict=True))
    ]
    keys = ingest_rows([*COLUMNS, "outputs"], data)
    stored = {e.pk: e for e in m.Event.objects.filter(pk__in=keys)}
    for key, row in zip(keys, data, strict=True):
        event = stored[key]
        assert (event.sop_instance_uid, event.score, event.outputs) == (row[2], row[4], row[6])
    (entry,) = batch_entries()
    assert entry.detail["batch"]["digest"] == recomputed(entry)


def test_rows_ingested_then_changed_or_rolled_back_in_the_block_count_as_they_stand():
    @service
    def run():
        with batch(action="import"):
            kept = m.Event.objects.ingest(COLUMNS, rows(3))
            try:
                with transaction.atomic():
                    m.Event.objects.ingest(COLUMNS, rows(2, start=50))
                    raise RuntimeError("undone")
            except RuntimeError:
                pass
            changed = m.Event.objects.get(pk=kept[1])
            changed.status = "inferred"
            changed.save()
            m.Event.objects.ingest(COLUMNS, rows(2, start=90))
        return kept

    kept = run()
    (entry,) = batch_entries()
    spec = entry.detail["batch"]
    assert (spec["count"], spec["created"]) == (5, 5)
    assert m.Event.objects.count() == 5 and not m.Event.objects.filter(
        exam_id__gte=50, exam_id__lt=90
    )
    assert m.Event.objects.get(pk=kept[1]).status == "inferred"
    assert spec["digest"] == recomputed(entry)


def test_ingest_fills_left_out_columns_with_their_defaults():
    keys = ingest_rows(COLUMNS, rows(3))
    assert [e.outputs for e in m.Event.objects.filter(pk__in=keys)] == [{}, {}, {}]
    (entry,) = batch_entries()
    assert entry.detail["batch"]["digest"] == recomputed(entry)


def test_ingest_takes_no_statement_per_row_and_on_postgresql_copies_the_rows():
    ingest_rows(COLUMNS, rows(1))  # the chain's head exists
    with CaptureQueriesContext(connection) as queries:
        ingest_rows(COLUMNS, rows(2000, start=10))
    statements = [q["sql"] for q in queries.captured_queries]
    on_rows = [s for s in statements if "core_audittestevent" in s and "core_auditentry" not in s]
    if connection.vendor == "postgresql":
        assert len(on_rows) == 1 and "nextval" in on_rows[0]  # the rows themselves: COPY
    else:
        assert {s.split()[0] for s in on_rows} == {"INSERT"}  # bulk_create, never read back
        assert len(on_rows) < 20
    assert m.Event.objects.filter(exam_id__gte=10).count() == 2000


def test_keys_drawn_together_go_to_the_next_ingest_of_that_many_rows():
    ingest_rows(COLUMNS, rows(1))  # the chain's head exists

    @service
    def run(drawn, start):
        with batch(action="import"), drawn_together({m.Event: drawn}):
            first = m.Event.objects.ingest(COLUMNS, rows(3, start=start))
            second = m.Event.objects.ingest(COLUMNS, rows(2, start=start + 10))  # none left
        return first, second

    for drawn, start in ((3, 100), (5, 200)):  # 5: not the first's count, which draws its own
        with CaptureQueriesContext(connection) as queries:
            first, second = run(drawn, start)
        draws = [q["sql"] for q in queries.captured_queries if "nextval" in q["sql"]]
        assert len(draws) == (0 if connection.vendor == "sqlite" else 2 if drawn == 3 else 3)
        assert first == sorted(first) and second == sorted(second) and max(first) < min(second)
        stored = dict(m.Event.objects.filter(pk__in=first + second).values_list("pk", "exam_id"))
        assert [stored[k] - start for k in first + second] == [0, 1, 2, 10, 11]


def test_a_value_not_stored_exactly_takes_the_slow_way_with_the_same_outcome():
    keys = ingest_rows(COLUMNS, [(*r[:4], 1, r[5]) for r in rows(4)])  # an int in a float column
    (entry,) = batch_entries()
    assert entry.detail["batch"]["count"] == 4
    assert entry.detail["batch"]["digest"] == recomputed(entry)
    assert [e.score for e in m.Event.objects.filter(pk__in=keys)] == [1.0] * 4


@pytest.mark.parametrize(
    ("columns", "data", "message"),
    [
        ([*COLUMNS, "patient_name"], [(*rows(1)[0], "x")], "has no column patient_name"),
        (COLUMNS[1:], [r[1:] for r in rows(2)], "need a value for exam_id"),
        (COLUMNS, [*rows(2), rows(1)[0][:5]], "has 5 values for 6 columns"),
        ([*COLUMNS, "exam_id"], [(*r, 1) for r in rows(1)], "given a column twice"),
    ],
)
def test_bad_rows_are_refused_by_name_and_nothing_is_written(columns, data, message):
    with pytest.raises(ValueError, match=message):
        ingest_rows(columns, data)
    assert not m.Event.objects.exists() and not AuditEntry.objects.exists()


def test_ingest_outside_a_batch_or_a_service_is_refused():
    @service
    def unbatched():
        m.Event.objects.ingest(COLUMNS, rows(1))

    with pytest.raises(RuntimeError, match="inside an audit batch"):
        unbatched()
    with pytest.raises(AuditBypassError):
        m.Event.objects.ingest(COLUMNS, rows(1))
    assert not m.Event.objects.exists()
