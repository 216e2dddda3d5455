"""Unusual-access cases from the audit trail, and the breach workflow with its clocks
(docs/privacy-incidents.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from radgov.compliance import clocks, detect
from radgov.compliance import incident_services as incidents
from radgov.compliance.models import AccessCase, Incident
from radgov.core.roles import Role
from radgov.exams import audit as exams_audit
from radgov.exams import services as exams
from radgov.exams.services import Event
from tests.exams.conftest import head_ct
from tests.factories import client_for, make_user

pytestmark = pytest.mark.usefixtures("quick_passwords")


def hours_excluding_now() -> str:
    """Working hours that leave out the present hour: whatever is read now is read at night."""
    now = timezone.localtime()
    start = (now + dt.timedelta(hours=2)).strftime("%H:00")
    end = (now + dt.timedelta(hours=10)).strftime("%H:00")
    return f"{start}-{end}"


@pytest.fixture
def night(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADGOV_WORKING_HOURS", hours_excluding_now())


def studies(count: int) -> list[int]:
    """``count`` head CTs of ``count / 2`` patients; their ids."""
    keeper = make_user("priv-informatics", role=Role.INFORMATICS)
    events = [
        Event(study=head_ct(uid=f"1.2.9.{n}", patient_id=f"P{n // 2}", accession_number=f"X{n}"))
        for n in range(count)
    ]
    exams.record_events(keeper, events, source="api")
    return _exam_ids()


def _exam_ids() -> list[int]:
    from radgov.exams.models import Exam

    return list(Exam.objects.values_list("pk", flat=True))


def test_a_user_reading_300_exam_records_at_night_opens_a_case_that_becomes_an_incident(
    officer: Any, night: None
) -> None:
    snoop = make_user("night-reader", role=Role.PHYSICIAN)
    ids = studies(100)  # 100 exams of 50 patients, each read three times: 300 records
    for _ in range(3):
        exams_audit.read_exams(snoop, ids, what="worklist", total=100)

    opened = detect.detect(timezone.localdate())
    rules = {case.rule for case in opened}
    assert AccessCase.Rule.AFTER_HOURS in rules and AccessCase.Rule.ABOVE_BASELINE in rules
    case = next(c for c in opened if c.rule == AccessCase.Rule.AFTER_HOURS)
    assert case.records == 300 and len(case.entry_seqs) == 3 and case.actor_name == "night-reader"
    assert detect.detect(timezone.localdate()) == []  # the same day again opens nothing new

    incident = incidents.incident_from_case(officer, case)
    case.refresh_from_db()
    assert case.status == "incident" and case.incident == incident
    assert incident.affected_count == 50  # from the audit trail: the patients of the exams read
    assert all(len(p) == 64 for p in incident.affected_patients)  # pseudonyms, no MRN
    due = clocks.deadlines(
        discovered_on=incident.discovered_on,
        affected=incident.affected_count,
        most_in_one_state=None,
    )
    assert due[0].notice == "individuals"
    assert due[0].due == timezone.localdate() + dt.timedelta(days=60)
    assert due[1].notice == "HHS (annual log)"
    page = client_for(officer).get(f"/compliance/incidents/{incident.pk}/").content.decode()
    assert f"<td>individuals</td><td>{due[0].due:%Y-%m-%d} (" in page  # the 60 days, shown
    assert "<dd>50 (from the audit trail" in page


def test_reads_below_the_thresholds_open_nothing_and_bad_hours_are_named(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADGOV_AFTER_HOURS_READS", "11")
    reader = make_user("day-reader", role=Role.PHYSICIAN)
    exams_audit.read_exams(reader, studies(10), what="worklist", total=10)
    assert detect.detect(timezone.localdate()) == []
    monkeypatch.setenv("RADGOV_AFTER_HOURS_READS", "10")
    monkeypatch.setenv("RADGOV_WORKING_HOURS", hours_excluding_now())
    assert [c.records for c in detect.detect(timezone.localdate())] == [10]
    monkeypatch.setenv("RADGOV_WORKING_HOURS", "nine to five")
    with pytest.raises(ValueError, match="RADGOV_WORKING_HOURS"):
        detect.detect(timezone.localdate())


def test_not_a_breach_needs_the_four_factors_and_notices_follow_a_breach(officer: Any) -> None:
    now = timezone.now()
    incident = incidents.open_incident(
        officer,
        title="Vendor SFTP misrouted",
        what="An AI vendor's result feed was sent to the wrong host",
        discovered_on=timezone.localdate(),
        discovered_by="IT",
        actor_names=["nobody"],
        window_start=now - dt.timedelta(days=1),
        window_end=now,
    )
    with pytest.raises(incidents.IncidentError, match="not yet assessed: nature_and_extent"):
        incidents.decide(officer, incident, decision="not_breach", reasons="encrypted")
    with pytest.raises(incidents.IncidentError, match="decided a breach"):
        incidents.record_notice(officer, incident, notice="hhs", on=timezone.localdate())
    incidents.decide(officer, incident, decision="breach", reasons="unencrypted PHI left")
    incident = incidents.record_notice(
        officer, incident, notice="individuals", on=timezone.localdate()
    )
    assert incident.decision == Incident.Decision.BREACH
    assert incident.individuals_notified_on == timezone.localdate()
    physician = make_user("priv-physician", role=Role.PHYSICIAN)
    with pytest.raises(incidents.RetentionError, match="only the compliance role"):
        incidents.decide(physician, incident, decision="breach", reasons="x")


def test_clocks_for_a_large_breach_in_one_state() -> None:
    """45 CFR 164.404(b), 164.406, 164.408: 60 days; 500+ to HHS and, 500+ in a state, media."""
    owed = clocks.deadlines(
        discovered_on=dt.date(2026, 11, 20), affected=700, most_in_one_state=600
    )
    assert [(d.notice, d.due) for d in owed] == [
        ("individuals", dt.date(2027, 1, 19)),
        ("HHS", dt.date(2027, 1, 19)),
        ("media", dt.date(2027, 1, 19)),
    ]
    small = clocks.deadlines(discovered_on=dt.date(2026, 11, 20), affected=12, most_in_one_state=12)
    assert [(d.notice, d.due) for d in small] == [
        ("individuals", dt.date(2027, 1, 19)),
        ("HHS (annual log)", dt.date(2027, 3, 1)),
    ]
    assert small[0].overdue(dt.date(2027, 1, 20)) and not small[0].overdue(dt.date(2027, 1, 19))


def test_the_periodic_tasks_act_as_their_own_principals(db: Any) -> None:
    from radgov.compliance import tasks
    from radgov.compliance.models import PurgeRun
    from radgov.core.models import AuditEntry

    assert tasks.purge_past_retention.call_local() == {}
    assert PurgeRun.objects.get().started_by == "task:compliance.purge"
    assert tasks.detect_unusual_access.call_local() == 0
    assert AuditEntry.objects.filter(actor_name="task:compliance.purge").exists()


def _recorded(action: str, *, channel: str, address: str, actor: Any, at: Any = None) -> None:
    """An audit entry as a request would leave it; ``at`` moves the clock it is appended by."""
    from radgov.core.audit import record
    from radgov.core.context import ActingContext, acting_as

    with pytest.MonkeyPatch.context() as patched:
        if at is not None:
            patched.setattr(timezone, "now", lambda: at)
        with acting_as(ActingContext(channel=channel, client_address=address)):
            record(action=action, object_type="exams.exam", actor=actor)


def test_a_token_from_a_new_address_and_a_burst_of_exports_open_cases(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user("token-owner", role=Role.INFORMATICS)
    yesterday = timezone.now() - dt.timedelta(days=1)
    _recorded("read", channel="token:7", address="10.0.0.1", actor=user, at=yesterday)
    _recorded("read", channel="token:7", address="10.0.0.1", actor=user)
    _recorded("read", channel="token:7", address="198.51.100.4", actor=user)
    monkeypatch.setenv("RADGOV_EXPORT_BURST", "3")
    for _ in range(3):
        _recorded("export", channel="web", address="10.0.0.2", actor=user)

    cases = {c.rule: c for c in detect.detect(timezone.localdate())}
    assert set(cases) == {AccessCase.Rule.NEW_ADDRESS, AccessCase.Rule.EXPORT_BURST}
    assert len(cases[AccessCase.Rule.NEW_ADDRESS].entry_seqs) == 1  # only the new address
    assert cases[AccessCase.Rule.EXPORT_BURST].summary.startswith("3 exports")
