"""The API: bad input answers problem+json naming the rule, and nothing changes."""

from __future__ import annotations

import pytest

from radgov.core.models import AuditEntry
from radgov.governance import services
from radgov.governance.models import Membership, Vote
from tests.factories import client_for as _client
from tests.factories import post_json
from tests.governance.conftest import decide

pytestmark = pytest.mark.django_db


def test_create_group_without_a_physician_answers_422(people):
    r = post_json(
        _client(people.admin),
        "/api/governance/admin/groups",
        {"name": "G", "members": [{"user_id": people.physicist.pk, "position": "chair"}]},
    )
    assert r.status_code == 422 and r["Content-Type"] == "application/problem+json"
    assert "III.A.3 / IV.A.2" in r.json()["detail"]


def test_only_administrators_reach_group_management(group, people):
    r = post_json(
        _client(people.chen),
        f"/api/governance/admin/groups/{group.pk}/members",
        {"user_id": people.tech.pk},
    )
    assert r.status_code == 403


def test_adding_a_champion_answers_422_and_changes_nothing(group, people):
    r = post_json(
        _client(people.admin),
        f"/api/governance/admin/groups/{group.pk}/members",
        {"user_id": people.okafor.pk},
    )
    assert r.status_code == 422 and "IV.A.4" in r.json()["detail"]
    assert not Membership.objects.filter(user=people.okafor).exists()


def test_recused_vote_answers_422(meeting, people, inv):
    services.declare_conflict(
        people.physicist, people.physicist, product=inv.product, description="Shares"
    )
    chen = _client(people.chen)
    r = post_json(
        chen,
        f"/api/governance/meetings/{meeting.pk}/decisions",
        {
            "kind": "approve",
            "motion": "Approve",
            "rationale": "Met the criteria",
            "deployment_id": inv.deployment.pk,
        },
    )
    assert r.status_code == 201, r.content
    decision_id = r.json()["id"]
    r = post_json(
        _client(people.physicist),
        f"/api/governance/decisions/{decision_id}/votes",
        {"choice": "yes"},
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("IV.A.3: physicist declared")
    assert not Vote.objects.exists()
    r = post_json(chen, f"/api/governance/decisions/{decision_id}/votes", {"choice": "yes"})
    assert r.json()["outcome"] == "passed"
    detail = chen.get(f"/api/governance/meetings/{meeting.pk}").json()
    assert detail["has_quorum"] and detail["decisions"][0]["votes"] == [
        {"member": "dr.chen", "choice": "yes"}
    ]


def test_anyone_reports_an_issue_and_members_see_the_queue(group, people, inv):
    from radgov.inventory import services as inventory

    # a vendor reports on its own company's models only
    inventory.add_representative(people.admin, inv.product.company, people.vendor)
    r = post_json(
        _client(people.vendor),
        "/api/governance/issue-reports",
        {"deployment_id": inv.deployment.pk, "description": "Crash on upload", "severity": "high"},
    )
    assert r.status_code == 201
    queue = _client(people.chen).get("/api/governance/issues?queue=true").json()["items"]
    assert [i["description"] for i in queue] == ["Crash on upload"]
    assert _client(people.vendor).get("/api/governance/issues").status_code == 403


def test_unknown_object_answers_404(people):
    r = _client(people.chen).get("/api/governance/meetings/999")
    assert r.status_code == 404


def test_meeting_notes_pdf(meeting, people, inv, django_capture_on_commit_callbacks):
    from huey.contrib.djhuey import HUEY

    decide(people.chen, meeting, "approve", deployment=inv.deployment, yes=(people.chen,))
    client = _client(people.chen)
    before, HUEY.immediate = HUEY.immediate, True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            queued = client.post(f"/api/governance/meetings/{meeting.pk}/notes.pdf")
    finally:
        HUEY.immediate = before
    assert queued.status_code == 202, queued.content
    job = client.get(queued["Location"]).json()
    assert job["status"] == "done" and job["kind"] == "governance.meeting_notes_pdf"
    r = client.get(job["result"])
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert AuditEntry.objects.filter(action="export", object_type="core.job").exists()
