"""The demo practice's de-identification job: finished, and loaded only once."""

from __future__ import annotations

import io

import pytest

from radgov.compliance import demo
from radgov.compliance.models import DeidJob
from radgov.core.roles import Role
from tests.factories import make_user


@pytest.mark.django_db
def test_demo_job_is_done_and_loaded_once(data_dir) -> None:
    make_user("informatics", role=Role.INFORMATICS)
    out = io.StringIO()
    demo.load(out)
    demo.load(out)
    job = DeidJob.objects.get()
    assert job.status == "done" and job.ok == 2 and job.source_kind == "app_folder"
    assert out.getvalue().count("De-identification: job") == 1


@pytest.mark.django_db
def test_demo_privacy_side_is_loaded_once(data_dir) -> None:
    from radgov.compliance.models import Incident, RetentionPolicy

    make_user("informatics", role=Role.INFORMATICS)
    make_user("privacy", role=Role.COMPLIANCE, email="privacy@demo.invalid")
    out = io.StringIO()
    demo.load(out)
    demo.load(out)
    assert RetentionPolicy.objects.get().legal_minimum_days == 7 * 365 + 2
    incident = Incident.objects.get()
    assert incident.discovered_by == "informatics" and incident.affected_count == 0
    assert out.getvalue().count("Privacy: exam records kept ten years") == 1
    # the notice, in force eleven months: its review is reminded (no live deployment here)
    from radgov.compliance.models import PrivacyNotice, Reminder

    assert PrivacyNotice.objects.count() == 1
    reminders = Reminder.objects.filter(cleared_at=None)
    assert [r.kind for r in reminders] == ["notice_review"]  # the incident has 48 days left
    assert "1 reminder(s) raised in the alert queue and 1 emailed" in out.getvalue()
    from django.core import mail

    assert [m.to for m in mail.outbox] == [["privacy@demo.invalid"]]
