"""The privacy officer's reminders reach people: each stage of each reminder goes once to
monitoring's alert queue (shown to the compliance role only) and once by email to the
compliance role's users; a second run sends nothing; a failed email is sent on the next run
(docs/privacy-incidents.md, "Reminders")."""

from __future__ import annotations

import datetime as dt
import smtplib
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from radgov.compliance import incident_services as incidents
from radgov.compliance import reminders
from radgov.compliance.models import Reminder
from radgov.core.roles import Role
from radgov.monitoring.models import Alert
from tests.compliance.conftest import lost_laptop
from tests.factories import client_for, make_user

pytestmark = pytest.mark.usefixtures("quick_passwords")


@pytest.fixture
def mailed_officer(officer: Any) -> Any:
    officer.email = "privacy@practice.example"
    officer.save()
    make_user("no-mail-officer", role=Role.COMPLIANCE)  # no address: not a recipient
    make_user("mail-physician", role=Role.PHYSICIAN, email="doc@practice.example")
    return officer


def _privacy_alerts() -> list[tuple[str, bool]]:
    rows = Alert.objects.filter(rule="privacy").order_by("pk")
    return [(a.summary, a.closed_at is None) for a in rows]


def test_each_stage_is_alerted_and_emailed_once_and_cleared_with_its_cause(
    mailed_officer: Any,
) -> None:
    discovered = timezone.localdate() - dt.timedelta(days=50)
    incident = lost_laptop(mailed_officer, discovered)
    due = discovered + dt.timedelta(days=60)

    counts = reminders.remind(due - dt.timedelta(days=10))
    assert counts["raised"] == 1 and counts["alerted"] == 1 and counts["mailed"] == 1
    [message] = mail.outbox
    assert message.to == ["privacy@practice.example"]  # the compliance role only
    assert message.subject == f"[radgov] Incident {incident.pk}: notice to individuals due {due}"
    assert "/compliance/incidents/" in message.body and "names no patient" in message.body
    assert _privacy_alerts() == [(message.subject.removeprefix("[radgov] "), True)]

    again = reminders.remind(due - dt.timedelta(days=9))  # the task ran again: no spam
    assert (again["raised"], again["alerted"], again["mailed"]) == (0, 0, 0)
    assert len(mail.outbox) == 1 and len(_privacy_alerts()) == 1

    overdue = reminders.remind(due + dt.timedelta(days=1))  # a new stage: sent once more
    assert (overdue["alerted"], overdue["mailed"]) == (1, 1)
    assert "overdue since" in mail.outbox[1].subject
    (first, first_open), (second, second_open) = _privacy_alerts()
    assert not first_open and second_open and "overdue since" in second
    reminders.remind(due + dt.timedelta(days=2))
    assert len(mail.outbox) == 2

    incidents.decide(mailed_officer, incident, decision="breach", reasons="PHI disclosed")
    incidents.record_notice(mailed_officer, incident, notice="individuals", on=timezone.localdate())
    assert reminders.remind(due + dt.timedelta(days=3))["cleared"] == 1
    assert [is_open for _, is_open in _privacy_alerts()] == [False, False]
    assert Alert.objects.get(pk=Reminder.objects.get().alert_id).note.startswith("cleared")


def test_a_failed_email_is_sent_on_the_next_run_and_no_recipient_sends_none(
    officer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost_laptop(officer, timezone.localdate() - dt.timedelta(days=55))
    assert reminders.remind()["mailed"] == 0  # no compliance user has an address yet
    row = Reminder.objects.get()
    assert row.alerted_stage == "due" and row.mailed_stage == ""

    officer.email = "privacy@practice.example"
    officer.save()

    def refused(*args: Any, **kwargs: Any) -> int:
        raise smtplib.SMTPRecipientsRefused({})

    monkeypatch.setattr(reminders, "send_mail", refused)
    assert reminders.remind()["mailed"] == 0
    assert Reminder.objects.get().mailed_stage == ""
    monkeypatch.undo()
    assert reminders.remind()["mailed"] == 1 and len(mail.outbox) == 1
    assert Alert.objects.filter(rule="privacy").count() == 1  # alerted once all along


def test_privacy_alerts_are_shown_to_the_compliance_role_only(officer: Any) -> None:
    lost_laptop(officer, timezone.localdate() - dt.timedelta(days=55))
    reminders.remind()
    mine = client_for(officer).get("/api/monitoring/alerts").json()
    assert [a["rule"] for a in mine] == ["privacy"] and mine[0]["deployment"] == ""
    page = client_for(officer).get("/monitoring/").content.decode()
    assert "notice to individuals due" in page
    governance = make_user("rem-governor", role=Role.PHYSICIAN, is_governance_member=True)
    assert client_for(governance).get("/api/monitoring/alerts").json() == []
    closing = client_for(governance).post(
        f"/api/monitoring/alerts/{mine[0]['id']}/close",
        {"note": "seen"},
        content_type="application/json",
    )
    assert closing.status_code == 403 and Alert.objects.get().closed_at is None
    assert (
        "notice to individuals" not in client_for(governance).get("/monitoring/").content.decode()
    )


def test_records_a_day_past_retention_and_not_purged_are_reminded_until_purged(
    mailed_officer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from radgov.compliance import purge

    now = timezone.now()
    asked: list[dt.datetime] = []
    left = [purge.Expired("exams", "Exam records", 3653, expired=5, held=2)]

    def plan(at: dt.datetime) -> list[purge.Expired]:
        asked.append(at)
        return left

    monkeypatch.setattr(purge, "plan", plan)
    assert reminders.remind(now=now)["alerted"] == 1
    assert asked == [now - dt.timedelta(days=1)]  # the nightly purge's own lag is no reminder
    assert mail.outbox[0].subject == (
        "[radgov] Exam records: 3 past their retention of 3653 days and not purged "
        "(is the nightly purge running?)"
    )
    assert "/compliance/retention/" in mail.outbox[0].body
    left.clear()  # the purge ran
    assert reminders.remind(now=now)["cleared"] == 1
