"""The privacy officer's pages: retention and holds, a case turned into an incident, the
incident's clocks and its PDF."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from radgov.compliance.models import AccessCase, Incident, LegalHold, RetentionPolicy
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from tests.factories import client_for, make_user

pytestmark = pytest.mark.usefixtures("quick_passwords")


def test_retention_page_saves_a_policy_refuses_one_below_the_minimum_and_places_a_hold(
    officer: Any,
) -> None:
    client = client_for(officer)
    page = client.get("/compliance/retention/")
    assert page.status_code == 200 and b"Exam records and AI results" in page.content
    client.post(
        "/compliance/retention/exams/", {"days": "3000", "legal_minimum_days": "2555", "note": "NY"}
    )
    refused = client.post("/compliance/retention/exams/", {"days": "10"}, follow=True)
    assert b"shorter than the legal minimum of 2555 days" in refused.content
    assert RetentionPolicy.objects.get().days == 3000
    bad = client.post(
        "/compliance/holds/new/",
        {"scope": "dates", "starts_on": "2026-13-01", "reason": "m"},
        follow=True,
    )
    assert b"is not a date" in bad.content and not LegalHold.objects.exists()
    client.post(
        "/compliance/holds/new/", {"scope": "dates", "starts_on": "2020-01-01", "reason": "m"}
    )
    hold = LegalHold.objects.get()
    client.post(f"/compliance/holds/{hold.pk}/release/", {"reason": "settled"})
    hold.refresh_from_db()
    assert hold.release_reason == "settled"


def test_a_case_becomes_an_incident_whose_deadline_is_shown_and_printed(officer: Any) -> None:
    from radgov.compliance.detect import Tally, _create

    now = timezone.now()
    case = _create(
        AccessCase.Rule.EXPORT_BURST,
        Tally(None, "exporter", "physician", [1, 2], 2),
        now - dt.timedelta(hours=1),
        now,
        "2 exports",
    )
    client = client_for(officer)
    assert b"exporter" in client.get("/compliance/access-cases/").content
    answer = client.post(f"/compliance/access-cases/{case.pk}/", {"action": "incident"})
    incident = Incident.objects.get()
    assert answer.status_code == 302 and answer["Location"].endswith(f"/{incident.pk}/")
    page = client.get(f"/compliance/incidents/{incident.pk}/")
    due = (timezone.localdate() + dt.timedelta(days=60)).isoformat()
    assert due.encode() in page.content and b"164.404(b)" in page.content
    listed = client.get("/compliance/incidents/")
    assert b"individuals: " + due.encode() in listed.content
    pdf = client.get(f"/compliance/incidents/{incident.pk}/record.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf["Cache-Control"] == "no-store"  # the record names the people affected
    exported = AuditEntry.objects.filter(action="export", object_id=str(incident.pk)).get()
    assert exported.object_type == "compliance.incident" and exported.actor_name == officer.username
    physician = client_for(make_user("pages-physician", role=Role.PHYSICIAN))
    assert physician.get(f"/compliance/incidents/{incident.pk}/").status_code == 403


def test_the_notice_page_shows_the_notice_and_flags_uncovered_deployments(officer: Any) -> None:
    from radgov.compliance.models import NoticeCoverage, PrivacyNotice
    from tests.gateway.conftest import deployment

    live = deployment("Chest AI", {})
    deployment("Draft AI", {}, status="requested")  # not live: not listed
    client = client_for(officer)
    page = client.get("/compliance/privacy-notice/").content.decode()
    assert "No Notice of Privacy Practices is in force" in page and "Draft AI" not in page
    assert "flagged</span>: no Notice of Privacy Practices is in force" in page
    form = {"action": "record", "version": "2026-01", "uses": "treatment; AI analysis"}
    bad = client.post("/compliance/privacy-notice/", {**form, "effective_on": "1 May"}, follow=True)
    assert "is not a date" in bad.content.decode() and not PrivacyNotice.objects.exists()
    effective = timezone.localdate() - dt.timedelta(days=30)
    client.post("/compliance/privacy-notice/", {**form, "effective_on": effective.isoformat()})
    page = client.get("/compliance/privacy-notice/").content.decode()
    assert "2026-01" in page and effective.isoformat() in page
    assert f"next review due {effective + dt.timedelta(days=365):%Y-%m-%d}" in page
    assert "not yet reviewed against notice 2026-01" in page

    coverage = {"action": "coverage", "deployment_id": live.pk, "covered": "no"}
    refused = client.post("/compliance/privacy-notice/", {**coverage, "note": ""}, follow=True)
    assert "say what the notice does not cover" in refused.content.decode()
    assert not NoticeCoverage.objects.exists()
    client.post("/compliance/privacy-notice/", {**coverage, "note": "no AI triage named"})
    assert (
        "not covered by notice 2026-01: no AI triage named"
        in client.get("/compliance/privacy-notice/").content.decode()
    )
    client.post("/compliance/privacy-notice/", {**coverage, "covered": "yes", "note": "s. 3"})
    assert "None flagged." in client.get("/compliance/privacy-notice/").content.decode()
    client.post("/compliance/privacy-notice/", {"action": "review"})
    assert PrivacyNotice.objects.get().reviewed_on == timezone.localdate()
    physician = client_for(make_user("np-physician", role=Role.PHYSICIAN))
    assert physician.get("/compliance/privacy-notice/").status_code == 403
    assert physician.post("/compliance/privacy-notice/", {"action": "review"}).status_code == 403
