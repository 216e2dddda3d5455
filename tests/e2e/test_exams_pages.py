"""The record of AI use as people see it, on the demo practice: the AI worklist (counts,
filters, a rejected study's reason) as a technologist, a study's status with its timeline
and identifiers as a physician, and without identifiers as a data scientist."""

from __future__ import annotations

import os

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth import get_user_model
from django.core.management import call_command

from radgov.exams.models import Inference
from tests.e2e.pages import follow, logged_in_page


def _person(username: str):  # type: ignore[no-untyped-def]
    user = get_user_model().objects.get(username=username)
    TOTP.activate(user, generate_totp_secret())  # the demo's people enroll at first login
    return user


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
def test_exams_pages_on_the_demo_practice(
    live_server, browser, shots, tmp_path_factory, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # the simulator as an installed radgov registers it: the demo's gateway sends three
    # studies through it (one rejected by it, two inferred)
    monkeypatch.setenv("RADGOV_LOCAL_MODELS", "demo-simulator=radgov.gateway.demo_node:judge")
    monkeypatch.setenv("RADGOV_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    call_command("demo", stdout=open(os.devnull, "w"))  # noqa: SIM115

    page = logged_in_page(browser, live_server, _person("tech"), width=1366, height=768)
    page.goto(f"{live_server.url}/")
    follow(page.get_by_role("link", name="Clinical AI"))
    assert page.locator("h1").inner_text() == "AI worklist"
    assert page.locator("table tbody tr").count() == 17  # two of them reviewed (issue 16)
    assert "Rejected (3)" in page.locator(".status-pills").inner_text()
    page.screenshot(path=str(shots / "exams-worklist.png"), full_page=True)
    follow(page.get_by_role("link", name="Rejected (3)"))
    assert page.locator("table tbody tr").count() == 3
    assert "Reconstruct at 5 mm or thinner and resend." in page.locator("table").inner_text()
    page.select_option("#f-site", "Main Hospital CT")
    follow(page.get_by_role("button", name="Apply"))
    assert "status=rejected" in page.url and "site=Main+Hospital+CT" in page.url
    assert page.locator("table tbody tr").count() == 3
    page.screenshot(path=str(shots / "exams-worklist-rejected.png"), full_page=True)

    found = Inference.objects.get(
        exam__body_part="HEAD",
        exam__source="demo",
        status="inferred",
        score__gt=0.5,
        reviews__isnull=True,
    )
    doctor = logged_in_page(browser, live_server, _person("dr.okafor"), width=1366, height=768)
    doctor.goto(f"{live_server.url}/exams/{found.exam_id}/")
    text = doctor.locator("main").inner_text()
    assert "DEMO-7001" in text and "DEMOACC26001" in text
    assert "intracranial hemorrhage: present, right parietal" in text
    timeline = doctor.locator("table.timeline").first.inner_text()
    assert all(s in timeline for s in ("received", "queued", "sent", "processing", "inferred"))
    doctor.screenshot(path=str(shots / "exams-study-physician.png"), full_page=True)

    rejected = Inference.objects.get(reason_code="image_quality")
    analyst = logged_in_page(browser, live_server, _person("datasci"), width=1920, height=1080)
    analyst.goto(f"{live_server.url}/exams/{rejected.exam_id}/")
    text = analyst.locator("main").inner_text()
    assert "Not shown to your role" in text and "DEMO-" not in text
    assert "The vendor says: Severe motion artifact in 40% of slices" in text
    analyst.screenshot(path=str(shots / "exams-study-datasci.png"), full_page=True)
