"""The Notice of Privacy Practices, deployments it does not cover, and the privacy officer's
reminders raised by the daily task, tested with a clock (docs/privacy-incidents.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from radgov.compliance import incident_services as incidents
from radgov.compliance import notices, reminders
from radgov.compliance.models import Reminder
from radgov.core.roles import Role
from tests.compliance.conftest import lost_laptop
from tests.factories import client_for, make_user, problem
from tests.gateway.conftest import deployment

pytestmark = pytest.mark.usefixtures("quick_passwords")
API = "/api/compliance"


def _open_reminders() -> dict[str, str]:
    return dict(Reminder.objects.filter(cleared_at=None).values_list("key", "subject"))


def test_a_breach_notice_is_reminded_two_weeks_ahead_then_overdue_then_cleared(
    officer: Any,
) -> None:
    discovered = timezone.localdate() - dt.timedelta(days=5)
    incident = lost_laptop(officer, discovered)
    due = discovered + dt.timedelta(days=60)
    key = f"incident:{incident.pk}:individuals"

    assert reminders.remind(due - dt.timedelta(days=15))["raised"] == 0  # not yet: 15 days left
    assert key not in _open_reminders()
    counts = reminders.remind(due - dt.timedelta(days=14))
    assert counts["raised"] == 1 and _open_reminders()[key].endswith(f"due {due:%Y-%m-%d}")
    assert reminders.remind(due - dt.timedelta(days=13))["raised"] == 0  # raised once
    reminders.remind(due + dt.timedelta(days=1))
    assert "overdue since" in _open_reminders()[key]
    # the HHS annual log (fewer than 500) is due after the year ends: no reminder yet
    assert not any(k.endswith(":HHS (annual log)") for k in _open_reminders())

    incidents.decide(officer, incident, decision="breach", reasons="laptop not encrypted")
    incidents.record_notice(officer, incident, notice="individuals", on=timezone.localdate())
    assert reminders.remind(due + dt.timedelta(days=2))["cleared"] == 1
    assert key not in _open_reminders()


def test_an_incident_decided_not_a_breach_raises_nothing(officer: Any) -> None:
    incident = lost_laptop(officer, timezone.localdate())
    factors = {name: "assessed" for name in incidents.FACTORS}
    incidents.assess(officer, incident, **factors)
    incidents.decide(officer, incident, decision="not_breach", reasons="encrypted disk")
    reminders.remind(timezone.localdate() + dt.timedelta(days=59))
    assert _open_reminders() == {}


def test_live_deployments_the_notice_does_not_cover_are_flagged_and_reminded(
    officer: Any,
) -> None:
    live = deployment("Chest AI", {})
    deployment("Draft AI", {}, status="requested")  # not live: never flagged
    today = timezone.localdate()
    assert [why for _, why in notices.flagged()] == ["no Notice of Privacy Practices is in force"]

    notice = notices.record_notice(
        officer, version="2026-01", effective_on=today - dt.timedelta(days=340),
        uses="treatment, payment, operations; analysis of images by AI vendors under a BAA",
    )  # fmt: skip
    assert notices.flagged() == [(live, "not yet reviewed against notice 2026-01")]
    with pytest.raises(notices.NoticeError, match="say what the notice does not cover"):
        notices.set_coverage(officer, deployment_id=live.pk, covered=False, note="")
    notices.set_coverage(officer, deployment_id=live.pk, covered=False, note="no AI triage use")
    reminders.remind(today)
    found = _open_reminders()
    assert "not covered by notice 2026-01: no AI triage use" in found[f"coverage:{live.pk}"]
    # reviewed 340 days ago on a yearly cycle: due in 25 days, within the 30 days ahead
    review_key = f"notice:{notice.pk}:review:{notice.reviewed_on}"
    assert found[review_key].endswith(f"by {notices.review_due(notice):%Y-%m-%d}")

    notices.set_coverage(officer, deployment_id=live.pk, covered=True, note="section 4")
    notices.review_notice(officer)
    assert notices.flagged() == []
    assert reminders.remind(today)["cleared"] == 2 and _open_reminders() == {}


def test_the_notice_and_reminders_over_the_api_and_on_the_dashboard(officer: Any) -> None:
    live = deployment("Chest AI", {})
    client = client_for(officer)
    state = client.get(f"{API}/privacy-notice").json()
    assert state["current"] is None and state["flagged"][0]["deployment_id"] == live.pk
    bad = client.post(
        f"{API}/privacy-notices",
        {"version": "", "effective_on": "2026-01-01", "uses": ""},
        content_type="application/json",
    )
    assert "version: name" in problem(bad, 422)
    effective = timezone.localdate() - dt.timedelta(days=10)
    made = client.post(
        f"{API}/privacy-notices",
        {"version": "v2", "effective_on": effective.isoformat(), "uses": "treatment; AI analysis"},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["review_due"] == (effective + dt.timedelta(days=365)).isoformat()
    covered = client.put(
        f"{API}/privacy-notice/coverage/{live.pk}",
        {"covered": False, "note": "no AI use"},
        content_type="application/json",
    )
    assert covered.json()["covered"] is False
    reminders.remind()
    listed = client.get(f"{API}/reminders").json()
    assert listed["total"] == 1 and listed["items"][0]["kind"] == "notice_coverage"
    page = client.get("/").content.decode()
    assert "Privacy reminders" in page and "no AI use" in page
    assert (
        client_for(make_user("np-admin", role=Role.ADMINISTRATOR))
        .get(f"{API}/reminders")
        .status_code
        == 403
    )


def test_the_conformance_audit_checks_the_notice_beside_the_baa(officer: Any) -> None:
    from radgov.compliance.conformance import privacy_notice
    from radgov.governance.conformance.checks import REGISTRY, Context, Status

    assert REGISTRY["privacy_notice"].clause == "V"
    live = deployment("Chest AI", {})
    ctx = Context(at=timezone.now(), meeting_months=6)
    assert "No Notice of Privacy Practices" in privacy_notice(live, ctx).found
    notices.record_notice(
        officer, version="v1", effective_on=timezone.localdate(), uses="treatment; AI analysis"
    )
    assert privacy_notice(live, ctx).status == Status.FAIL
    notices.set_coverage(officer, deployment_id=live.pk, covered=False, note="no AI use named")
    result = privacy_notice(live, ctx)
    assert result.status == Status.FAIL and "does not cover it: no AI use named" in result.found
    notices.set_coverage(officer, deployment_id=live.pk, covered=True, note="section 3")
    assert privacy_notice(live, ctx).status == Status.PASS
