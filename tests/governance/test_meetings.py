"""Meetings: quorum, decisions with their rationale, votes, recusal, the
comparison kept with the decision."""

from __future__ import annotations

import pytest

from radgov.core.roles import Role
from radgov.governance import selectors, services
from radgov.governance.models import Decision, Vote
from radgov.governance.services import GovernanceError, GovernancePermissionError
from tests.factories import make_user
from tests.governance.conftest import MEETING_DAY, decide

pytestmark = pytest.mark.django_db


def _approve(people, meeting, inv, **kw):
    return services.record_decision(
        people.chen,
        meeting,
        kind="approve",
        motion="Approve BleedCheck 2.1 at Main campus",
        rationale="Acceptance test met the agreed sensitivity",
        deployment=inv.deployment,
        **kw,
    )


def test_quorum_needs_a_majority_and_a_physician(group, people):
    m = services.create_meeting(people.chen, group, held_on=MEETING_DAY, attendees=[people.chen])
    ok, why = selectors.quorum(m)
    assert not ok and "1 of 3 members present" in why
    services.set_attendees(people.chen, m, [people.physicist, people.privacy])
    ok, why = selectors.quorum(m)
    assert not ok and "no physician" in why
    services.set_attendees(people.chen, m, [people.chen, people.privacy, people.okafor])
    assert selectors.has_quorum(m)  # guests (the champion) do not count towards quorum


def test_a_decision_without_quorum_is_refused(group, people, inv):
    m = services.create_meeting(people.chen, group, held_on=MEETING_DAY, attendees=[people.chen])
    with pytest.raises(GovernanceError, match="IV.A.5: the meeting has no quorum"):
        _approve(people, m, inv)
    assert not Decision.objects.exists()


def test_votes_and_outcome(meeting, people, inv):
    d = _approve(people, meeting, inv)
    assert d.outcome == "no votes yet"
    services.cast_vote(people.chen, d, "yes")
    services.cast_vote(people.physicist, d, "no")
    assert d.outcome == "not passed"
    services.cast_vote(people.privacy, d, "yes")
    assert d.outcome == "passed" and d.tally() == {"yes": 2, "no": 1, "abstain": 0}
    services.cast_vote(people.privacy, d, "abstain")  # a member may change their vote
    assert d.outcome == "not passed" and Vote.objects.filter(decision=d).count() == 3


def test_a_recused_members_vote_is_refused(meeting, people, inv):
    services.declare_conflict(
        people.physicist, people.physicist, product=inv.product, description="Shares in Acme"
    )
    d = _approve(people, meeting, inv)
    with pytest.raises(
        GovernanceError, match=r"IV.A.3: physicist declared a conflict.*vote is refused"
    ):
        services.cast_vote(people.physicist, d, "yes")
    assert not Vote.objects.exists()
    agenda_item = services.add_agenda_item(
        people.chen, meeting, title="BleedCheck deployment", deployment=inv.deployment
    )
    row = selectors.agenda_with_recusals(meeting)[0]
    assert row["item"] == agenda_item
    assert [r["user"] for r in row["recusals"]] == ["physicist"]


def test_a_vendor_attending_is_recused(meeting, people, inv):
    services.add_member(people.admin, meeting.group, people.vendor)
    services.set_attendees(
        people.chen, meeting, [people.chen, people.physicist, people.privacy, people.vendor]
    )
    d = _approve(people, meeting, inv)
    with pytest.raises(GovernanceError, match="IV.A.3: a manufacturer/developer"):
        services.cast_vote(people.vendor, d, "yes")


def test_only_attending_members_vote(meeting, people, inv):
    d = _approve(people, meeting, inv)
    with pytest.raises(GovernancePermissionError, match="IV.A: only members"):
        services.cast_vote(people.okafor, d, "yes")
    services.add_member(people.admin, meeting.group, people.informatics)
    with pytest.raises(GovernanceError, match="not recorded as attending"):
        services.cast_vote(people.informatics, d, "yes")
    assert not Vote.objects.exists()


def test_waiver_needs_a_justification_and_legal_review_a_compliance_member(meeting, people, inv):
    with pytest.raises(GovernanceError, match="IV.E: local acceptance testing is waived only"):
        decide(
            people.chen,
            meeting,
            "acceptance_test_waiver",
            motion="Waive",
            rationale="Vendor data",
            deployment=inv.deployment,
        )
    with pytest.raises(GovernancePermissionError, match="III.H: a legal/compliance review"):
        decide(people.chen, meeting, "legal_review", product=inv.product)
    review = decide(
        people.privacy,
        meeting,
        "legal_review",
        rationale="Contract and IRB paperwork in order",
        product=inv.product,
    )
    assert review.outcome == "recorded"
    with pytest.raises(GovernanceError, match="recorded, not voted"):
        services.cast_vote(people.chen, review, "yes")
    with pytest.raises(GovernanceError, match="IV.H.3"):
        decide(
            people.chen,
            meeting,
            "irb_determination",
            motion="IRB",
            rationale="x",
            product=inv.product,
        )
    assert Decision.objects.count() == 1


def test_a_decision_needs_a_rationale(meeting, people, inv):
    with pytest.raises(GovernanceError, match="rationale is required"):
        decide(
            people.chen, meeting, "approve", motion="m", rationale=" ", deployment=inv.deployment
        )


def test_selection_comparison_is_kept_with_the_decision(meeting, people, inv):
    group = meeting.group
    request = services.submit_request(
        people.okafor, group, clinical_need="ICH triage", candidate_name="Any ICH triage"
    )
    clin = services.define_criterion(
        people.chen, group, category="clinical", name="Sensitivity", weight=3
    )
    biz = services.define_criterion(people.chen, group, category="business", name="Cost", weight=1)
    a = services.add_candidate(people.chen, request, product=inv.product)
    b = services.add_candidate(people.chen, request, name="RivalScan")
    for member, (sa, sb) in ((people.chen, (5, 3)), (people.privacy, (3, 3))):
        services.score_candidate(member, a, clin, sa)
        services.score_candidate(member, b, clin, sb)
    services.score_candidate(people.chen, a, biz, 2)
    services.score_candidate(people.chen, b, biz, 5)
    table = selectors.comparison(request)
    assert table["candidates"] == ["Acme AI BleedCheck", "RivalScan"]
    totals = {t["candidate"]: t["weighted_total"] for t in table["totals"]}
    assert totals == {"Acme AI BleedCheck": 3.5, "RivalScan": 3.5}  # (3*4+1*2)/4, (3*3+1*5)/4
    services.declare_conflict(people.physicist, people.physicist, vendor="Acme AI", description="x")
    with pytest.raises(GovernanceError, match="score is refused"):
        services.score_candidate(people.physicist, a, clin, 5)
    with pytest.raises(GovernanceError, match="IV.D: a score is a whole number from 1 to 5"):
        services.score_candidate(people.chen, a, clin, 6)
    d = decide(
        people.chen,
        meeting,
        "approve",
        motion="Select BleedCheck",
        rationale="Tie on total; better sensitivity",
        request=request,
    )
    assert d.comparison["totals"] == table["totals"]
    services.score_candidate(people.chen, a, biz, 1)  # later scores do not change the record
    d.refresh_from_db()
    assert d.comparison["totals"] == table["totals"]
    services.cast_vote(people.chen, d, "yes")
    services.set_request_status(people.chen, request, status="accepted", decision=d)
    request.refresh_from_db()
    assert request.status == "accepted" and request.decision == d


def test_a_group_that_lost_its_physician_cannot_decide(meeting, people, inv):
    # the rule cannot be broken through the services; simulate a group emptied another way
    from radgov.core.services import service

    @service
    def _demote() -> None:
        people.chen.role = Role.TECHNOLOGIST
        people.chen.save()

    _demote()
    with pytest.raises(GovernanceError, match=r"III.A.3 / IV.A.2.*cannot decide"):
        _approve(people, meeting, inv)


def test_decline_needs_a_decision(group, people):
    request = services.submit_request(people.okafor, group, clinical_need="x", candidate_name="Y")
    with pytest.raises(GovernanceError, match="recorded decision"):
        services.set_request_status(people.chen, request, status="declined")
    other = make_user("someone", role=Role.INFORMATICS)
    with pytest.raises(GovernancePermissionError):
        services.set_request_status(other, request, status="under_review")


def test_a_conflict_on_any_candidate_recuses_from_the_selection(meeting, people, inv):
    group = meeting.group
    request = services.submit_request(
        people.okafor, group, clinical_need="ICH triage", candidate_name="Any ICH triage"
    )
    services.add_candidate(people.chen, request, product=inv.product)
    services.add_candidate(people.chen, request, name="RivalScan")
    services.declare_conflict(people.physicist, people.physicist, vendor="Acme AI", description="x")
    item = services.add_agenda_item(people.chen, meeting, title="Select", request=request)
    d = decide(people.chen, meeting, "approve", motion="Select", rationale="r", agenda_item=item)
    assert d.request == request
    with pytest.raises(GovernanceError, match="IV.A.3: physicist .* vote is refused"):
        services.cast_vote(people.physicist, d, "no")
    row = selectors.agenda_with_recusals(meeting)[0]
    assert [r["user"] for r in row["recusals"]] == ["physicist"]
