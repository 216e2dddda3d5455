"""Who sees how members voted and what they declared, and which forms a role is shown.

The group's members, administrators and legal/compliance always see vote tallies and
declared conflicts; technologists and the practice's other staff only when the group's
settings allow it.  A form the person cannot submit is not shown."""

from __future__ import annotations

import pytest

from radgov.core.models import AuditEntry
from radgov.governance import pdf, services
from radgov.governance.models import Vote
from tests.factories import client_for, problem
from tests.governance.conftest import decide

pytestmark = pytest.mark.django_db


@pytest.fixture
def voted(meeting, people, inv):
    services.declare_conflict(
        people.physicist, people.physicist, product=inv.product, description="Shares in Acme"
    )
    services.add_agenda_item(people.chen, meeting, title="BleedCheck", deployment=inv.deployment)
    d = decide(
        people.chen,
        meeting,
        "approve",
        motion="Approve BleedCheck",
        rationale="Met the agreed metrics",
        deployment=inv.deployment,
        yes=(people.chen,),
    )
    services.cast_vote(people.privacy, d, "no")
    return d


def test_a_technologist_sees_outcomes_but_no_tallies_or_conflicts(voted, meeting, people):
    page = client_for(people.tech).get(f"/governance/meetings/{meeting.pk}/").content.decode()
    assert "not passed" in page  # the outcome is the group's public record
    assert "yes 1 · no 1" not in page and "privacy: no" not in page
    assert "Shares in Acme" not in page and "declared a conflict" not in page
    assert page.count("not visible to your role") >= 2
    index = client_for(people.tech).get("/governance/").content.decode()
    assert "Shares in Acme" not in index
    assert "not visible to your role" in index


@pytest.mark.parametrize("who", ["chen", "admin", "privacy"])
def test_members_administrators_and_compliance_see_them(voted, meeting, people, who):
    page = client_for(getattr(people, who)).get(f"/governance/meetings/{meeting.pk}/")
    text = page.content.decode()
    assert "yes 1 · no 1 · abstain 0" in text and "privacy: no" in text
    assert "declared a conflict of interest" in text
    assert "Shares in Acme" in client_for(getattr(people, who)).get("/governance/").content.decode()


def test_the_group_may_open_votes_and_conflicts_to_all_staff(voted, meeting, people, group):
    services.update_group_settings(
        people.admin, group, votes_visible_to_staff=True, conflicts_visible_to_staff=True
    )
    page = client_for(people.tech).get(f"/governance/meetings/{meeting.pk}/").content.decode()
    assert "yes 1 · no 1 · abstain 0" in page and "declared a conflict of interest" in page


def test_only_an_administrator_changes_the_settings(group, people):
    with pytest.raises(services.GovernancePermissionError, match="III.G"):
        services.update_group_settings(
            people.chen, group, votes_visible_to_staff=True, conflicts_visible_to_staff=True
        )
    r = client_for(people.admin).post(
        "/governance/settings/", {"settings-votes_visible_to_staff": "on"}
    )
    assert r.status_code == 302
    group.refresh_from_db()
    assert group.votes_visible_to_staff and not group.conflicts_visible_to_staff


def test_the_api_hides_tallies_and_conflicts_alike(voted, meeting, people):
    tech, chen = client_for(people.tech), client_for(people.chen)
    hidden = tech.get(f"/api/governance/decisions/{voted.pk}").json()
    assert hidden["outcome"] == "not passed"
    assert hidden["tally"] is None and hidden["votes"] is None
    shown = chen.get(f"/api/governance/decisions/{voted.pk}").json()
    assert shown["tally"] == {"yes": 1, "no": 1, "abstain": 0}
    detail = tech.get(f"/api/governance/meetings/{meeting.pk}").json()
    assert detail["agenda"][0]["recused"] is None
    assert detail["decisions"][0]["votes"] is None
    assert tech.get("/api/governance/conflicts").json()["items"] == []
    assert chen.get("/api/governance/conflicts").json()["total"] == 1
    mine = client_for(people.physicist).get("/api/governance/conflicts").json()["items"]
    assert [c["description"] for c in mine] == ["Shares in Acme"]


def test_the_meeting_notes_follow_the_same_rule(voted, meeting, people):
    hidden = pdf.notes_html(meeting, people.tech)
    assert "not visible to your role" in hidden.lower()
    assert "Shares in Acme" not in hidden and "privacy</td><td>No" not in hidden
    full = pdf.notes_html(meeting, people.chen)
    assert "declared a conflict of interest" in full and "yes 1 · no 1" in full


def test_forms_a_role_cannot_submit_are_not_shown(group, meeting, people, inv):
    tech = client_for(people.tech)
    assert "Schedule a meeting" not in tech.get("/governance/meetings/").content.decode()
    assert (
        "Schedule a meeting"
        in client_for(people.chen).get("/governance/meetings/").content.decode()
    )
    page = tech.get(f"/governance/meetings/{meeting.pk}/").content.decode()
    assert "Record a decision" not in page and "Approve the minutes" not in page
    member_page = client_for(people.physicist).get(f"/governance/meetings/{meeting.pk}/")
    assert "Approve the minutes" not in member_page.content.decode()  # the chair's
    assert "Approve the minutes" in (
        client_for(people.chen).get(f"/governance/meetings/{meeting.pk}/").content.decode()
    )
    checklist = f"/governance/regulatory/{inv.version.pk}/"
    assert "Update a line" not in tech.get(checklist).content.decode()
    assert "Update a line" in client_for(people.privacy).get(checklist).content.decode()
    assert "Record a BAA" not in tech.get("/governance/regulatory/").content.decode()
    assert "Submit to the group" not in tech.get("/governance/requests/").content.decode()


def test_the_chair_closes_the_meeting_on_its_page_and_a_late_vote_is_refused_and_audited(
    voted, meeting, people
):
    chen = client_for(people.chen)
    url = f"/governance/meetings/{meeting.pk}/"
    chen.post(url, {"form": "notes", "notes-notes": "Approved after discussion."})
    r = chen.post(url, {"form": "close"}, follow=True)
    assert "the meeting is closed" in r.content.decode()
    meeting.refresh_from_db()
    assert meeting.is_closed
    page = client_for(people.privacy).get(url).content.decode()
    assert "Vote yes on decision" not in page and "decisions are final" in page
    r = client_for(people.privacy).post(
        f"/governance/decisions/{voted.pk}/vote/", {"choice": "yes"}, follow=True
    )
    assert "its decisions are final" in r.content.decode()
    assert Vote.objects.get(decision=voted, member=people.privacy).choice == "no"
    refusal = AuditEntry.objects.filter(action="denied").order_by("-seq").first()
    assert refusal.object_id == "governance:vote" and refusal.actor_name == "privacy"
    assert "decisions are final" in refusal.detail["reason"]


def test_closing_through_the_api_is_the_chairs(voted, meeting, people):
    services.record_notes(people.chen, meeting, "Notes.")
    r = client_for(people.physicist).post(f"/api/governance/meetings/{meeting.pk}/close")
    assert "the chair" in problem(r, 403)
    r = client_for(people.chen).post(f"/api/governance/meetings/{meeting.pk}/close")
    assert r.status_code == 200 and r.json()["closed_by"] == "dr.chen"
    late = client_for(people.privacy).post(
        f"/api/governance/decisions/{voted.pk}/votes",
        {"choice": "yes"},
        content_type="application/json",
    )
    assert "decisions are final" in problem(late, 422)
