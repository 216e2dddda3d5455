"""Issue 17's "Done when" in Chromium: a technologist reports an AI adverse event on the
peer-learning page, a governance-group member puts the open events on the next meeting's
agenda and finds it there, then records the non-punitive review.  Screenshots are kept for a
person to look at (RADGOV_E2E_SHOTS)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from radgov.core.roles import Role
from radgov.governance import services as governance
from radgov.monitoring.models import AdverseEvent
from tests.e2e.pages import follow, logged_in_page
from tests.exams.conftest import make_deployment
from tests.factories import make_user

WHAT = "The AI called the CT negative; a small PE was found the next day."


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_report_agenda_and_review(live_server, browser, shots) -> None:  # type: ignore[no-untyped-def]
    chair = make_user("ae-e2e-chair", role=Role.PHYSICIAN, is_governance_member=True)
    tech = make_user("ae-e2e-tech", role=Role.TECHNOLOGIST)
    admin = make_user("ae-e2e-admin", role=Role.ADMINISTRATOR)
    pe = make_deployment(make_user("ae-e2e-it", role=Role.INFORMATICS), "PE Finder", "Main CT")
    today = timezone.localdate()
    group = governance.create_group(
        admin, name="AI governance", members=[(chair, "chair")], joined_on=today
    )
    meeting = governance.create_meeting(chair, group, held_on=today + dt.timedelta(days=7))

    page = logged_in_page(browser, live_server, tech)
    page.goto(f"{live_server.url}/monitoring/events/")
    form = page.locator("#report-event form")
    form.get_by_label("Deployment").select_option(str(pe.pk))
    form.get_by_label("Kind").select_option("adverse_event")
    form.get_by_label("When").fill(today.isoformat())
    form.get_by_label("What happened").fill(WHAT)
    form.get_by_label("Stay anonymous to the reviewers").check()
    follow(form.get_by_role("button", name="Report"))
    assert page.locator("#queue").count() == 0  # a technologist does not read the queue
    event = AdverseEvent.objects.get()
    assert event.reporter == tech and event.anonymous

    page = logged_in_page(browser, live_server, chair)
    page.goto(f"{live_server.url}/monitoring/events/")
    follow(page.get_by_role("button", name="Put open events on the next meeting's agenda"))
    article = page.locator("article.event", has_text=WHAT)
    assert "On the agenda of" in article.inner_text()
    assert tech.username not in article.inner_text()  # anonymous to the reviewers
    page.goto(f"{live_server.url}/governance/meetings/{meeting.pk}/")
    assert f"#{event.pk}" in page.inner_text("main") and "peer learning" in page.inner_text("main")
    page.screenshot(path=str(shots / "adverse-event-agenda.png"), full_page=True)

    page.goto(f"{live_server.url}/monitoring/events/")
    review = page.locator("article.event", has_text=WHAT).locator("form")
    review.get_by_label("Finding").fill("AI false negative, read as reassurance")
    review.get_by_label("AI error").check()
    review.get_by_label("Action").fill("Teaching session on the IFU's limits")
    review.get_by_label("Reportable").select_option("medwatch")
    follow(review.get_by_role("button", name="Record the review"))
    done = page.locator("article.event", has_text=WHAT).inner_text()
    assert "Teaching session on the IFU's limits" in done and "May be reportable" in done
    page.screenshot(path=str(shots / "adverse-event-reviewed.png"), full_page=True)
    event.refresh_from_db()
    assert event.reviewed_by == chair and event.factors == ["ai_error"]
