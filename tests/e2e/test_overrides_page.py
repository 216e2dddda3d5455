"""Issue 17 in Chromium: the override and engagement funnels drawn with the one radiologist
beyond the limits and the one the PACS says leaves most results unopened, whose training offer
opens the training record form for them; a radiologist's own view with their point alone; and a
deployment's
label-free estimate shown as an estimate beside the drift.  Screenshots are kept for a person
to look at (RADGOV_E2E_SHOTS)."""

from __future__ import annotations

import datetime as dt

import pytest

from radgov.core.roles import Role
from radgov.monitoring import drift, interactions
from radgov.training import services as training
from tests.e2e.pages import follow, logged_in_page
from tests.exams.conftest import make_deployment
from tests.factories import make_user
from tests.monitoring.test_drift import START, seed
from tests.monitoring.test_estimate import REFERENCE_END, compare_reference
from tests.monitoring.test_overrides import OVERRIDDEN, rad_d_leaves_most_unopened, seed_reviews


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_funnel_training_offer_and_estimate(live_server, browser, shots) -> None:  # type: ignore[no-untyped-def]
    chair = make_user("ovr-e2e-chair", role=Role.PHYSICIAN, is_governance_member=True)
    pe = make_deployment(
        make_user("ovr-e2e-it", role=Role.INFORMATICS), "PE Finder", "Main Hospital CT"
    )
    readers = {name: make_user(name, role=Role.PHYSICIAN) for name in OVERRIDDEN}
    seed_reviews(pe, readers)
    # the PACS reports rad-d left 60 of their 100 results unopened, the others 3
    it = make_user("ovr-e2e-pacs", role=Role.INFORMATICS)
    interactions.record_interactions(it, rad_d_leaves_most_unopened(readers))
    training.create_procedure(
        chair, model_version=pe.model_version, required_roles=["physician"],
        is_supplemental=True, title="Using PE Finder well", content="Cases it misses.",
        complexity="basic", complexity_note="A short briefing.",
    )  # fmt: skip

    page = logged_in_page(browser, live_server, chair, width=1366, height=900)
    page.goto(f"{live_server.url}/monitoring/overrides/?deployment={pe.pk}")
    page.screenshot(path=str(shots / "monitoring-overrides.png"), full_page=True)
    chart = page.locator("#funnel-chart svg")
    box = chart.bounding_box()
    assert box is not None and box["width"] > 400 and box["height"] > 200
    assert "Override rate by volume" in chart.inner_html()
    assert "flagged" in page.locator("#funnel-chart figcaption").inner_text()
    engagement = page.locator("#engagement-chart svg")
    engagement.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "monitoring-overrides-engagement.png"))
    assert "Engagement by volume" in engagement.inner_html()
    assert engagement.locator("text", has_text="rad-d").count() == 1  # named beside its mark
    flagged = page.locator("tr.flagged")
    assert [flagged.nth(i).locator("td").first.inner_text() for i in range(2)] == ["rad-d", "rad-e"]
    assert "0.400" in flagged.nth(0).inner_text()  # rad-d opened 40 of 100
    # opening more than the practice is no concern: said so, not flagged
    assert "above the practice's (no concern)" in page.locator("tr", has_text="rad-a").inner_text()
    follow(
        page.locator("tr.flagged", has_text="rad-e").get_by_role(
            "link", name="Offer supplemental training"
        )
    )
    assert page.url.startswith(f"{live_server.url}/training/records/new/")
    chosen = page.locator("select[name=user] option:checked").inner_text()
    assert chosen.startswith("rad-e")

    # a radiologist sees their own point alone against the limits, no peer's
    own = logged_in_page(browser, live_server, readers["rad-a"], width=1366, height=900)
    own.goto(f"{live_server.url}/monitoring/overrides/?deployment={pe.pk}")
    own.screenshot(path=str(shots / "monitoring-overrides-own.png"), full_page=True)
    drawn = own.locator("#funnel-chart svg").inner_html()
    assert drawn.count('aria-roledescription="point"') == 1 and "user: rad-a;" in drawn
    assert not any(peer in own.content() for peer in OVERRIDDEN if peer != "rad-a")

    seed(pe)
    drift.set_reference(chair, pe, reference_start=START, reference_end=REFERENCE_END)
    compare_reference(pe, lambda p: p)
    page.goto(f"{live_server.url}/monitoring/deployments/{pe.pk}/")
    section = page.locator("#label-free")
    section.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "monitoring-estimate.png"), full_page=True)
    assert "an estimate, not a measurement" in section.locator("h2").inner_text()
    assert "(estimated)" in section.locator("thead").inner_text()
    assert dt.date.today().isoformat() in section.inner_text()  # the current window ends today
