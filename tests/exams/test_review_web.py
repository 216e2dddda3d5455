"""The reviewer's page and API (issue 16): refused with the reason until trained, then one
review, its release on the page, and every view in the audit trail."""

from __future__ import annotations

import pytest
from django.urls import reverse

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.exams.models import Inference
from tests.exams.review_world import add_end_user, train
from tests.exams.test_api import api, no_canary, post
from tests.factories import client_for, problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def inferred(practice) -> Inference:
    return Inference.objects.get(status="inferred")


@pytest.fixture
def doctor(people, inferred):  # type: ignore[no-untyped-def]
    user = people[Role.PHYSICIAN]
    add_end_user(inferred.deployment, user)
    return user


def test_the_page_refuses_an_untrained_end_user_with_the_reason_then_takes_the_review(
    doctor, inferred
) -> None:
    browser = client_for(doctor)
    listed = browser.get(reverse("exams:review_worklist"))
    assert listed.status_code == 200 and f"Study {inferred.exam_id}" in listed.content.decode()
    assert "has no current training" in listed.content.decode()
    page = reverse("exams:review_result", args=[inferred.pk])
    shown = browser.get(page).content.decode()
    assert "You cannot review this result: IV.F" in shown and "Record the review" not in shown
    form = {"decision": "accept", "concordance": "concordant", "report_states_ai": "on"}
    refused = browser.post(page, form)
    assert refused.status_code == 403 and "has no current training" in refused.content.decode()
    train(doctor, inferred.deployment)
    assert browser.post(page, form).status_code == 302
    after = browser.get(page).content.decode()
    assert "<strong>Accept</strong> by exams-physician" in after
    assert after.count("<strong>pending</strong>") == 3
    assert browser.get(reverse("exams:review_worklist")).content.decode().count("Study ") == 0
    reads = AuditEntry.objects.filter(action="read", object_type="exams.exam")
    assert {e.detail["what"] for e in reads} >= {"review worklist", "AI result for review"}
    assert AuditEntry.objects.filter(action="denied", object_type="exams.inference").count() == 1
    no_canary(refused)


def test_the_api_refuses_then_reviews_once_and_shows_the_deliveries(doctor, inferred) -> None:
    client = api(doctor)
    url = f"/api/exams/inferences/{inferred.pk}/reviews"
    body = {"decision": "accept", "concordance": "concordant", "report_states_ai": True}
    assert "has no current training" in problem(post(client, url, body), 403)
    work = client.get("/api/exams/reviews/worklist").json()
    assert [(w["inference_id"], w["may_review"]) for w in work] == [(inferred.pk, False)]
    train(doctor, inferred.deployment)
    made = post(client, url, body)
    assert made.status_code == 201 and made.json()["decision"] == "accept"
    assert "already reviewed" in problem(post(client, url, body), 422)
    seen = client.get(f"/api/exams/inferences/{inferred.pk}/review").json()
    assert seen["status"] == "released" and len(seen["deliveries"]) == 3
    bad = post(
        client,
        f"/api/exams/reviews/{made.json()['id']}/addenda",
        {"decision": "reject", "concordance": "no"},
    )
    assert problem(bad, 422).startswith("concordance")
    policy = f"/api/exams/deployments/{inferred.deployment_id}/release-policy"
    assert client.get(policy).json()["mode"] == "review_required"
    refused = client.put(policy, data={"mode": "direct_release"}, content_type="application/json")
    assert "governance group decides" in problem(refused, 403)
    no_canary(made)


def test_the_study_page_shows_each_deliverys_status(doctor, inferred) -> None:
    from radgov.exams.services import review as gate

    train(doctor, inferred.deployment)
    gate.review(
        doctor, inferred, decision="accept", concordance="concordant", report_states_ai=True
    )
    page = client_for(doctor).get(reverse("exams:study", args=[inferred.exam_id])).content.decode()
    assert "DICOM SR (TID 1500) to the PACS: <strong>pending</strong>" in page
    assert "no active destination" not in page and page.count("<strong>pending</strong>") == 3


def test_informatics_records_a_destination_on_the_page_and_tests_it(writer) -> None:
    from tests.integration.serving import free_port

    browser = client_for(writer)
    url = reverse("exams:release_settings")
    bad = browser.post(url, {"standard": "dicom_sr", "action": "save", "host": "pacs", "port": "x"})
    assert bad.status_code == 422 and "port: a TCP port" in bad.content.decode()
    form = {
        "standard": "hl7_oru",
        "action": "save",
        "host": "127.0.0.1",
        "port": str(free_port()),
        "active": "on",
    }
    assert browser.post(url, form).status_code == 302
    tested = browser.post(url, {"standard": "hl7_oru", "action": "test"}).content.decode()
    assert "Test of hl7_oru: the RIS could not be reached (ConnectionRefusedError)" in tested
    assert AuditEntry.objects.filter(object_type="exams.destination", outcome="failure").exists()
