"""A deployment's monitoring page in Chromium: the discordance chart drawn (an SVG with the
daily line and the signal rule), the labeller's warning beside the figures, and the alert that
the 7-days-above-baseline rule opened.  The screenshot is kept for a person to look at."""

from __future__ import annotations

import pytest

from radgov.core.roles import Role
from radgov.monitoring import configure, tasks
from tests.e2e.pages import follow, logged_in_page
from tests.exams.conftest import make_deployment
from tests.factories import make_user
from tests.monitoring.conftest import BASELINE, drifting, synthetic


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_the_monitoring_page_draws_its_chart(live_server, browser, shots) -> None:  # type: ignore[no-untyped-def]
    chair = make_user("mon-e2e-chair", role=Role.PHYSICIAN, is_governance_member=True)
    pe = make_deployment(
        make_user("mon-e2e-it", role=Role.INFORMATICS), "PE Finder", "Main Hospital CT"
    )
    configure.set_watch(
        chair,
        pe,
        finding="pulmonary_embolism",
        baseline_start=BASELINE[0],
        baseline_end=BASELINE[1],
    )
    synthetic(pe, drifting(days=10))
    tasks.check_alarms.call_local()

    page = logged_in_page(browser, live_server, chair, width=1366, height=900)
    page.goto(f"{live_server.url}/monitoring/")
    follow(page.get_by_role("link", name=str(pe)).first)
    assert page.locator("h1").inner_text() == str(pe)
    page.screenshot(path=str(shots / "monitoring-deployment.png"), full_page=True)
    chart = page.locator("#discordance-chart svg")
    box = chart.bounding_box()
    assert box is not None and box["width"] > 500 and box["height"] > 150
    assert chart.locator("path").count() >= 3  # the band, the daily line, the signal rule
    assert "Daily discordance against the baseline" in chart.inner_html()
    assert "has not been measured here" in page.locator("#labeller-accuracy").inner_text()
    assert "7 days in a row above the baseline" in page.locator("main").inner_text()
