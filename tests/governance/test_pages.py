"""The pages render the group's records and show refusals as messages."""

from __future__ import annotations

import pytest

from radgov.governance import services
from radgov.governance.models import Vote
from tests.factories import client_for as _client
from tests.governance.conftest import decide

pytestmark = pytest.mark.django_db


def test_pages_render(meeting, people, inv):
    services.declare_conflict(
        people.physicist, people.physicist, vendor="Acme AI", description="Advisor"
    )
    request = services.submit_request(
        people.okafor, meeting.group, clinical_need="ICH at night", proposed_product=inv.product
    )
    services.add_agenda_item(people.chen, meeting, title="ICH request", request=request)
    services.report_issue(people.tech, deployment=inv.deployment, description="Slow results")
    chen = _client(people.chen)
    for url, text in [
        ("/governance/", "physicist"),
        ("/governance/requests/", "ICH at night"),
        (f"/governance/requests/{request.pk}/", "Selection comparison"),
        ("/governance/meetings/", meeting.title),
        (f"/governance/meetings/{meeting.pk}/", "IV.A.3: physicist declared"),
        ("/governance/issues/", "Slow results"),
        ("/governance/regulatory/", str(inv.version)),
        (f"/governance/regulatory/{inv.version.pk}/", "HIPAA/HITECH"),
        ("/governance/issues/report/", "Report an issue"),
    ]:
        r = chen.get(url)
        assert r.status_code == 200, url
        assert text in r.content.decode(), (url, text)


def test_a_refused_vote_is_shown_and_nothing_changes(meeting, people, inv):
    services.declare_conflict(
        people.physicist, people.physicist, product=inv.product, description="x"
    )
    d = decide(people.chen, meeting, "approve", deployment=inv.deployment)
    r = _client(people.physicist).post(
        f"/governance/decisions/{d.pk}/vote/", {"choice": "yes"}, follow=True
    )
    assert "IV.A.3: physicist declared a conflict" in r.content.decode()
    assert not Vote.objects.exists()


def test_a_decision_form_shows_the_rule(meeting, people, inv):
    r = _client(people.chen).post(
        f"/governance/meetings/{meeting.pk}/",
        {
            "form": "decision",
            "decision-kind": "acceptance_test_waiver",
            "decision-motion": "Waive",
            "decision-rationale": "Vendor data",
            "decision-deployment": inv.deployment.pk,
        },
    )
    assert r.status_code == 200
    assert (
        "IV.E: local acceptance testing is waived only with a recorded justification"
        in r.content.decode()
    )


def test_checklist_page_flags_off_label_use(group, people, inv):
    url = f"/governance/regulatory/{inv.version.pk}/"
    r = _client(people.privacy).post(
        url, {"form": "profile", "profile-local_use": "cadx", "profile-phi_reaches_vendor": "on"}
    )
    assert r.status_code == 302
    page = _client(people.chen).get(url).content.decode()
    assert "cleared as CADt (triage / notification) but used locally as CADx" in page
    assert "PHI reaches the vendor and no BAA is on file" in page
    r = _client(people.privacy).post(
        url, {"form": "item", "item-framework": "gdpr", "item-status": "compliant"}
    )
    assert (
        "III.H: a General Data Protection Regulation (GDPR) line marked compliant"
        in r.content.decode()
    )


def test_the_meeting_page_shows_each_member_their_own_vote(meeting, people, inv):
    d = decide(people.chen, meeting, "approve", deployment=inv.deployment)
    url = f"/governance/meetings/{meeting.pk}/"
    chen = _client(people.chen)
    assert "yours:" not in chen.get(url).content.decode()
    r = chen.post(f"/governance/decisions/{d.pk}/vote/", {"choice": "no"}, follow=True)
    assert Vote.objects.get(decision=d, member=people.chen).choice == "no", r.content.decode()
    page = chen.get(url).content.decode()
    assert "yours: <strong>no</strong>" in page
    chen.post(f"/governance/decisions/{d.pk}/vote/", {"choice": "yes"})
    assert "yours: <strong>yes</strong>" in chen.get(url).content.decode()
