"""The privacy officer's dashboard shows the reminders the daily task raised: a breach
notice coming due and a live deployment the Notice of Privacy Practices does not cover."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from radgov.compliance import incident_services, notices
from radgov.core.roles import Role
from tests.e2e.pages import logged_in_page
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
    notices.remind()

    page = logged_in_page(browser, live_server, officer)
    page.goto(f"{live_server.url}/")
    section = page.locator(".card", has_text="Privacy reminders")
    text = section.inner_text()
    assert f"Incident {incident.pk}: notice to individuals due" in text
    assert f"{live}: no Notice of Privacy Practices is in force" in text
    page.screenshot(path=str(tmp_path / "privacy-reminders.png"), full_page=True)
