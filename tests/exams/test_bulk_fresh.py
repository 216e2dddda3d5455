"""The bulk path's fast lane (issue 17): events on studies radgov has not recorded go in as
whole columns (COPY on PostgreSQL) and store exactly what the row-by-row path stores, under
the batch's one audit entry that ``radgov audit verify`` proves."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from radgov.core import crypto
from radgov.core.audit.verify import verify_trail
from radgov.core.models import AuditEntry
from radgov.exams import services
from radgov.exams.errors import BatchError
from radgov.exams.models import Exam, Inference, StatusChange
from radgov.exams.outputs import Outputs
from radgov.exams.services import Event
from radgov.exams.services.exam import study_uid_hash
from radgov.exams.services.inference import event_hash
from tests.exams.conftest import UID, head_ct, minutes

pytestmark = pytest.mark.django_db

SKIP = {"id", "exam", "exam_id", "inference", "inference_id", "created_at", "updated_at"}
SKIP |= {"recorded_at", "study_uid_hash", "study_uid_encrypted", "patient", "accession"}
SKIP |= {"patient_id", "accession_id"}


def events(prefix: str, ich, nodule, at: list) -> list[Event]:
    """One study per event, each with an accession of its own; ``at``: four times."""

    def study(n: int):  # type: ignore[no-untyped-def]
        return head_ct(uid=f"{prefix}.{n}", accession_number=f"ACC-{prefix[-1]}-{n}")

    outputs = Outputs(
        score=0.93, call="positive", findings=[{"label": "ICH"}], model_version="2.1",
        vendor_status="DONE",
    )  # fmt: skip
    excluded = {"reason_code": "criteria_not_met", "reason": "HEAD is not one of CHEST"}
    rejected = {"reason_code": "slice_thickness", "event_id": "ev-3", "vendor_reason": "thick"}
    return [
        Event(study(1), ich.pk, "received", status_at=at[0]),
        Event(study(2), ich.pk, "inferred", status_at=at[1], event_id="ev-2", outputs=outputs),
        Event(study(3), ich.pk, "rejected", status_at=at[2], **rejected),
        Event(study(4), nodule.pk, "excluded", status_at=at[3], **excluded),
        Event(study(5), None),
    ]


def stored(prefix: str) -> list[dict]:
    """Every stored value of the prefix's exams, inferences and history but keys and clocks."""
    out = []
    for exam in Exam.objects.filter(site="Main Hospital CT").order_by("pk"):
        if not exam.study_uid_encrypted.reveal().startswith(prefix + "."):
            continue
        rows = [exam, *exam.inferences.all()]
        rows += StatusChange.objects.filter(inference__exam=exam).order_by("pk")
        out.append(
            [{k: v for k, v in vars(r).items() if k not in SKIP and k[0] != "_"} for r in rows]
        )
    return out


def test_new_studies_store_what_the_row_by_row_path_stores(writer, ich, nodule) -> None:
    slow, fast = UID + ".100", UID + ".200"
    at = [minutes(n) for n in (40, 30, 20, 10)]
    for event in events(slow, ich, nodule, at):  # recorded first: their events go row by row
        services.record_exam(writer, event.study, source="api")
    services.record_events(writer, events(slow, ich, nodule, at), source="api")
    result = services.record_events(writer, events(fast, ich, nodule, at), source="api")
    assert result.as_dict() == {
        "events": 5, "exams_created": 5, "exams_enriched": 0, "inferences_created": 4,
        "moves": 3, "unchanged": 0,
    }  # fmt: skip
    assert stored(fast) == stored(slow) and len(stored(fast)) == 5
    exam = Exam.objects.get(study_uid_hash=study_uid_hash(fast + ".3"))
    assert exam.study_uid_encrypted.reveal() == fast + ".3"
    assert exam.accession.patient == exam.patient and exam.patient is not None
    history = StatusChange.objects.filter(inference__exam=exam).order_by("pk")
    assert [(h.from_status, h.to_status) for h in history] == [
        ("", "received"),
        ("received", "rejected"),
    ]
    assert history[1].key_hash == event_hash("ev-3") and history[1].actor == writer
    assert verify_trail(record_use=False).ok


def test_a_batch_of_new_studies_takes_no_statement_per_row_and_verifies(writer, ich) -> None:
    def batch(prefix: str, n: int) -> list[Event]:
        return [
            Event(head_ct(uid=f"{prefix}.{i}", patient_id=f"P{i % 3}", accession_number=""),
                  ich.pk, "inferred", status_at=minutes(5), outputs=Outputs(score=i / n))
            for i in range(n)
        ]  # fmt: skip

    services.record_events(writer, batch(UID + ".0", 5), source="api")  # the patients made
    with CaptureQueriesContext(connection) as few:
        services.record_events(writer, batch(UID + ".1", 5), source="api")
    with CaptureQueriesContext(connection) as many:
        services.record_events(writer, batch(UID + ".2", 60), source="api")
    if connection.vendor == "postgresql":  # COPY; SQLite's bulk_create batches by its limit
        assert len(many) == len(few)
    assert Inference.objects.filter(status="inferred").count() == 70
    entry = AuditEntry.objects.filter(action="import").last()
    assert entry.detail["batch"]["count"] == 60 + 60 + 2 * 60  # exams, inferences, history
    assert verify_trail(record_use=False).ok


def test_a_study_recorded_before_is_found_past_the_first_lookup(writer, ich, monkeypatch) -> None:
    """The lookup of recorded studies is split by the database's limit on a statement's
    parameters (SQLite's; one statement on PostgreSQL): a study recorded before, named past
    the first part, takes the row-by-row path, not a second COPY of its exam."""

    def event(n: int, **more) -> Event:  # type: ignore[no-untyped-def]
        return Event(head_ct(uid=f"{UID}.7.{n}", accession_number=""), ich.pk, **more)

    services.record_events(writer, [event(9)], source="api")
    monkeypatch.setattr(connection.features, "max_query_params", 4)
    result = services.record_events(
        writer, [event(n, status="inferred", outputs=Outputs(score=0.5)) for n in range(12)],
        source="api",
    )  # fmt: skip
    assert (result.exams_created, result.inferences_created, result.moves) == (11, 11, 12)
    assert Exam.objects.count() == 12


def test_a_changed_token_of_an_ingested_exam_fails_verification(writer, ich) -> None:
    services.record_events(writer, [Event(head_ct(uid=UID + ".9"), ich.pk)], source="api")
    assert verify_trail(record_use=False).ok
    token = crypto.encrypt(UID + ".9", context="exams.exam.study_uid_encrypted")
    with connection.cursor() as cursor:  # behind radgov's back, as an intruder would
        cursor.execute("UPDATE exams_exam SET study_uid_encrypted = %s", [token])
    assert not verify_trail(record_use=False).ok


def test_an_accession_of_another_patient_refuses_the_batch_naming_the_event(writer, ich) -> None:
    batch = [
        Event(head_ct(uid=UID + ".1", patient_id="P1", accession_number="A1"), ich.pk),
        Event(head_ct(uid=UID + ".2", patient_id="P2", accession_number="A1"), ich.pk),
    ]
    with pytest.raises(BatchError) as refused:
        services.record_events(writer, batch, source="api")
    assert [p.field for p in refused.value.problems] == ["events[1].accession_number"]
    assert not Exam.objects.exists() and not AuditEntry.objects.filter(action="import").exists()
