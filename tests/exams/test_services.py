"""The one write path: exams created or enriched or refused on conflict, inferences and every
status move (allowed and refused), idempotency by repetition and by key, outputs, result
objects, and who may write."""

from __future__ import annotations

import getpass
import itertools
from collections.abc import Iterator

import pytest
from django.utils import timezone

from radgov.core import machines
from radgov.core.context import ActingContext, acting_as
from radgov.core.models import AccessionIdentity, AuditEntry, PatientIdentity
from radgov.core.roles import Role
from radgov.exams import moves, services
from radgov.exams.errors import ExamConflict, ExamError, MoveError, NotPermitted
from radgov.exams.models import Exam, Inference, ResultObject, StatusChange
from radgov.exams.outputs import Outputs
from radgov.exams.statuses import Status
from tests.exams.conftest import ACCESSION, CANARIES, MRN, OTHER_MRN, UID, head_ct, minutes
from tests.exams.test_moves import EXPECTED

pytestmark = pytest.mark.django_db


@pytest.fixture
def table_only() -> Iterator[None]:
    """The status table alone: release's review guard (issue 16) is tested in test_review."""
    with moves.GUARDS.override():
        yield


def _entries() -> int:
    return AuditEntry.objects.count()


# --- exams --------------------------------------------------------------------------------


def test_an_exam_is_created_with_pseudonymous_identities(writer) -> None:
    recorded = services.record_exam(writer, head_ct(), source="api")
    exam = recorded.exam
    assert recorded.outcome == "created"
    assert exam.patient.pseudonym == PatientIdentity.pseudonym_for(MRN, issuer="HOSP_A")
    assert exam.accession.pseudonym == AccessionIdentity.pseudonym_for(ACCESSION)
    assert exam.study_uid_encrypted.reveal() == UID and UID not in exam.study_uid_hash
    assert (exam.modality, exam.age_band, exam.sex, exam.contrast) == ("CT", 65, "F", "no")
    assert exam.source == "api"
    created = AuditEntry.objects.filter(action="create", object_type="exams.exam").get()
    assert created.event_code == "110111"  # Procedure Record
    assert created.changes["study_uid_encrypted"] == [None, "<changed>"]
    for entry in AuditEntry.objects.all():
        assert not any(c in entry.detail_json + entry.changes_json for c in CANARIES)


def test_the_same_study_again_changes_nothing_and_audits_nothing(writer) -> None:
    first = services.record_exam(writer, head_ct(), source="dicom").exam
    before = _entries()
    again = services.record_exam(writer, head_ct(), source="api")
    assert again.outcome == "unchanged" and again.exam.pk == first.pk
    assert _entries() == before
    assert Exam.objects.count() == 1 and PatientIdentity.objects.count() == 1


def test_a_second_source_enriches_empty_fields(writer) -> None:
    first = services.record_exam(
        writer,
        head_ct(patient_id="", accession_number="", kvp=None, station_name=""),
        source="dicom",
    ).exam
    assert first.patient is None and first.kvp is None
    enriched = services.record_exam(writer, head_ct(contrast="unknown"), source="api")
    exam = Exam.objects.get()
    assert enriched.outcome == "enriched"
    assert (exam.kvp, exam.station_name, exam.contrast) == (120.0, "CTMAIN1", "no")
    assert exam.patient.pseudonym == PatientIdentity.pseudonym_for(MRN, issuer="HOSP_A")
    assert exam.accession is not None and exam.source == "dicom"  # the first source stays
    update = AuditEntry.objects.filter(action="update", object_type="exams.exam").get()
    assert set(update.changes) >= {"kvp", "station_name", "patient_id", "accession_id"}


def test_a_conflicting_source_is_refused_naming_every_field_and_changes_nothing(writer) -> None:
    services.record_exam(writer, head_ct(), source="dicom")
    before = _entries()
    with pytest.raises(ExamConflict) as info:
        services.record_exam(
            writer,
            head_ct(patient_id=OTHER_MRN, modality="MR", slice_thickness_mm=2.5, kvp=None),
            source="api",
        )
    fields = {p.field for p in info.value.problems}
    assert fields == {"patient_id", "modality", "slice_thickness_mm"}
    assert not any(c in str(info.value) for c in CANARIES)
    assert "CT" not in str(info.value).split("modality", 1)[1][:60]  # values are not echoed
    assert _entries() == before
    exam = Exam.objects.get()
    assert exam.modality == "CT" and PatientIdentity.objects.count() == 1


def test_an_accession_of_another_patient_is_a_conflict(writer) -> None:
    services.record_exam(writer, head_ct(), source="dicom")
    with pytest.raises(ExamConflict) as info:
        services.record_exam(writer, head_ct(uid=UID + ".2", patient_id=OTHER_MRN), source="api")
    assert [p.field for p in info.value.problems] == ["accession_number"]
    assert Exam.objects.count() == 1


def test_floats_and_times_compare_by_value(writer) -> None:
    services.record_exam(writer, head_ct(), source="dicom")
    same = head_ct(
        slice_thickness_mm="5", kvp="120.0000000001", study_datetime="2026-03-01T11:15:00+01:00"
    )
    assert services.record_exam(writer, same, source="api").outcome == "unchanged"


def test_bad_metadata_is_refused_before_anything_is_written(writer) -> None:
    before = _entries()
    with pytest.raises(ExamError):
        services.record_exam(writer, head_ct(kvp=999), source="api")
    assert _entries() == before and Exam.objects.count() == 0


@pytest.mark.parametrize(
    "role", [r for r in Role if r not in (Role.INFORMATICS, Role.ADMINISTRATOR)]
)
def test_only_informatics_and_administrators_write(people, role) -> None:
    with pytest.raises(NotPermitted):
        services.record_exam(people[role], head_ct(), source="api")
    assert Exam.objects.count() == 0


def test_the_command_line_operator_writes_under_its_own_name(ich) -> None:
    with acting_as(ActingContext(channel="cli")):
        exam = services.record_exam(None, head_ct(), source="file").exam
        inference = services.record_inference(None, exam, ich)
    assert inference.history.get().actor_name == f"cli:{getpass.getuser()}"


def test_no_actor_outside_the_command_line_may_not_write() -> None:
    with pytest.raises(NotPermitted):
        services.record_exam(None, head_ct(), source="api")
    assert Exam.objects.count() == 0


def test_a_machine_writes_only_with_the_record_grant(ich) -> None:
    orchestrator = machines.register(None, kind="api_client", name="api:orchestrator")
    with pytest.raises(NotPermitted):
        services.record_exam(orchestrator, head_ct(), source="api")
    machines.set_grants(None, orchestrator, ["exams.record"])
    orchestrator.refresh_from_db()
    exam = services.record_exam(orchestrator, head_ct(), source="api").exam
    change = services.record_inference(orchestrator, exam, ich).history.get()
    assert (change.actor, change.actor_name) == (None, "api:orchestrator")


# --- inferences and moves -----------------------------------------------------------------


@pytest.fixture
def exam(writer):
    return services.record_exam(writer, head_ct(), source="dicom").exam


def test_an_inference_starts_received_with_its_history(writer, exam, ich) -> None:
    inference = services.record_inference(writer, exam, ich)
    assert inference.status == "received" and inference.status_at is not None
    change = inference.history.get()
    assert (change.from_status, change.to_status, change.actor_name) == (
        "",
        "received",
        writer.username,
    )
    assert services.record_inference(writer, exam, ich).pk == inference.pk
    assert Inference.objects.count() == 1 and StatusChange.objects.count() == 1


def test_a_full_path_records_each_move_with_time_and_actor(writer, exam, ich, table_only) -> None:
    inference = services.record_inference(writer, exam, ich, at=minutes(10))
    for status, at in (("queued", minutes(9)), ("sent", minutes(8)), ("processing", minutes(7))):
        assert services.move(writer, inference, status, at=at).changed
    moved = services.record_outputs(
        writer,
        inference,
        Outputs(score=0.91, call="positive", confidence=0.8, model_version="2.0.3"),
        at=minutes(6),
    )
    inference.refresh_from_db()
    assert moved.changed and inference.status == "inferred" and inference.score == 0.91
    assert inference.inferred_at == inference.status_at
    history = list(inference.history.values_list("from_status", "to_status"))
    assert history == [
        ("", "received"),
        ("received", "queued"),
        ("queued", "sent"),
        ("sent", "processing"),
        ("processing", "inferred"),
    ]
    released = services.move(writer, inference, "released")
    assert released.changed and released.inference.status == "released"


ALL_PAIRS = list(itertools.product(Status, Status))


def _put(writer, inference, status: Status) -> None:
    """Bring a fresh inference to ``status`` along allowed moves."""
    path = {
        "received": [],
        "excluded": [("excluded", "criteria_not_met")],
        "queued": [("queued", "")],
        "sent": [("sent", "")],
        "processing": [("processing", "")],
        "inferred": [("inferred", "")],
        "rejected": [("rejected", "image_quality")],
        "failed": [("failed", "timeout")],
        "released": [("inferred", ""), ("released", "")],
        "withdrawn": [("inferred", ""), ("released", ""), ("withdrawn", "result_incorrect")],
    }[status.value]
    for step, code in path:
        services.move(writer, inference, step, reason_code=code)


REASON_FOR = {
    "excluded": "not_live",
    "rejected": "kvp",
    "failed": "model_error",
    "withdrawn": "released_in_error",
}


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=[f"{a}-{b}" for a, b in ALL_PAIRS])
def test_every_move_is_allowed_or_refused_as_the_table_says(
    writer, exam, ich, current, target, table_only
) -> None:
    inference = services.record_inference(writer, exam, ich)
    _put(writer, inference, current)
    inference.refresh_from_db()
    assert inference.status == current
    before = StatusChange.objects.count()
    code = REASON_FOR.get(target.value, "")
    if current == target:
        return  # the same status again is the idempotency tests' business
    if target.value in EXPECTED[current.value]:
        assert services.move(writer, inference, target, reason_code=code).changed
        inference.refresh_from_db()
        assert inference.status == target and StatusChange.objects.count() == before + 1
    else:
        with pytest.raises(MoveError, match=f"from {current.value} "):
            services.move(writer, inference, target, reason_code=code)
        inference.refresh_from_db()
        assert inference.status == current and StatusChange.objects.count() == before


def test_a_reason_is_required_and_kept_in_words(writer, exam, ich) -> None:
    inference = services.record_inference(writer, exam, ich)
    with pytest.raises(MoveError, match="needs a reason code"):
        services.move(writer, inference, "rejected")
    services.move(
        writer,
        inference,
        "rejected",
        reason_code="slice_thickness",
        reason="SliceThickness 7.5 mm is above 5",
        vendor_status="REJECTED",
        vendor_reason="ST>5",
    )
    inference.refresh_from_db()
    assert inference.reason_code == "slice_thickness"
    assert (
        inference.reason
        == "The slices are thicker or thinner than this model accepts. SliceThickness 7.5 mm is above 5"
    )
    assert (inference.vendor_status, inference.vendor_reason) == ("REJECTED", "ST>5")
    change = inference.history.last()
    assert (change.reason_code, change.vendor_reason) == ("slice_thickness", "ST>5")
    services.move(writer, inference, "queued", reason="resent after the technologist fixed it")
    inference.refresh_from_db()
    assert (
        inference.reason_code == "" and inference.reason == "resent after the technologist fixed it"
    )


def test_the_same_move_reported_twice_does_nothing_the_second_time(writer, exam, ich) -> None:
    inference = services.record_inference(writer, exam, ich)
    services.move(writer, inference, "failed", reason_code="timeout")
    before = (StatusChange.objects.count(), _entries())
    again = services.move(writer, inference, "failed", reason_code="timeout")
    assert not again.changed and (StatusChange.objects.count(), _entries()) == before
    with pytest.raises(MoveError, match="already failed"):
        services.move(writer, inference, "failed", reason_code="send_failed")


def test_a_keyed_move_runs_once_even_after_later_moves(writer, exam, ich) -> None:
    inference = services.record_inference(writer, exam, ich)
    assert services.move(writer, inference, "queued", event_id="task:send:1:queue").changed
    services.move(writer, inference, "sent", event_id="task:send:1:sent")
    before = (StatusChange.objects.count(), _entries())
    rerun = services.move(writer, inference, "queued", event_id="task:send:1:queue")
    assert not rerun.changed and rerun.inference.status == "sent"
    assert (StatusChange.objects.count(), _entries()) == before
    with pytest.raises(MoveError, match="event_id: already used for the move to sent"):
        services.move(writer, inference, "processing", event_id="task:send:1:sent")
    stored = inference.history.exclude(key_hash=None).values_list("key_hash", flat=True)
    assert all("task" not in h for h in stored)  # keys are kept only as keyed hashes


def test_a_move_too_far_in_the_future_is_refused(writer, exam, ich) -> None:
    inference = services.record_inference(writer, exam, ich)
    with pytest.raises(MoveError, match="status_at"):
        services.move(writer, inference, "queued", at=timezone.now() + timezone.timedelta(hours=1))


def test_an_unknown_status_is_named(writer, exam, ich) -> None:
    inference = services.record_inference(writer, exam, ich)
    with pytest.raises(MoveError, match="status: 'infered' is not a status"):
        services.move(writer, inference, "infered")


def test_guards_registered_for_a_target_refuse_with_everything_missing(
    writer, exam, ich, table_only
) -> None:
    moves.register_guard(Status.RELEASED, lambda inf: ["V: no review by a qualified end-user yet"])
    moves.register_guard(Status.RELEASED, lambda inf: ["V: no release policy"])
    inference = services.record_inference(writer, exam, ich)
    services.move(writer, inference, "inferred")
    with pytest.raises(MoveError) as info:
        services.move(writer, inference, "released")
    assert "no review by a qualified end-user yet" in str(
        info.value
    ) and "no release policy" in str(info.value)


def test_moves_are_refused_to_readers(people, writer, exam, ich) -> None:
    inference = services.record_inference(writer, exam, ich)
    with pytest.raises(NotPermitted):
        services.move(people[Role.PHYSICIAN], inference, "queued")


# --- outputs and result objects ----------------------------------------------------------


def test_outputs_again_are_idempotent_and_different_outputs_are_refused(writer, exam, ich) -> None:
    inference = services.record_inference(writer, exam, ich)
    outputs = Outputs(
        score=0.2,
        call="negative",
        findings=[{"label": "intracranial hemorrhage", "present": False}],
    )
    assert services.record_outputs(writer, inference, outputs).changed
    before = _entries()
    assert not services.record_outputs(writer, inference, outputs).changed
    assert _entries() == before
    with pytest.raises(ExamConflict, match="outputs"):
        services.record_outputs(writer, inference, Outputs(score=0.9, call="positive"))
    inference.refresh_from_db()
    assert inference.score == 0.2


def test_outputs_complete_an_inference_moved_to_inferred_without_them(writer, exam, ich) -> None:
    inference = services.record_inference(writer, exam, ich)
    services.move(writer, inference, "inferred")
    assert services.record_outputs(writer, inference, Outputs(score=0.5, call="none")).changed
    inference.refresh_from_db()
    assert inference.call == "none" and inference.history.count() == 2


def test_outputs_for_an_excluded_inference_are_refused(writer, exam, ich) -> None:
    inference = services.record_inference(writer, exam, ich)
    services.move(writer, inference, "excluded", reason_code="criteria_not_met")
    with pytest.raises(MoveError, match="excluded is final"):
        services.record_outputs(writer, inference, Outputs(score=0.5))
    inference.refresh_from_db()
    assert inference.score is None


def test_result_objects_are_stored_once_and_belong_to_one_inference(
    writer, exam, ich, nodule
) -> None:
    inference = services.record_inference(writer, exam, ich)
    other = services.record_inference(writer, exam, nodule)
    sop = "1.2.826.0.1.3680043.10.99.7001.1.1"
    first = services.add_result_object(
        writer,
        inference,
        kind="SR",
        sop_instance_uid=sop,
        sop_class_uid="1.2.840.10008.5.1.4.1.1.88.22",
        file_ref="spool/ab/cd/abcd.dcm",
        sha256="a" * 64,
        size=2048,
    )
    assert first.sop_uid_encrypted.reveal() == sop
    again = services.add_result_object(
        writer, inference, kind="SR", sop_instance_uid=sop, sha256="a" * 64
    )
    assert again.pk == first.pk and ResultObject.objects.count() == 1
    with pytest.raises(ExamConflict, match="different content"):
        services.add_result_object(
            writer, inference, kind="SR", sop_instance_uid=sop, sha256="b" * 64
        )
    with pytest.raises(ExamConflict, match="another inference"):
        services.add_result_object(writer, other, kind="SR", sop_instance_uid=sop)


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"kind": "XML"}, "kind"),
        ({"sop_instance_uid": "not-a-uid"}, "sop_instance_uid"),
        ({"file_ref": "/etc/passwd"}, "file_ref"),
        ({"file_ref": "spool/../../keys.json"}, "file_ref"),
        ({"sha256": "xyz"}, "sha256"),
        ({"size": -1}, "size"),
    ],
)
def test_bad_result_objects_are_named(writer, exam, ich, given, field) -> None:
    inference = services.record_inference(writer, exam, ich)
    values = {"kind": "SR", "sop_instance_uid": "1.2.3.4", **given}
    with pytest.raises(ExamError) as info:
        services.add_result_object(writer, inference, **values)
    assert field in {p.field for p in info.value.problems}
    assert ResultObject.objects.count() == 0
