"""An AI adverse event the governance review flags as a possible privacy breach arrives at the
privacy officer: a reminder, a row on the incidents page, and one step (page or API) to an
incident over its deployment, exam and day, whose affected patients come from the audit trail
(docs/privacy-incidents.md, "From an AI adverse event")."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from radgov.compliance import incident_services as incidents
from radgov.compliance import reminders
from radgov.compliance.models import Incident, Reminder
from radgov.compliance.retention_services import RetentionError
from radgov.core.roles import Role
from radgov.exams import services as exams
from radgov.monitoring import events
from tests.exams.conftest import head_ct, make_deployment
from tests.factories import client_for, make_user

pytestmark = pytest.mark.usefixtures("quick_passwords")


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    """Three exams of three patients sent today to the PE deployment, one to another model;
    an event on the first exam, reviewed as a possible privacy breach, and one that is not."""
    keeper = make_user("ev-informatics", role=Role.INFORMATICS)
    pe = make_deployment(keeper, "PE Finder", "Main Hospital CT")
    other = make_deployment(keeper, "LungScan Nodule", "Main Hospital CT")
    sent = []
    for n, deployment in enumerate([pe, pe, pe, other]):
        exam = exams.record_exam(
            keeper, head_ct(uid=f"1.2.7.{n}", patient_id=f"EV{n}", accession_number=f"E{n}"),
            source="api",
        ).exam  # fmt: skip
        inference = exams.record_inference(keeper, exam, deployment)
        exams.move(keeper, inference, "sent")
        sent.append(inference)
    tech = make_user("ev-tech", role=Role.TECHNOLOGIST)
    chair = make_user("ev-chair", role=Role.PHYSICIAN, is_governance_member=True)
    today = timezone.localdate()
    flagged = events.report_event(
        tech, pe, kind="adverse_event", occurred_on=today, inference_id=sent[0].pk,
        description="The model's worklist export went to a shared folder outside the BAA.",
    )  # fmt: skip
    events.review_event(
        chair, flagged, finding="results for today's exams copied to an open share",
        factors=["ai_error"], action="share closed; vendor told", reportable="privacy",
    )  # fmt: skip
    plain = events.report_event(tech, pe, kind="near_miss", occurred_on=today, description="x")
    return {"pe": pe, "sent": sent, "flagged": flagged, "plain": plain}


def test_a_flagged_event_is_reminded_and_becomes_an_incident_in_one_step_on_the_page(
    officer: Any, world: dict[str, Any]
) -> None:
    flagged, pe = world["flagged"], world["pe"]
    reminders.remind()
    assert Reminder.objects.get(key=f"event:{flagged.pk}").cleared_at is None
    client = client_for(officer)
    page = client.get("/compliance/incidents/").content.decode()
    assert f"/compliance/incidents/from-event/{flagged.pk}/" in page
    assert f"from-event/{world['plain'].pk}/" not in page  # not flagged: not here
    assert "open share" not in page and "shared folder" not in page  # the texts stay there

    answer = client.post(f"/compliance/incidents/from-event/{flagged.pk}/")
    incident = Incident.objects.get()
    assert answer.status_code == 302 and answer["Location"].endswith(f"/{incident.pk}/")
    assert incident.adverse_event == flagged and incident.source == "adverse_event"
    assert incident.deployment == pe and incident.exam_id == world["sent"][0].exam_id
    start = timezone.localtime(incident.window_start)
    assert start.date() == flagged.occurred_on and start.hour == 0
    assert incident.window_end - incident.window_start == dt.timedelta(days=1)
    # the three exams sent to this deployment today, by the audit trail; not the other model's
    assert incident.affected_count == 3
    shown = client.get(f"/compliance/incidents/{incident.pk}/").content.decode()
    due = incident.discovered_on + dt.timedelta(days=60)
    assert f"adverse event {flagged.pk}" in shown and f"{due:%Y-%m-%d}" in shown

    again = client.post(f"/compliance/incidents/from-event/{flagged.pk}/", follow=True)
    assert "already an incident" in again.content.decode() and Incident.objects.count() == 1
    assert reminders.remind()["cleared"] == 1


def test_the_api_opens_it_and_other_roles_and_unflagged_events_are_refused(
    officer: Any, world: dict[str, Any]
) -> None:
    flagged, plain = world["flagged"], world["plain"]
    governor = make_user("ev-governor", role=Role.PHYSICIAN, is_governance_member=True)
    for user in (governor, make_user("ev-admin", role=Role.ADMINISTRATOR)):
        denied = client_for(user)
        assert denied.get("/api/compliance/privacy-events").status_code == 403
        assert (
            denied.post(f"/api/compliance/privacy-events/{flagged.pk}/incident").status_code == 403
        )
        assert denied.post(f"/compliance/incidents/from-event/{flagged.pk}/").status_code == 403
    with pytest.raises(RetentionError, match="only the compliance role"):
        incidents.incident_from_event(governor, flagged)
    assert not Incident.objects.exists()

    client = client_for(officer)
    listed = client.get("/api/compliance/privacy-events").json()
    assert [e["id"] for e in listed] == [flagged.pk] and "description" not in listed[0]
    refused = client.post(f"/api/compliance/privacy-events/{plain.pk}/incident")
    assert refused.status_code == 422 and "not flagged" in refused.json()["detail"]
    assert client.post("/api/compliance/privacy-events/999999/incident").status_code == 404
    made = client.post(f"/api/compliance/privacy-events/{flagged.pk}/incident")
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["adverse_event_id"] == flagged.pk and body["deployment_id"] == world["pe"].pk
    assert body["affected_count"] == 3 and body["deadlines"][0]["notice"] == "individuals"
    assert client.get("/api/compliance/privacy-events").json() == []
