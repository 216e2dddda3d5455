"""The review gate (issue 16, V and IV.F): who may review, one review then addenda, release
only after an accepting or modifying review or under a governance decision's direct release."""

from __future__ import annotations

import pytest

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.exams import services
from radgov.exams.errors import MoveError, NotPermitted
from radgov.exams.models import Delivery, Inference, Review
from radgov.exams.release import fhir, hl7
from radgov.exams.services import review as gate
from tests.exams.review_world import add_end_user, direct_release_decision, train
from tests.factories import make_user

STATUSED = ("DiagnosticReport", "Observation")


@pytest.fixture
def inferred(practice) -> Inference:
    return Inference.objects.get(status="inferred")


@pytest.fixture
def reviewer(people, inferred):
    doctor = people[Role.PHYSICIAN]
    add_end_user(inferred.deployment, doctor)
    train(doctor, inferred.deployment)
    return doctor


def test_an_untrained_end_user_is_refused_with_the_reason_and_the_refusal_is_audited(
    people, inferred
) -> None:
    doctor = people[Role.PHYSICIAN]
    add_end_user(inferred.deployment, doctor)
    with pytest.raises(NotPermitted, match="IV.F: exams-physician has no current training"):
        gate.review(
            doctor, inferred, decision="accept", concordance="concordant", report_states_ai=True
        )
    denied = AuditEntry.objects.get(action="denied", object_type="exams.inference")
    assert denied.object_id == str(inferred.pk) and "IV.F" in denied.detail_json
    assert not Review.objects.exists() and not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("role", "says"),
    [
        (Role.VENDOR, "III.F"),
        (Role.TECHNOLOGIST, "only a qualified end-user"),
        (Role.PHYSICIAN, "is not a qualified end-user"),
    ],
)
def test_vendors_other_roles_and_physicians_of_other_deployments_are_refused(
    people, inferred, role, says
) -> None:
    with pytest.raises(NotPermitted, match=says):
        gate.review(
            people[role],
            inferred,
            decision="accept",
            concordance="concordant",
            report_states_ai=True,
        )
    assert not Review.objects.exists()


def test_accepting_releases_once_with_three_messages_and_a_second_review_is_refused(
    reviewer, inferred
) -> None:
    done = gate.review(
        reviewer, inferred, decision="accept", concordance="concordant", report_states_ai=True
    )
    inferred.refresh_from_db()
    assert done.decision == "accept" and inferred.status == "released"
    deliveries = {d.standard: d for d in inferred.deliveries.all()}
    assert set(deliveries) == {"dicom_sr", "hl7_oru", "fhir"}
    assert all(d.status == "pending" and not d.correction for d in deliveries.values())
    oru = hl7.read_oru(deliveries["hl7_oru"].message.reveal())
    assert oru.msh.msh_10.value == deliveries["hl7_oru"].message_id
    with pytest.raises(gate.ReviewError, match="already reviewed; add an addendum"):
        gate.review(
            reviewer,
            inferred,
            decision="reject",
            concordance="discordant",
            reason_code="result_not_correct",
        )
    assert Review.objects.count() == 1 and Delivery.objects.count() == 3


def test_a_rejected_result_is_never_released(reviewer, inferred, writer) -> None:
    gate.review(
        reviewer,
        inferred,
        decision="reject",
        concordance="discordant",
        reason_code="input_not_valid",
    )
    with pytest.raises(MoveError, match="a rejected result is never released"):
        services.move(writer, inferred, "released")
    inferred.refresh_from_db()
    assert inferred.status == "inferred" and not Delivery.objects.exists()


def test_release_without_a_review_is_refused_by_the_status_table(inferred, writer) -> None:
    with pytest.raises(MoveError, match="not been reviewed by a qualified end-user"):
        services.move(writer, inferred, "released")


def test_bad_reviews_name_every_field_and_change_nothing(reviewer, inferred) -> None:
    with pytest.raises(gate.ReviewError) as info:
        gate.review(reviewer, inferred, decision="reject", concordance="maybe")
    assert {p.field for p in info.value.problems} == {"concordance", "reason_code"}
    with pytest.raises(gate.ReviewError, match="reason: say why"):
        gate.review(
            reviewer, inferred, decision="reject", concordance="discordant", reason_code="other"
        )
    with pytest.raises(gate.ReviewError, match="findings: a modified result needs"):
        gate.review(reviewer, inferred, decision="modify", concordance="discordant")
    assert not Review.objects.exists()


def test_a_modified_result_goes_out_with_the_reviewers_findings(reviewer, inferred) -> None:
    changed = [{"label": "subdural hematoma", "present": True, "location": "right convexity"}]
    done = gate.review(
        reviewer,
        inferred,
        decision="modify",
        concordance="discordant",
        findings=changed,
        report_states_ai=True,
    )
    assert done.findings == changed and inferred.findings != changed  # the AI's kept beside
    bundle = fhir.read_bundle(inferred.deliveries.get(standard="fhir").message.reveal())
    observations = [
        e.resource for e in bundle.entry if e.resource.__resource_type__ == "Observation"
    ]
    assert [o.code.text for o in observations] == ["subdural hematoma"]


def test_an_addendum_rejecting_a_released_result_withdraws_it_with_corrections(
    reviewer, inferred
) -> None:
    first = gate.review(
        reviewer, inferred, decision="accept", concordance="concordant", report_states_ai=True
    )
    later = gate.add_addendum(
        reviewer,
        first,
        decision="reject",
        concordance="discordant",
        reason_code="result_not_correct",
        reason="no bleed on review",
    )
    inferred.refresh_from_db()
    assert later.amends == first and inferred.status == "withdrawn"
    first.refresh_from_db()
    assert first.decision == "accept"  # never overwritten
    fixes = {d.standard: d for d in inferred.deliveries.filter(correction=True)}
    assert (
        hl7.read_oru(
            fixes["hl7_oru"].message.reveal()
        ).oru_r01_patient_result.oru_r01_order_observation.obr.obr_25.value
        == "C"
    )
    bundle = fhir.read_bundle(fixes["fhir"].message.reveal())
    reported = [e.resource for e in bundle.entry if e.resource.__resource_type__ in STATUSED]
    assert len(reported) == 2 and {r.status for r in reported} == {"entered-in-error"}


def test_direct_release_needs_a_governance_decision_that_says_why(people, inferred, writer):
    admin = make_user("gov-admin", role=Role.ADMINISTRATOR)
    with pytest.raises(gate.ReviewError, match="decision: V: direct release needs"):
        gate.set_release_policy(admin, inferred.deployment, mode="direct_release")
    mute = direct_release_decision(inferred.deployment)
    with pytest.raises(gate.ReviewError, match="must say why"):
        gate.set_release_policy(admin, inferred.deployment, mode="direct_release", decision=mute)
    with pytest.raises(gate.ReviewError, match="released after review only"):
        gate.release_direct(writer, inferred)
    with pytest.raises(NotPermitted, match="governance group decides"):
        gate.set_release_policy(people[Role.PHYSICIAN], inferred.deployment, mode="review_required")
    why = direct_release_decision(
        inferred.deployment, why="Triage notification; never in the record"
    )
    gate.set_release_policy(admin, inferred.deployment, mode="direct_release", decision=why)
    gate.release_direct(writer, inferred)
    inferred.refresh_from_db()
    assert inferred.status == "released" and inferred.deliveries.count() == 3
    assert (
        "without physician review" in inferred.deliveries.get(standard="hl7_oru").message.reveal()
    )


def test_the_conformance_audit_names_the_decision_behind_direct_release(inferred) -> None:
    from django.utils import timezone

    from radgov.governance.conformance.checks import REGISTRY, Context, Status

    d = inferred.deployment
    run = REGISTRY["release_gate"].run
    assert run(d, Context(at=timezone.now(), meeting_months=3)).status == Status.FAIL
    admin = make_user("gov-admin", role=Role.ADMINISTRATOR)
    why = direct_release_decision(d, why="Triage notification; never in the record")
    gate.set_release_policy(admin, d, mode="direct_release", decision=why)
    line = run(d, Context(at=timezone.now(), meeting_months=3))
    assert line.status == Status.PASS and f"decision {why.pk}: Triage notification" in line.found


def test_under_direct_release_a_result_goes_out_as_it_arrives(writer, ich) -> None:
    from radgov.exams.outputs import Outputs
    from tests.exams.conftest import head_ct

    admin = make_user("gov-admin", role=Role.ADMINISTRATOR)
    why = direct_release_decision(ich, why="Triage notification; never in the record")
    gate.set_release_policy(admin, ich, mode="direct_release", decision=why)
    exam = services.record_exam(writer, head_ct(), source="api").exam
    inference = services.record_inference(writer, exam, ich)
    services.record_outputs(writer, inference, Outputs(score=0.2, call="negative", findings=[]))
    inference.refresh_from_db()
    assert inference.status == "released" and not inference.reviews.exists()
    assert inference.deliveries.count() == 3


def test_a_withdrawal_by_any_path_sends_the_corrections(reviewer, inferred, writer) -> None:
    gate.review(
        reviewer, inferred, decision="accept", concordance="concordant", report_states_ai=True
    )
    services.move(writer, inferred, "withdrawn", reason_code="released_in_error")
    fixes = inferred.deliveries.filter(correction=True)
    assert sorted(fixes.values_list("standard", flat=True)) == ["dicom_sr", "fhir", "hl7_oru"]
    oru = hl7.read_oru(fixes.get(standard="hl7_oru").message.reveal())
    assert oru.oru_r01_patient_result.oru_r01_order_observation.obr.obr_25.value == "C"


def test_the_reviewers_words_stay_out_of_the_audit_trail(reviewer, inferred) -> None:
    words = "Patient-specific words CANARY-REASON-42"
    gate.review(
        reviewer,
        inferred,
        decision="reject",
        concordance="discordant",
        reason_code="other",
        reason=words,
    )
    assert Review.objects.get().reason == words
    assert not AuditEntry.objects.filter(changes_json__contains="CANARY-REASON").exists()
