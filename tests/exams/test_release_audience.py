"""The release policy's remaining rules (issue 16, V): the after-review audience decides
where a release goes (reviewers only: the SR to the PACS and nothing to the RIS or the
EMR; the care team: all three, the FHIR report labelled NOPAT; the patient portal: all
three unlabelled), and "the report must state the AI output and the concordance" is a
confirmation the review records, without which an accept or modify is refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from radgov.core.roles import Role
from radgov.exams.models import Delivery, Inference, Review
from radgov.exams.release import fhir
from radgov.exams.services import review as gate
from tests.exams.review_world import add_end_user, train
from tests.exams.test_api import api, post
from tests.factories import client_for, problem

pytestmark = pytest.mark.django_db

NOPAT = ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "NOPAT")


@pytest.fixture
def inferred(practice) -> Inference:
    return Inference.objects.get(status="inferred")


@pytest.fixture
def reviewer(people, inferred):  # type: ignore[no-untyped-def]
    doctor = people[Role.PHYSICIAN]
    add_end_user(inferred.deployment, doctor)
    train(doctor, inferred.deployment)
    return doctor


def _policy(people, inferred: Inference, **values: object) -> None:  # type: ignore[no-untyped-def]
    gate.set_release_policy(
        people[Role.ADMINISTRATOR], inferred.deployment, mode="review_required", **values
    )


def _labels(bundle_text: str) -> dict[str, set[tuple[str, str]]]:
    """Each resource type's security labels (system, code), read back with fhir.resources."""
    found: dict[str, set[tuple[str, str]]] = {}
    for entry in fhir.read_bundle(bundle_text).entry:
        meta = entry.resource.meta
        labels = {(c.system, c.code) for c in (meta.security if meta else None) or ()}
        found.setdefault(entry.resource.__resource_type__, set()).update(labels)
    return found


# -- who the released messages reach ----------------------------------------------------


@pytest.mark.parametrize(
    ("audience", "standards", "labelled"),
    [
        ("reviewers", {"dicom_sr"}, None),
        ("care_team", {"dicom_sr", "hl7_oru", "fhir"}, True),
        ("patient_portal", {"dicom_sr", "hl7_oru", "fhir"}, False),
    ],
)
def test_the_after_review_audience_decides_which_messages_go_out(
    people, inferred, reviewer, audience, standards, labelled
) -> None:
    _policy(people, inferred, seen_after_review=audience)
    gate.review(
        reviewer, inferred, decision="accept", concordance="concordant", report_states_ai=True
    )
    sent = {d.standard: d for d in inferred.deliveries.all()}
    assert set(sent) == standards
    if labelled is None:
        return
    labels = _labels(sent["fhir"].message.reveal())
    assert (NOPAT in labels["DiagnosticReport"]) is labelled
    assert (NOPAT in labels["Observation"]) is labelled
    assert NOPAT not in labels["Device"]


def test_a_correction_goes_only_where_the_release_went(people, inferred, reviewer) -> None:
    _policy(people, inferred, seen_after_review="reviewers")
    first = gate.review(
        reviewer, inferred, decision="accept", concordance="concordant", report_states_ai=True
    )
    _policy(people, inferred, seen_after_review="patient_portal")  # widened after the release
    gate.add_addendum(
        reviewer,
        first,
        decision="reject",
        concordance="discordant",
        reason_code="result_not_correct",
    )
    inferred.refresh_from_db()
    assert inferred.status == "withdrawn"
    fixes = inferred.deliveries.filter(correction=True)
    assert [d.standard for d in fixes] == ["dicom_sr"]  # the RIS and EMR never had it


# -- the report states the AI output and the concordance --------------------------------


def test_accepting_without_confirming_the_report_states_it_is_refused_and_changes_nothing(
    inferred, reviewer
) -> None:
    with pytest.raises(gate.ReviewError, match="report_states_ai: V: the release policy"):
        gate.review(reviewer, inferred, decision="accept", concordance="concordant")
    changed = [{"label": "subdural hematoma", "present": True}]
    with pytest.raises(gate.ReviewError) as info:
        gate.review(
            reviewer, inferred, decision="modify", concordance="discordant", findings=changed
        )
    assert [p.field for p in info.value.problems] == ["report_states_ai"]
    assert not Review.objects.exists() and not Delivery.objects.exists()
    inferred.refresh_from_db()
    assert inferred.status == "inferred"
    done = gate.review(
        reviewer, inferred, decision="accept", concordance="concordant", report_states_ai=True
    )
    assert done.report_states_ai and inferred.deliveries.count() == 3
    bundle = fhir.read_bundle(inferred.deliveries.get(standard="fhir").message.reveal())
    kinds = {e.resource.__resource_type__: e.resource for e in bundle.entry}
    report = kinds["DiagnosticReport"]
    assert "the reviewer's read is concordant with the AI" in report.conclusion


def test_a_rejection_needs_no_confirmation(inferred, reviewer) -> None:
    gate.review(
        reviewer,
        inferred,
        decision="reject",
        concordance="discordant",
        reason_code="poor_quality",
    )
    assert Review.objects.get().report_states_ai is False


def test_a_policy_that_does_not_ask_needs_no_confirmation(people, inferred, reviewer) -> None:
    _policy(people, inferred, report_states_ai=False)
    done = gate.review(reviewer, inferred, decision="accept", concordance="concordant")
    assert done.report_states_ai is False and inferred.deliveries.count() == 3


def test_the_page_asks_for_the_confirmation_and_the_api_names_the_field(inferred, reviewer) -> None:
    page = reverse("exams:review_result", args=[inferred.pk])
    browser = client_for(reviewer)
    assert 'name="report_states_ai"' in browser.get(page).content.decode()
    refused = browser.post(page, {"decision": "accept", "concordance": "concordant"})
    assert refused.status_code == 422
    assert "report_states_ai: V: the release policy requires" in refused.content.decode()
    url = f"/api/exams/inferences/{inferred.pk}/reviews"
    body = {"decision": "accept", "concordance": "concordant"}
    assert "report_states_ai" in problem(post(api(reviewer), url, body), 422)
    assert not Review.objects.exists()
    made = post(api(reviewer), url, body | {"report_states_ai": True})
    assert made.status_code == 201 and made.json()["report_states_ai"] is True
    assert "stated in the report" in browser.get(page).content.decode()
