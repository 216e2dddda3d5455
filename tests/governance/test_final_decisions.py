"""Votes close with their meeting: once the minutes are approved the meeting is closed and
its decisions are final.  A change afterwards is a new decision, at a later meeting, that
reconsiders the old one; the old record stays as it was."""

from __future__ import annotations

import datetime as dt

import pytest

from radgov.core.models import AuditEntry
from radgov.governance import guards, selectors, services
from radgov.governance.models import Decision, Vote
from radgov.governance.services import GovernanceError, GovernancePermissionError
from tests.governance.conftest import MEETING_DAY, decide
from tests.governance.test_meetings import _approve

pytestmark = pytest.mark.django_db


def _closed_with_a_passed_approval(people, meeting, inv):
    d = _approve(people, meeting, inv)
    for member in (people.chen, people.physicist):
        services.cast_vote(member, d, "yes")
    services.record_notes(people.chen, meeting, "Approved BleedCheck for its pilot.")
    services.close_meeting(people.chen, meeting)
    return d


def test_the_chair_approves_the_minutes_and_the_meeting_closes(meeting, people, inv):
    _closed_with_a_passed_approval(people, meeting, inv)
    meeting.refresh_from_db()
    assert meeting.is_closed and meeting.closed_by == people.chen
    entry = AuditEntry.objects.filter(object_type="governance.meeting").order_by("-seq").first()
    assert "closed_at" in entry.changes


def test_only_the_chair_closes_a_meeting(meeting, people):
    services.record_notes(people.chen, meeting, "Notes.")
    with pytest.raises(GovernancePermissionError, match="IV.A.5: the chair"):
        services.close_meeting(people.physicist, meeting)
    meeting.refresh_from_db()
    assert not meeting.is_closed


def test_minutes_are_approved_with_notes_and_after_the_meeting(group, people):
    m = services.create_meeting(
        people.chen,
        group,
        held_on=dt.date.today() + dt.timedelta(days=7),
        attendees=[people.chen, people.physicist],
    )
    with pytest.raises(GovernanceError, match="IV.A.5: the meeting's notes"):
        services.close_meeting(people.chen, m)
    services.record_notes(people.chen, m, "Agenda only.")
    with pytest.raises(GovernanceError, match="has not taken place yet"):
        services.close_meeting(people.chen, m)


def test_a_vote_after_the_meeting_closed_is_refused_and_the_outcome_stays(meeting, people, inv):
    d = _closed_with_a_passed_approval(people, meeting, inv)
    with pytest.raises(GovernanceError, match=r"closed on .*decisions are final.*reconsiders"):
        services.cast_vote(people.physicist, d, "no")
    with pytest.raises(GovernanceError, match="closed"):
        services.cast_vote(people.privacy, d, "no")
    assert d.outcome == "passed"
    assert list(Vote.objects.filter(decision=d).values_list("choice", flat=True)) == ["yes"] * 2


def test_a_closed_meeting_takes_no_new_decisions_notes_agenda_or_attendance(meeting, people, inv):
    _closed_with_a_passed_approval(people, meeting, inv)
    for attempt in (
        lambda: _approve(people, meeting, inv),
        lambda: services.record_notes(people.chen, meeting, "rewritten"),
        lambda: services.add_agenda_item(people.chen, meeting, title="late item"),
        lambda: services.set_attendees(people.chen, meeting, [people.chen]),
        lambda: services.close_meeting(people.chen, meeting),
    ):
        with pytest.raises(GovernanceError, match="closed"):
            attempt()
    assert Decision.objects.count() == 1
    meeting.refresh_from_db()
    assert meeting.notes == "Approved BleedCheck for its pilot."


def test_an_open_decision_without_votes_is_not_passed_once_closed(meeting, people, inv):
    d = _approve(people, meeting, inv)
    assert d.outcome == "no votes yet"
    services.record_notes(people.chen, meeting, "Deferred.")
    services.close_meeting(people.chen, meeting)
    d.refresh_from_db()
    assert d.outcome == "not passed"


def test_a_change_is_a_new_decision_that_reconsiders_the_old_one(group, meeting, people, inv):
    old = _closed_with_a_passed_approval(people, meeting, inv)
    later = services.create_meeting(
        people.chen,
        group,
        held_on=MEETING_DAY + dt.timedelta(days=21),
        attendees=[people.chen, people.physicist, people.privacy],
    )
    new = decide(
        people.chen,
        later,
        "reject",
        motion="Withdraw the approval of BleedCheck",
        rationale="False positives on post-operative heads",
        reconsiders=old,
    )
    assert new.reconsiders == old and new.deployment == inv.deployment
    for member in (people.chen, people.physicist):
        services.cast_vote(member, new, "yes")
    old.refresh_from_db()
    assert old.outcome == "passed" and old.meeting.is_closed  # the old record stays
    assert list(old.reconsidered_by.all()) == [new]
    assert selectors.latest_verdict(inv.deployment) == new
    assert guards.approval_guard(inv.deployment)  # the rejection withdraws the approval


def test_a_reconsidered_waiver_no_longer_counts(group, meeting, people, inv):
    waiver = decide(
        people.chen,
        meeting,
        "acceptance_test_waiver",
        motion="Waive local acceptance testing",
        rationale="Validated at the sister site",
        justification="Same scanners and protocol",
        deployment=inv.deployment,
        yes=(people.chen,),
    )
    services.record_notes(people.chen, meeting, "Waived.")
    services.close_meeting(people.chen, meeting)
    assert guards.waiver_gap(inv.deployment) is None
    later = services.create_meeting(
        people.chen, group, held_on=MEETING_DAY + dt.timedelta(days=7), attendees=[people.chen]
    )
    services.set_attendees(people.chen, later, [people.chen, people.privacy])
    decide(
        people.chen,
        later,
        "other",
        motion="Revoke the waiver: test locally after all",
        rationale="The sister site's scanners were replaced",
        reconsiders=waiver,
        yes=(people.chen,),
    )
    assert guards.waiver_gap(inv.deployment) is not None


def test_reconsidering_needs_a_final_decision_and_a_later_meeting(group, meeting, people, inv):
    open_one = _approve(people, meeting, inv)
    with pytest.raises(GovernanceError, match="still open"):
        decide(people.chen, meeting, "reject", rationale="x", reconsiders=open_one)
    services.record_notes(people.chen, meeting, "Notes.")
    services.close_meeting(people.chen, meeting)
    earlier = services.create_meeting(
        people.chen,
        group,
        held_on=MEETING_DAY - dt.timedelta(days=7),
        attendees=[people.chen, people.physicist],
    )
    with pytest.raises(GovernanceError, match="later meeting"):
        decide(people.chen, earlier, "reject", rationale="x", reconsiders=open_one)
    later = services.create_meeting(
        people.chen,
        group,
        held_on=MEETING_DAY + dt.timedelta(days=7),
        attendees=[people.chen, people.physicist],
    )
    with pytest.raises(GovernanceError, match="about the same"):
        decide(
            people.chen,
            later,
            "approve",
            motion="Approve something else",
            rationale="x",
            product=inv.product,
            reconsiders=open_one,
        )


def test_a_decision_at_a_meeting_not_yet_held_is_refused(group, people, inv):
    m = services.create_meeting(
        people.chen,
        group,
        held_on=dt.date.today() + dt.timedelta(days=3),
        attendees=[people.chen, people.physicist],
    )
    with pytest.raises(GovernanceError, match="has not taken place yet"):
        _approve(people, m, inv)
