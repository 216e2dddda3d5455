"""The privacy officer's dashboard shows the reminders the daily task raised: a breach
notice coming due and a live deployment the Notice of Privacy Practices does not cover."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from radgov.compliance import incident_services, reminders
from radgov.core.roles import Role
from tests.e2e.pages import follow, logged_in_page
from tests.factories import make_user
from tests.gateway.conftest import deployment


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_the_privacy_officer_sees_the_reminders_on_the_dashboard(
    live_server, browser, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    officer = make_user("privacy.lee", role=Role.COMPLIANCE, first_name="Ana", last_name="Lee")
    live = deployment("Chest AI", {})
    now = timezone.now()
    incident = incident_services.open_incident(
        officer, title="A lost laptop", what="an unencrypted laptop",
        discovered_on=timezone.localdate() - dt.timedelta(days=50), discovered_by="it",
        actor_names=["nobody"], window_start=now, window_end=now,
    )  # fmt: skip
    reminders.remind()

    page = logged_in_page(browser, live_server, officer)
    page.goto(f"{live_server.url}/")
    section = page.locator(".card", has_text="Privacy reminders")
    text = section.inner_text()
    assert f"Incident {incident.pk}: notice to individuals due" in text
    assert f"{live}: no Notice of Privacy Practices is in force" in text
    page.screenshot(path=str(tmp_path / "privacy-reminders.png"), full_page=True)


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_the_privacy_officer_records_the_notice_and_its_coverage_on_its_page(
    live_server, browser, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    officer = make_user("privacy.kim", role=Role.COMPLIANCE)
    covered, uncovered = deployment("Chest AI", {}), deployment("Fracture AI", {})
    page = logged_in_page(browser, live_server, officer)
    page.goto(f"{live_server.url}/")
    follow(page.get_by_role("link", name="Notice of Privacy Practices"))
    page.fill("input[name=version]", "2026-01")
    page.fill("input[name=effective_on]", timezone.localdate().isoformat())
    page.fill("textarea[name=uses]", "treatment, payment, operations; AI analysis of images")
    follow(page.get_by_role("button", name="Record"))
    assert "2026-01" in page.locator("#notice").inner_text()
    row = page.locator("#coverage tr", has_text=str(covered))
    row.locator("input[name=note]").fill("section 3, AI analysis")
    follow(row.get_by_role("button", name="Save"))
    flagged = page.locator("#coverage tr", has_text="flagged:")
    assert flagged.count() == 1 and str(uncovered) in flagged.inner_text()
    assert "1 flagged." in page.inner_text("main")
    page.screenshot(path=str(tmp_path / "privacy-notice.png"), full_page=True)
