"""The bulk path: a batch of events in one transaction, all or nothing, with every problem
named by its place; one import entry for the batch; a batch sent twice changes nothing."""

from __future__ import annotations

import pytest

from radgov.core.models import AuditEntry, PatientIdentity
from radgov.exams import services
from radgov.exams.errors import BatchError, NotPermitted
from radgov.exams.models import Exam, Inference, StatusChange
from radgov.exams.outputs import Outputs
from radgov.exams.services import Event
from tests.exams.conftest import CANARIES, UID, head_ct, minutes

pytestmark = pytest.mark.django_db


def events(ich, nodule) -> list[Event]:
    second = UID + ".2"
    return [
        Event(head_ct(), ich.pk, "received", status_at=minutes(30)),
        Event(head_ct(), ich.pk, "sent", status_at=minutes(29), event_id="ev-1"),
        Event(
            head_ct(),
            ich.pk,
            "inferred",
            status_at=minutes(28),
            outputs=Outputs(
                score=0.93, call="positive", findings=[{"label": "ICH", "present": True}]
            ),
            event_id="ev-2",
        ),
        Event(
            head_ct(),
            nodule.pk,
            "excluded",
            reason_code="criteria_not_met",
            reason="BodyPartExamined 'HEAD' is not one of CHEST",
        ),
        Event(
            head_ct(uid=second, accession_number="ACC-2", slice_thickness_mm=7.5),
            ich.pk,
            "rejected",
            reason_code="slice_thickness",
            event_id="ev-3",
        ),
        Event(head_ct(uid=UID + ".3", accession_number="ACC-3")),
    ]


def test_a_batch_records_exams_inferences_moves_and_outputs(writer, ich, nodule) -> None:
    seen: list[int] = []
    result = services.record_events(
        writer, events(ich, nodule), source="api", sha256="f" * 64, on_event=seen.append
    )
    assert result.as_dict() == {
        "events": 6,
        "exams_created": 3,
        "exams_enriched": 0,
        "inferences_created": 3,
        "moves": 4,
        "unchanged": 0,
    }
    assert seen == list(range(6))
    assert Exam.objects.count() == 3 and PatientIdentity.objects.count() == 1
    ich_first = Inference.objects.get(
        deployment=ich, exam__accession__isnull=False, status="inferred"
    )
    assert ich_first.score == 0.93 and ich_first.findings == [{"label": "ICH", "present": True}]
    assert list(ich_first.history.values_list("to_status", flat=True)) == [
        "received",
        "sent",
        "inferred",
    ]
    assert Inference.objects.get(deployment=nodule).reason.startswith("The study is outside")
    batch = AuditEntry.objects.get(action="import")
    assert batch.event_code == "110107" and batch.detail["sha256"] == "f" * 64
    assert batch.detail["events"] == 6 and batch.detail["moves"] == 4


def test_the_same_batch_again_changes_nothing(writer, ich, nodule) -> None:
    services.record_events(writer, events(ich, nodule), source="api")
    rows = (Exam.objects.count(), Inference.objects.count(), StatusChange.objects.count())
    result = services.record_events(writer, events(ich, nodule), source="api")
    assert result.unchanged == 6 and result.moves == 0 and result.exams_created == 0
    assert (Exam.objects.count(), Inference.objects.count(), StatusChange.objects.count()) == rows


def test_every_problem_of_form_is_named_and_nothing_is_stored(writer, ich, nodule) -> None:
    bad = events(ich, nodule)
    bad[1] = Event(head_ct(kvp="loud"), ich.pk, "sentt")
    bad[3] = Event(head_ct(), 999999, "excluded")
    bad[5] = Event(head_ct(uid="x"), None, "queued", outputs=Outputs(score=0.4))
    before = AuditEntry.objects.count()
    with pytest.raises(BatchError) as info:
        services.record_events(writer, bad, source="api")
    places = {p.field for p in info.value.problems}
    assert places == {
        "events[1].kvp",
        "events[1].status",
        "events[3].deployment_id",
        "events[3].reason_code",
        "events[5].study_instance_uid",
        "events[5].status",
    }
    assert not any(c in str(info.value) for c in CANARIES)
    assert Exam.objects.count() == 0 and AuditEntry.objects.count() == before


def test_a_move_that_conflicts_with_an_earlier_event_refuses_the_whole_batch(
    writer, ich, nodule
) -> None:
    bad = events(ich, nodule)
    bad.append(Event(head_ct(), ich.pk, "queued"))  # inferred -> queued is not a move
    with pytest.raises(BatchError) as info:
        services.record_events(writer, bad, source="api")
    assert [p.field for p in info.value.problems] == ["events[6].status"]
    assert "from inferred" in str(info.value)
    assert Exam.objects.count() == 0 and Inference.objects.count() == 0


def test_a_study_that_disagrees_with_the_stored_one_refuses_the_batch(writer, ich, nodule) -> None:
    services.record_exam(writer, head_ct(), source="dicom")
    bad = [Event(head_ct(uid=UID + ".9")), Event(head_ct(modality="MR"))]
    with pytest.raises(BatchError) as info:
        services.record_events(writer, bad, source="file")
    assert [p.field for p in info.value.problems] == ["events[1].modality"]
    assert Exam.objects.count() == 1


def test_readers_may_not_send_a_batch(people, ich, nodule) -> None:
    with pytest.raises(NotPermitted):
        services.record_events(people["data_scientist"], events(ich, nodule), source="api")
    assert Exam.objects.count() == 0
