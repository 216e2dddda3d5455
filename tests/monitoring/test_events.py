"""Adverse events and peer learning (IV.G.4; issue 17, second slice): a technologist reports an
AI near miss anonymously, a governance-group member reviews it, compliance finds it flagged as
possibly reportable; bad input is refused naming the field and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from radgov.core.roles import Role
from radgov.exams.errors import ExamConflict, ExamError, NotPermitted
from radgov.monitoring import events
from radgov.monitoring.models import AdverseEvent
from tests.factories import make_user

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 3)


@pytest.fixture
def tech(db):
    return make_user("mon-tech", role=Role.TECHNOLOGIST)


def test_anonymous_report_reviewed_and_flagged_for_compliance(pe, chair, tech) -> None:
    event = events.report_event(
        tech, pe, kind="near_miss", occurred_on=DAY, anonymous=True,
        description="The PE flag was shown on the wrong series; caught before sign-off.",
    )  # fmt: skip
    assert [e.pk for e in events.queue(chair)] == [event.pk]
    seen = events.event_out(event, chair)
    assert seen["reporter"] == "anonymous"
    assert events.event_out(event, tech)["reporter"] == tech.get_username()

    events.review_event(
        chair, event, finding="series mapping error after the PACS upgrade",
        factors=["workflow", "ai_error"], action="mapping fixed; vendor told", reportable="medwatch",
    )  # fmt: skip
    assert events.queue(chair) == []
    compliance = make_user("mon-compliance", role=Role.COMPLIANCE)
    flagged = events.queue(compliance, open_only=False, reportable=True)
    out = events.event_out(flagged[0], compliance)
    assert (out["factors"], out["reportable"]) == (["ai_error", "workflow"], "medwatch")
    assert out["finding"] == "series mapping error after the PACS upgrade"
    with pytest.raises(ExamConflict):
        events.review_event(chair, event, finding="x", factors=["other"], action="y")
    with pytest.raises(NotPermitted):
        events.queue(tech)


def test_bad_input_is_refused_naming_each_field(pe, chair, tech) -> None:
    with pytest.raises(ExamError) as refused:
        events.report_event(
            tech, pe, kind="oops", occurred_on=dt.date.today() + dt.timedelta(days=2),
            description=" ", inference_id=999_999,
        )  # fmt: skip
    fields = {p.field for p in refused.value.problems}
    assert fields == {"kind", "occurred_on", "description", "inference_id"}
    assert not AdverseEvent.objects.exists()
    event = events.report_event(tech, pe, kind="complication", occurred_on=DAY, description="x")
    with pytest.raises(ExamError) as refused:
        events.review_event(chair, event, finding="f", factors=["luck"], action="", reportable="x")
    assert {p.field for p in refused.value.problems} == {"factors", "action", "reportable"}
    with pytest.raises(NotPermitted):
        events.review_event(tech, event, finding="f", factors=["other"], action="a")
    assert AdverseEvent.objects.get().reviewed_at is None


def test_pages_report_then_review(pe, chair, tech) -> None:
    as_tech, as_chair = Client(), Client()
    as_tech.force_login(tech)
    as_chair.force_login(chair)
    form = {"deployment": pe.pk, "kind": "adverse_event", "occurred_on": DAY.isoformat(),
            "description": "Missed PE on the AI's negative call; treatment delayed."}  # fmt: skip
    assert as_tech.post(reverse("monitoring:report_event"), form).status_code == 302
    assert "Review queue" not in as_tech.get(reverse("monitoring:events")).content.decode()
    event = AdverseEvent.objects.get()
    review = {"finding": "AI false negative, read as reassurance", "factors": ["ai_error", "training"],
              "action": "teaching session", "reportable": ""}  # fmt: skip
    as_chair.post(reverse("monitoring:review_event", args=[event.pk]), review)
    page = as_chair.get(reverse("monitoring:events")).content.decode()
    assert "Missed PE on the AI" in page and "teaching session" in page
    assert f"Reported by {tech.get_username()}" in page


def test_open_events_go_on_the_next_meeting_agenda(pe, chair, tech) -> None:
    from django.utils import timezone

    from radgov.governance import services as governance

    admin = make_user("mon-admin", role=Role.ADMINISTRATOR)
    group = governance.create_group(
        admin, name="AI governance", members=[(chair, "chair")], joined_on=DAY
    )
    meeting = governance.create_meeting(
        chair, group, held_on=timezone.localdate() + dt.timedelta(days=7)
    )
    open_event = events.report_event(tech, pe, kind="near_miss", occurred_on=DAY, description="a")
    done = events.report_event(tech, pe, kind="near_miss", occurred_on=DAY, description="b")
    events.review_event(chair, done, finding="f", factors=["other"], action="a")

    found, added = events.to_next_agenda(chair)
    assert (found, added) == (meeting, [open_event])
    item = meeting.agenda.get()
    assert item.deployment == pe and f"#{open_event.pk}" in item.title
    as_chair = Client()
    as_chair.force_login(chair)  # the page's button: once only
    answer = as_chair.post(reverse("monitoring:events_to_agenda"), follow=True).content.decode()
    assert "0 open event(s) put on the agenda" in answer and meeting.agenda.count() == 1
    assert events.to_next_agenda(tech) == (None, [])  # not a member of any group


def test_api_report_list_review(pe, chair, tech) -> None:
    as_tech, as_chair = Client(), Client()
    as_tech.force_login(tech)
    as_chair.force_login(chair)
    url = "/api/monitoring/events"
    body = {"deployment_id": pe.pk, "kind": "near_miss", "occurred_on": DAY.isoformat(),
            "description": "flag on the wrong series", "anonymous": True}  # fmt: skip
    bad = as_tech.post(url, {**body, "inference_id": 999_999}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["errors"][0]["location"] == "inference_id"
    made = as_tech.post(url, body, content_type="application/json")
    assert made.status_code == 201 and made.json()["reporter"] == tech.get_username()
    assert as_tech.get(url).status_code == 403
    listed = as_chair.get(url).json()
    assert [(e["id"], e["reporter"]) for e in listed] == [(made.json()["id"], "anonymous")]
    review = {"finding": "mapping", "factors": ["workflow"], "action": "fixed"}
    done = as_chair.post(
        f"{url}/{made.json()['id']}/review", review, content_type="application/json"
    )
    assert done.status_code == 200 and done.json()["factors"] == ["workflow"]
    assert as_chair.get(url).json() == []
