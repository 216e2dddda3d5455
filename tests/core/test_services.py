"""@service and AuditedModel: every way to write an audited model outside a
service raises, and inside one every write leaves its audit entries."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext

from radgov.core import keys
from radgov.core.audit.chain import verify_rows
from radgov.core.fields import EncryptedTextField
from radgov.core.models import AuditBypassError, AuditedModel, AuditEntry
from radgov.core.models.base import diff
from radgov.core.services import in_service, service

from .audit_support import audit_key, scratch_tables  # noqa: F401

LABEL = "core"
m = SimpleNamespace()  # the test models, defined only while this module runs


class SecretField(models.CharField):
    audit_redact = True  # what encrypted fields declare


def define_models() -> list[type[models.Model]]:
    """Throw-away models of the core app (so Django sees their relations),
    registered for this module only: no migration ever sees them."""

    class AuditTestTag(AuditedModel):
        name = models.CharField(max_length=20)

        class Meta:
            app_label = LABEL

    class AuditTestWidget(AuditedModel):
        name = models.CharField(max_length=20)
        size = models.IntegerField(default=0)
        note = models.CharField(max_length=50, blank=True)
        secret = SecretField(max_length=50, blank=True)
        mrn = EncryptedTextField(null=True)
        blob = models.BinaryField(null=True)
        tags = models.ManyToManyField(AuditTestTag, blank=True)

        class Meta:
            app_label = LABEL

        class Audit:
            redact = ["note"]

    class AuditTestPart(AuditedModel):
        widget = models.ForeignKey(AuditTestWidget, on_delete=models.CASCADE)
        spare_for = models.ForeignKey(
            AuditTestWidget, on_delete=models.SET_NULL, null=True, related_name="spares"
        )

        class Meta:
            app_label = LABEL

    class AuditTestReading(AuditedModel):
        """A column of each kind whose stored value may differ from the value given."""

        label = models.CharField(max_length=20, default="r")
        count = models.IntegerField(default=0)
        amount = models.DecimalField(max_digits=6, decimal_places=2, null=True)
        ratio = models.FloatField(null=True)
        day = models.DateField(null=True)
        moment = models.DateTimeField(null=True)
        data = models.JSONField(default=dict)

        class Meta:
            app_label = LABEL

    m.Tag, m.Widget, m.Part, m.Reading = (
        AuditTestTag,
        AuditTestWidget,
        AuditTestPart,
        AuditTestReading,
    )
    return [AuditTestTag, AuditTestWidget, AuditTestPart, AuditTestReading]


@pytest.fixture(scope="module", autouse=True)
def tables(django_db_setup, django_db_blocker):
    test_models = define_models()
    with (
        django_db_blocker.unblock(),
        scratch_tables(test_models, extra_names=("audittestwidget_tags",)),
    ):
        yield


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("audit_key")]


@service
def run(fn):
    return fn()


def entries(action=None):
    qs = AuditEntry.objects.order_by("seq")
    return list(qs.filter(action=action) if action else qs)


def make_widget(**values):
    return run(lambda: m.Widget.objects.create(**{"name": "w", **values}))


# --- outside a service every write raises --------------------------------------------------------


def test_save_outside_a_service_raises_a_clear_error():
    with pytest.raises(
        AuditBypassError,
        match=rf"{LABEL}.AuditTestWidget saved outside a service; state changes go through services",
    ):
        m.Widget(name="x").save()
    with pytest.raises(AuditBypassError):
        m.Widget.objects.create(name="x")
    assert not m.Widget.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda w: w.save(), id="save"),
        pytest.param(lambda w: w.delete(), id="delete"),
        pytest.param(
            lambda w: m.Widget.objects.filter(pk=w.pk).update(size=9), id="queryset-update"
        ),
        pytest.param(lambda w: m.Widget.objects.filter(pk=w.pk).delete(), id="queryset-delete"),
        pytest.param(
            lambda w: m.Widget.objects.bulk_create([m.Widget(name="b")]), id="bulk_create"
        ),
        pytest.param(lambda w: m.Widget.objects.bulk_update([w], ["size"]), id="bulk_update"),
        pytest.param(
            lambda w: m.Widget.objects.update_or_create(name="w", defaults={"size": 3}),
            id="update_or_create",
        ),
        pytest.param(lambda w: m.Widget.objects.get_or_create(name="new"), id="get_or_create"),
        pytest.param(lambda w: w.tags.add(m.Tag.objects.first()), id="m2m-add"),
        pytest.param(lambda w: w.tags.clear(), id="m2m-clear"),
        pytest.param(lambda w: m.Part.objects.filter(widget=w).delete(), id="cascade-child-delete"),
        pytest.param(lambda w: w.spares.clear(), id="reverse-fk-clear"),
    ],
)
def test_every_bypass_raises(write):
    widget = make_widget()
    run(
        lambda: (
            m.Tag.objects.create(name="t"),
            m.Part.objects.create(widget=widget, spare_for=widget),
        )
    )
    before = AuditEntry.objects.count()
    with pytest.raises(AuditBypassError), transaction.atomic():
        write(widget)
    assert AuditEntry.objects.count() == before
    widget.refresh_from_db()
    assert (widget.size, widget.name) == (0, "w")


# --- inside a service every write is recorded ------------------------------------------------------


def test_service_is_one_transaction_and_marks_the_context():
    assert not in_service()
    assert run(in_service) is True
    with pytest.raises(ValueError):
        run(
            lambda: (
                m.Widget.objects.create(name="gone"),
                (_ for _ in ()).throw(ValueError("rule broken")),
            )
        )
    assert not m.Widget.objects.filter(name="gone").exists() and not AuditEntry.objects.exists()


def test_create_records_the_values_with_redactions():
    widget = make_widget(size=3, note="private", secret="s3cr3t")
    (entry,) = entries()
    assert (entry.action, entry.object_type, entry.object_id) == (
        "create",
        f"{LABEL}.audittestwidget",
        str(widget.pk),
    )
    assert entry.changes["size"] == [None, 3] and entry.changes["name"] == [None, "w"]
    assert entry.changes["note"] == [None, "<changed>"] and entry.changes["secret"] == [
        None,
        "<changed>",
    ]
    assert "s3cr3t" not in entry.changes_json and "private" not in entry.changes_json


def test_update_records_only_changed_fields_before_and_after():
    widget = make_widget(size=1, secret="a")

    def change():
        widget.size, widget.secret = 2, "b"
        widget.save()

    run(change)
    update = entries("update")[-1]
    assert update.changes == {"size": [1, 2], "secret": ["<changed>", "<changed>"]}


def test_delete_records_the_last_values():
    widget = make_widget(size=5)
    pk = widget.pk
    run(widget.delete)
    (entry,) = entries("delete")
    assert entry.object_id == str(pk) and entry.changes["size"] == [5, None]


def test_cascades_record_each_deleted_and_nulled_object():
    widget, other = make_widget(), make_widget(name="o")
    part = run(lambda: m.Part.objects.create(widget=widget, spare_for=other))
    other_pk = other.pk
    run(other.delete)  # SET_NULL on part.spare_for
    update = entries("update")[-1]
    assert (update.object_id, update.changes) == (str(part.pk), {"spare_for_id": [other_pk, None]})
    part_pk, widget_pk = part.pk, widget.pk
    run(widget.delete)  # CASCADE to part
    deleted = {(e.object_type, e.object_id) for e in entries("delete")}
    assert {
        (f"{LABEL}.audittestpart", str(part_pk)),
        (f"{LABEL}.audittestwidget", str(widget_pk)),
    } <= deleted


def test_queryset_update_and_delete_record_one_entry_per_object():
    for i in range(3):
        make_widget(name=f"w{i}")
    assert run(lambda: m.Widget.objects.filter(name__in=["w0", "w1"]).update(size=7)) == 2
    updates = entries("update")
    assert len(updates) == 2 and all(e.changes == {"size": [0, 7]} for e in updates)
    assert run(lambda: m.Widget.objects.all().delete())[0] == 3
    assert len(entries("delete")) == 3


def test_bulk_create_and_bulk_update_record_one_entry_per_object():
    made = run(
        lambda: m.Widget.objects.bulk_create([m.Widget(name="a"), m.Widget(name="b", secret="x")])
    )
    creates = entries("create")
    assert [e.object_id for e in creates] == [str(w.pk) for w in made]
    assert creates[1].changes["secret"] == [None, "<changed>"]
    for w in made:
        w.size = 4
    run(lambda: m.Widget.objects.bulk_update(made, ["size"]))
    assert [e.changes for e in entries("update")] == [{"size": [0, 4]}] * 2


def test_bulk_create_ignoring_conflicts_is_refused():
    with pytest.raises(AuditBypassError, match="ignore_conflicts"):
        run(lambda: m.Widget.objects.bulk_create([m.Widget(name="a")], ignore_conflicts=True))


def test_many_to_many_changes_are_recorded():
    widget = make_widget()
    tag = run(lambda: m.Tag.objects.create(name="t"))
    run(lambda: widget.tags.add(tag))
    run(widget.tags.clear)
    ops = [(e.object_id, e.detail["op"], e.detail["ids"]) for e in entries("update")]
    assert ops == [(str(widget.pk), "add", [tag.pk]), (str(widget.pk), "clear", None)]


def test_all_those_entries_form_one_intact_chain():
    widget = make_widget()
    run(lambda: m.Widget.objects.filter(pk=widget.pk).update(size=1))
    run(widget.delete)
    assert verify_rows(AuditEntry.objects.order_by("seq").values()).problem is None


@pytest.fixture
def key_file(monkeypatch, tmp_path):
    monkeypatch.setenv("RADGOV_KEY_FILE", str(tmp_path / "keys.json"))
    keys.clear_cache()
    yield
    keys.clear_cache()


@pytest.mark.usefixtures("key_file")
def test_encrypted_and_binary_fields_are_recorded_as_changed_never_by_value():
    widget = make_widget(mrn="MRN-0042", blob=b"\x00\x01")
    assert entries("create")[0].changes["mrn"] == [None, "<changed>"]

    def touch_other_field():
        w = m.Widget.objects.get(pk=widget.pk)
        w.size = 1
        w.save()

    run(touch_other_field)
    assert entries("update")[-1].changes == {"size": [0, 1]}  # mrn and blob untouched: not listed

    def change_secrets():
        w = m.Widget.objects.get(pk=widget.pk)
        w.mrn, w.blob = "MRN-0043", b"\x00\x02"
        w.save()

    run(change_secrets)
    update = entries("update")[-1]
    assert update.changes == {"blob": ["<changed>", "<changed>"], "mrn": ["<changed>", "<changed>"]}
    assert not any("MRN-004" in e.changes_json + e.detail_json for e in entries())


# --- what is recorded is what was stored, with fewer statements ------------------------------


PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    "given",
    [
        pytest.param({"amount": Decimal("1.239")}, id="decimal-rounded-to-its-places"),
        pytest.param({"amount": 3}, id="decimal-given-an-int"),
        pytest.param({"count": "7"}, id="int-given-as-text"),
        pytest.param({"count": True}, id="int-given-a-bool"),
        pytest.param({"ratio": 2}, id="float-given-an-int"),
        pytest.param({"ratio": math.nan}, id="float-nan"),
        pytest.param(
            {"day": dt.datetime(2026, 3, 4, 23, 30, tzinfo=dt.UTC)}, id="date-given-a-datetime"
        ),
        pytest.param({"day": "2026-03-04"}, id="date-given-as-text"),
        pytest.param(
            {"moment": dt.datetime(2026, 3, 4, 8, 0, tzinfo=PARIS)}, id="datetime-not-in-utc"
        ),
        pytest.param({"moment": "2026-03-04T08:00:00+01:00"}, id="datetime-given-as-text"),
        pytest.param({"data": {"x": 1e16}}, id="json-large-float"),
        pytest.param({"data": {"x": -0.0}}, id="json-negative-zero"),
        pytest.param({"data": {1: "a"}}, id="json-int-key"),
        pytest.param({"data": {"t": (1, 2)}}, id="json-tuple"),
        pytest.param(
            {"label": "plain", "count": 2, "ratio": 0.1, "data": {"a": [1, "b", None]}}, id="exact"
        ),
    ],
)
def test_the_recorded_values_are_the_stored_ones(given):
    reading = run(lambda: m.Reading.objects.create(**given))
    stored = m.Reading.objects.filter(pk=reading.pk).values(*given).get()
    recorded = entries("create")[-1].changes
    expected = diff(m.Reading, None, stored)
    # as JSON text, so that a stored NaN (PostgreSQL) compares equal to itself
    assert json.dumps({k: recorded.get(k) for k in given}) == json.dumps(
        {k: expected.get(k) for k in given}
    )


def test_a_row_locked_by_the_service_is_saved_without_reading_it_back():
    reading = run(lambda: m.Reading.objects.create(label="a", data={"k": 1}))
    counted = {}

    def change():
        row = m.Reading.objects.select_for_update().get(pk=reading.pk)
        row.count, row.moment = 5, dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
        with CaptureQueriesContext(connection) as queries:
            row.save()
        counted["first"] = [q["sql"] for q in queries.captured_queries]
        row.data["k"] = 2  # changed in place: the next entry's "before" must still say 1
        with CaptureQueriesContext(connection) as queries:
            row.save()
        counted["second"] = len(queries)

    run(change)
    assert len(counted["first"]) == 1 and counted["first"][0].startswith("UPDATE")
    assert counted["second"] == 1
    first, second = entries("update")
    assert first.changes == {"count": [0, 5], "moment": [None, "2026-01-02T00:00:00+00:00"]}
    assert second.changes == {"data": [{"k": 1}, {"k": 2}]}


def test_a_row_not_locked_by_the_service_is_read_before_the_write():
    reading = run(lambda: m.Reading.objects.create(label="a"))
    stale = m.Reading.objects.get(pk=reading.pk)  # loaded outside any service
    run(lambda: m.Reading.objects.filter(pk=reading.pk).update(count=3))  # changed meanwhile
    stale.label = "b"
    run(stale.save)
    assert entries("update")[-1].changes == {"count": [3, 0], "label": ["a", "b"]}


def test_after_a_rolled_back_savepoint_the_row_is_read_again():
    reading = run(lambda: m.Reading.objects.create(count=0))

    def change():
        row = m.Reading.objects.select_for_update().get(pk=reading.pk)
        row.count = 1
        try:
            with transaction.atomic():
                row.save()
                raise ValueError("undone")
        except ValueError:
            pass
        row.count = 2
        row.save()

    run(change)
    assert [e.changes for e in entries("update")] == [{"count": [0, 2]}]


def test_save_with_update_fields_records_only_what_was_written():
    reading = run(lambda: m.Reading.objects.create(label="a", count=1))

    def change():
        row = m.Reading.objects.select_for_update().get(pk=reading.pk)
        row.label, row.count = "b", 9  # count is not written
        row.save(update_fields=["label"])

    run(change)
    assert entries("update")[-1].changes == {"label": ["a", "b"]}
    assert m.Reading.objects.get(pk=reading.pk).count == 1


def test_an_encrypted_value_is_taken_as_stored_once_it_holds_the_saved_token():
    """So a bulk write of encrypted reports is recorded without reading its rows back."""
    from radgov.core.models.stored import exact_values

    widget = make_widget(mrn="MRN-1")
    stored = m.Widget.objects.filter(pk=widget.pk).values_list("mrn", flat=True).get()
    taken = exact_values(widget, ["mrn"])["mrn"]
    assert taken.saved_token == stored.saved_token and taken == stored
    assert exact_values(m.Widget(name="w", mrn="MRN-2"), ["mrn"]) is None  # not encrypted yet
    other = m.Widget(name="w")
    other.mrn = type(widget.mrn)(context="another.context", token=stored.saved_token)
    assert exact_values(other, ["mrn"]) is None  # encrypted again on save: read back
