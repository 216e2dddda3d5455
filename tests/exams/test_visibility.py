"""Who sees an AI result's output (issue 16, V): the release policy's ``seen_before_review``
and ``seen_after_review``, enforced by ``radgov.exams.visibility`` on every page and API
answer that shows the score, call, findings or result objects; a hidden output is "not
visible before review" on a page, null with ``hidden_reason`` on the API, and audited.
Also the release policy's form on the release-settings page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.exams import visibility
from radgov.exams.models import Inference, ReleasePolicy
from radgov.exams.services import review as gate
from tests.exams.review_world import add_end_user, direct_release_decision
from tests.exams.test_api import api
from tests.factories import client_for, make_user

pytestmark = pytest.mark.django_db

FINDING = "intracranial hemorrhage: present, left frontal"
OTHERS = (
    Role.PHYSICIAN,
    Role.TECHNOLOGIST,
    Role.INFORMATICS,
    Role.ADMINISTRATOR,
    Role.COMPLIANCE,
    Role.MEDICAL_PHYSICIST,
    Role.DATA_SCIENTIST,
)


@pytest.fixture
def inferred(practice) -> Inference:
    return Inference.objects.get(status="inferred")


@pytest.fixture
def reviewer(people, inferred):  # type: ignore[no-untyped-def]
    """A physician who is a qualified end-user of the ICH deployment (not trained: seeing
    what they are to review does not wait for training)."""
    user = make_user("ich-reviewer", role=Role.PHYSICIAN)
    add_end_user(inferred.deployment, user)
    return user


def _reject(inferred: Inference) -> None:
    """A review (a rejection: nothing is built or sent) by a trained end-user."""
    from tests.exams.review_world import train

    judge = make_user("ich-judge", role=Role.PHYSICIAN)
    add_end_user(inferred.deployment, judge)
    train(judge, inferred.deployment)
    gate.review(
        judge, inferred, decision="reject", concordance="discordant", reason_code="poor_quality"
    )


def _who_sees(people, reviewer, inferred) -> set[str]:  # type: ignore[no-untyped-def]
    row = Inference.objects.get(pk=inferred.pk)
    viewers = {"reviewer": reviewer, **{str(r): people[r] for r in OTHERS}}
    return {name: visibility.hidden_reasons(u, [row]) for name, u in viewers.items()}


def test_each_role_sees_the_output_as_the_policy_says_before_and_after_review(
    people, reviewer, inferred
) -> None:
    care_team = {"reviewer", "physician", "technologist"}
    before = _who_sees(people, reviewer, inferred)  # the default: reviewers, then care team
    assert {n for n, h in before.items() if not h} == {"reviewer"}
    assert before["technologist"] == {inferred.pk: "not visible before review"}
    gate.set_release_policy(
        people[Role.ADMINISTRATOR],
        inferred.deployment,
        mode="review_required",
        seen_before_review="patient_portal",
        seen_after_review="reviewers",
    )
    assert {n for n, h in _who_sees(people, reviewer, inferred).items() if not h} == care_team
    _reject(inferred)
    after = _who_sees(people, reviewer, inferred)
    assert {n for n, h in after.items() if not h} == {"reviewer"}
    assert after["physician"] == {inferred.pk: "not visible to your role after review"}
    gate.set_release_policy(
        people[Role.ADMINISTRATOR], inferred.deployment, mode="review_required"
    )  # the defaults: reviewers before review, the care team after
    assert {n for n, h in _who_sees(people, reviewer, inferred).items() if not h} == care_team


def test_an_inference_without_output_hides_nothing_and_is_not_audited(people, practice) -> None:
    rows = list(Inference.objects.exclude(status="inferred"))
    assert rows and visibility.mark(people[Role.TECHNOLOGIST], rows, what="test") == {}
    assert not AuditEntry.objects.filter(action="denied").exists()


def test_pages_hide_the_output_before_review_and_audit_it_then_show_it_after(
    people, reviewer, inferred
) -> None:
    tech = client_for(people[Role.TECHNOLOGIST])
    study = reverse("exams:study", args=[inferred.exam_id])
    page = tech.get(study).content.decode()
    assert "AI output not visible before review" in page and FINDING not in page
    listed = tech.get(reverse("exams:worklist")).content.decode()
    assert "not visible before review" in listed and "score 0.91" not in listed
    denied = AuditEntry.objects.filter(action="denied", object_type="exams.inference")
    assert [e.detail["inferences"] for e in denied] == [[inferred.pk], [inferred.pk]]
    assert {e.detail["what"] for e in denied} == {
        "AI output in study status",
        "AI output in worklist",
    }
    mine = client_for(reviewer)
    assert FINDING in mine.get(study).content.decode()
    assert "score 0.91" in mine.get(reverse("exams:worklist")).content.decode()
    queue = mine.get(reverse("exams:review_worklist")).content.decode()
    assert "Positive" in queue and "0.910" in queue
    result = mine.get(reverse("exams:review_result", args=[inferred.pk])).content.decode()
    assert "0.910" in result and "intracranial hemorrhage: present" in result
    stranger = client_for(people[Role.PHYSICIAN])  # a physician, not its end-user
    hidden = stranger.get(reverse("exams:review_result", args=[inferred.pk])).content.decode()
    assert "AI output not visible before review" in hidden and "0.910" not in hidden
    _reject(inferred)
    assert FINDING in tech.get(study).content.decode()


def test_the_api_answers_null_with_the_reason_before_review_and_the_output_after(
    people, reviewer, inferred
) -> None:
    url = f"/api/exams/inferences/{inferred.pk}"
    tech = api(people[Role.TECHNOLOGIST])
    hidden = tech.get(url).json()
    assert {k: hidden[k] for k in ("score", "call", "confidence", "findings", "results")} == {
        "score": None,
        "call": None,
        "confidence": None,
        "findings": None,
        "results": None,
    }
    assert hidden["hidden_reason"] == "not visible before review" and hidden["status"] == "inferred"
    listed = tech.get("/api/exams/inferences?status=inferred").json()["items"]
    assert [(i["score"], i["hidden_reason"]) for i in listed] == [
        (None, "not visible before review")
    ]
    exams = tech.get("/api/exams/exams").json()["items"]
    assert {i["call"] for e in exams for i in e["inferences"] if i["id"] == inferred.pk} == {None}
    assert AuditEntry.objects.filter(action="denied", object_type="exams.inference").count() == 3
    writer = api(people[Role.INFORMATICS])  # records AI results, is no reader of them
    assert writer.get(url).json()["findings"] is None
    mine = api(reviewer)
    shown = mine.get(url).json()
    assert (shown["score"], shown["call"], shown["hidden_reason"]) == (0.91, "positive", None)
    assert mine.get("/api/exams/reviews/worklist").json()[0]["score"] == 0.91
    review = mine.get(f"{url}/review").json()
    assert review["findings"][0]["label"] == "intracranial hemorrhage"
    stranger = api(people[Role.PHYSICIAN]).get(f"{url}/review").json()
    assert (stranger["findings"], stranger["score"]) == (None, None)
    _reject(inferred)
    after = tech.get(url).json()
    assert after["score"] == 0.91 and after["hidden_reason"] is None
    assert writer.get(url).json()["hidden_reason"] == "not visible to your role after review"


# -- the release policy's form ---------------------------------------------------------


def _form(deployment_id: int, **changes: str) -> dict[str, str]:
    return {
        "action": "policy",
        "deployment": str(deployment_id),
        "mode": "review_required",
        "decision": "",
        "seen_before_review": "reviewers",
        "seen_after_review": "care_team",
        "report_states_ai": "on",
    } | changes


def test_the_governance_group_records_the_policy_on_the_page(people, inferred) -> None:
    member = make_user("gov-radiologist", role=Role.PHYSICIAN, is_governance_member=True)
    url = reverse("exams:release_settings")
    browser = client_for(member)
    page = browser.get(url).content.decode()
    assert "Record the policy" in page and "Test connection" not in page and "PACS AE" not in page
    direct = _form(inferred.deployment_id, mode="direct_release")
    refused = browser.post(url, direct)
    assert refused.status_code == 422 and "direct release needs the governance decision" in (
        refused.content.decode()
    )
    assert not ReleasePolicy.objects.exists()
    why = direct_release_decision(inferred.deployment, why="a triage notification only")
    done = browser.post(url, direct | {"decision": str(why.pk), "seen_before_review": "care_team"})
    assert done.status_code == 302
    policy = ReleasePolicy.objects.get(deployment=inferred.deployment)
    assert (policy.mode, policy.decision_id, policy.seen_before_review, policy.set_by) == (
        "direct_release",
        why.pk,
        "care_team",
        member,
    )
    shown = browser.get(url).content.decode()
    assert f"decision {why.pk}: Release ICH triage" in shown


def test_a_reader_outside_the_governance_group_is_refused_and_audited(people, inferred) -> None:
    url = reverse("exams:release_settings")
    browser = client_for(people[Role.TECHNOLOGIST])
    page = browser.get(url).content.decode()
    assert "None recorded: review required." in page and "Record the policy" not in page
    refused = browser.post(url, _form(inferred.deployment_id))
    assert refused.status_code == 403 and "the governance group decides" in refused.content.decode()
    assert not ReleasePolicy.objects.exists()
    entry = AuditEntry.objects.get(action="denied", object_type="route")
    assert entry.object_id == "exams:release_settings"
    saved = browser.post(url, {"action": "save", "standard": "fhir", "base_url": "http://x"})
    assert saved.status_code == 403  # destinations stay with informatics and administrators
    assert client_for(people[Role.VENDOR]).get(url).status_code == 403
