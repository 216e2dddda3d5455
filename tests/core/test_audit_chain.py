"""The chain as written by record(): canonical form, links, defaults, append-only rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from radgov.accounts.models import User
from radgov.core.audit import Action, EventCode, record
from radgov.core.audit.chain import (
    GENESIS,
    canonical_around_seq,
    canonical_bytes,
    canonical_with,
    entry_hash,
    format_timestamp,
    verify_rows,
)
from radgov.core.audit.checkpoint import CHECKPOINT_EVERY
from radgov.core.context import ActingContext, acting_as
from radgov.core.models import AppendOnlyError, AuditCheckpoint, AuditEntry, AuditHead
from radgov.core.services import service

from .audit_support import audit_key  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("audit_key")]


def test_canonical_bytes_are_sorted_compact_ascii_with_utc_microseconds():
    row = {
        name: ""
        for name in (
            "actor_name",
            "actor_role",
            "client_address",
            "request_id",
            "channel",
            "object_type",
            "object_id",
        )
    }
    row.update(
        seq=7,
        actor_id=3,
        action="read",
        event_code="110110",
        outcome="success",
        detail_json='{"a":"\\u00e9"}',
        changes_json="{}",
        timestamp=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    )
    raw = canonical_bytes(row)
    doc = json.loads(raw)
    assert list(doc) == sorted(doc)
    assert b" " not in raw and raw.isascii()
    assert doc["timestamp"] == "2026-01-02T03:04:05.000006Z"
    assert doc["v"] == 1 and doc["seq"] == 7 and doc["actor_id"] == 3
    # explicit types: the number 3 and the string "3" hash differently
    assert entry_hash(GENESIS, row) != entry_hash(GENESIS, {**row, "actor_id": "3"})


@pytest.mark.parametrize("stripe", [0, 1, 7, 12])
@pytest.mark.parametrize("seq", [1, 99, 100, 123456789012])
def test_canonical_text_around_the_seq_puts_together_to_the_canonical_bytes(seq, stripe):
    # what the one-statement append on PostgreSQL hashes (head.append_one): the text
    # around the seq and stripe, which the database fills in from the head it takes
    row = {
        "seq": None,
        "timestamp": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        "actor_id": None,
        "actor_name": 'r\u00e9viewer "x"',
        "actor_role": "",
        "client_address": "10.0.0.1",
        "request_id": "abc",
        "channel": "mllp",
        "action": "import",
        "event_code": "110107",
        "object_type": "exams.inference",
        "object_id": "",
        "outcome": "success",
        "detail_json": '{"batch":{"count":5},"n":"\\u00e9"}',
        "changes_json": "{}",
    }
    before, after = canonical_around_seq(row)
    whole = canonical_bytes({**row, "seq": seq, "stripe": stripe})
    assert canonical_with(before, after, seq, stripe) == whole
    assert json.loads(whole)["seq"] == seq


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 8, 0, 0, 7, tzinfo=UTC),
        datetime(1000, 1, 1, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(2026, 3, 1, 8, 0, tzinfo=ZoneInfo("UTC")),
    ],
)
def test_timestamps_keep_the_one_form_the_chain_was_written_in(value):
    """The fast form (isoformat) must give exactly what strftime gave: trails written before
    verify against it."""
    assert format_timestamp(value) == value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_record_builds_one_contiguous_linked_chain():
    for i in range(5):
        record(action=Action.EXECUTE, object_type="test.thing", object_id=str(i), detail={"i": i})
    rows = list(AuditEntry.objects.order_by("seq").values())
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["prev_hash"] == GENESIS
    assert all(b["prev_hash"] == a["entry_hash"] for a, b in zip(rows, rows[1:], strict=False))
    assert verify_rows(rows).problem is None
    head = AuditHead.objects.get()
    assert (head.seq, head.entry_hash) == (5, rows[-1]["entry_hash"])


def test_record_takes_who_and_where_from_the_acting_context(rf):
    user = User.objects.create(username="carol", role="physician")
    request = rf.get("/")
    request.user = user
    with acting_as(
        ActingContext(client_address="10.1.2.3", channel="web", request=request, request_id="r1")
    ):
        entry = record(action="read", obj=user)
    assert (entry.actor_id, entry.actor_name, entry.actor_role) == (user.pk, "carol", "physician")
    assert (entry.client_address, entry.channel, entry.request_id) == ("10.1.2.3", "web", "r1")
    assert (entry.object_type, entry.object_id) == ("accounts.user", str(user.pk))
    assert entry.timestamp.tzinfo is not None and entry.outcome == "success"


def test_actor_name_and_id_survive_the_users_deletion():
    user = User.objects.create(username="dave", role="administrator")
    entry = record(action=Action.LOGIN, actor=user)
    user_id = user.pk
    # through a service: the delete nulls audited references to the user (SET_NULL)
    service(user.delete)()
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert (entry.actor_id, entry.actor_name, entry.actor_role) == (
        user_id,
        "dave",
        "administrator",
    )


@pytest.mark.parametrize(
    ("action", "object_type", "code"),
    [
        (Action.LOGIN, "", EventCode.USER_AUTHENTICATION),
        (Action.LOGIN_FAILED, "", EventCode.USER_AUTHENTICATION),
        (Action.LOGOUT, "", EventCode.USER_AUTHENTICATION),
        (Action.DENIED, "", EventCode.SECURITY_ALERT),
        (Action.EXPORT, "inventory.product", EventCode.EXPORT),
        (Action.IMPORT, "inventory.product", EventCode.IMPORT),
        (Action.READ, "core.auditentry", EventCode.AUDIT_LOG_USED),
        (Action.EXPORT, "core.auditentry", EventCode.AUDIT_LOG_USED),
        (Action.KEY_ROTATED, "", EventCode.SECURITY_ALERT),
        (Action.CREATE, "inventory.product", EventCode.APPLICATION_ACTIVITY),
    ],
)
def test_default_event_codes(action, object_type, code):
    assert record(action=action, object_type=object_type).event_code == code.value


def test_event_codes_have_their_dicom_meanings():
    assert [c.value for c in EventCode] == [str(n) for n in range(110100, 110115)]
    assert EventCode.AUDIT_LOG_USED.meaning == "Audit Log Used"
    assert EventCode.USER_AUTHENTICATION.meaning == "User Authentication"


def test_record_refuses_unknown_action_and_outcome():
    with pytest.raises(ValueError):
        record(action="frobnicate")
    with pytest.raises(ValueError, match="outcome"):
        record(action="read", outcome="maybe")
    assert not AuditEntry.objects.exists()


def test_detail_and_changes_are_stored_as_canonical_json_text():
    entry = record(
        action="update",
        object_type="x.y",
        object_id="1",
        detail={"b": 1, "a": datetime(2026, 1, 1, tzinfo=UTC)},
        changes={"name": ["a", "b"]},
    )
    assert entry.detail_json == '{"a":"2026-01-01T00:00:00Z","b":1}'
    assert entry.changes == {"name": ["a", "b"]}


def test_a_rolled_back_change_leaves_neither_entry_nor_gap():
    record(action="execute")
    with pytest.raises(RuntimeError), transaction.atomic():
        record(action="execute")
        raise RuntimeError("the change failed")
    second = record(action="execute")
    assert second.seq == 2
    assert verify_rows(AuditEntry.objects.order_by("seq").values()).problem is None


def test_a_checkpoint_is_signed_every_hundred_entries():
    with transaction.atomic():
        for _ in range(CHECKPOINT_EVERY * 2 + 5):
            record(action="execute")
    cps = list(AuditCheckpoint.objects.order_by("number"))
    assert [(cp.number, cp.seq) for cp in cps] == [(1, CHECKPOINT_EVERY), (2, 2 * CHECKPOINT_EVERY)]
    assert cps[1].prev_signature == cps[0].signature
    assert cps[1].entry_hash == AuditEntry.objects.get(seq=2 * CHECKPOINT_EVERY).entry_hash
    assert cps[0].key_id == "testkey"


def test_entries_are_append_only():
    entry = record(action="execute")
    entry.outcome = "failure"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(outcome="failure")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.bulk_update([entry], ["outcome"])
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.bulk_create([AuditEntry(seq=99)])
    with pytest.raises(AppendOnlyError, match="only by radgov.core.audit"):
        AuditEntry.objects.create(
            seq=99,
            timestamp=entry.timestamp,
            action="x",
            event_code="1",
            outcome="success",
            prev_hash="0",
            entry_hash="1",
        )
    assert AuditEntry.objects.get(pk=entry.pk).outcome == "success"


def test_checkpoints_are_append_only():
    from radgov.core.audit.checkpoint import make_checkpoint

    record(action="execute")
    cp = make_checkpoint()
    assert cp is not None and make_checkpoint() is None  # nothing new: no second checkpoint
    with pytest.raises(AppendOnlyError):
        cp.save()
    with pytest.raises(AppendOnlyError):
        cp.delete()
    with pytest.raises(AppendOnlyError):
        AuditCheckpoint.objects.update(seq=5)
    with pytest.raises(AppendOnlyError):
        AuditCheckpoint.objects.all().delete()


def test_the_head_is_rebuilt_from_the_last_entry_if_missing():
    record(action="execute")
    last = record(action="execute")
    AuditHead.objects.all().delete()
    assert record(action="execute").prev_hash == last.entry_hash


def test_periodic_task_checkpoints_the_head():
    from radgov.core.tasks import checkpoint_audit_trail

    record(action="execute")
    assert checkpoint_audit_trail.call_local() == 1
    assert checkpoint_audit_trail.call_local() is None


def test_non_ascii_values_round_trip_through_the_database_and_still_verify():
    record(
        action="update",
        object_type="inventory.product",
        object_id="Ω-7",
        actor_name="Zoë 李",
        detail={"note": "naïve ✓"},
        changes={"name": ["Älpha", "Beta\n"]},
    )
    rows = list(AuditEntry.objects.order_by("seq").values())
    assert rows[0]["actor_name"] == "Zoë 李" and verify_rows(rows).problem is None
