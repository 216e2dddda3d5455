"""The governance part of the demo practice: loads after the inventory's, and twice changes nothing."""

from __future__ import annotations

import io

import pytest

from radgov.accounts import services as accounts
from radgov.governance import demo, guards, selectors
from radgov.governance.models import Decision, Meeting, Membership, Score, Vote
from radgov.web.management.commands.demo import DEMO_PEOPLE
from tests.governance.conftest import make_inventory

pytestmark = pytest.mark.django_db


def _accounts() -> None:
    for username, role, capacities in DEMO_PEOPLE:
        accounts.create_user(username, role=role.value, password="radgov-demo-2026", **capacities)


def test_demo_loads_once_with_recusals_and_decisions():
    _accounts()
    cleared = make_inventory(vendor="NeuroVista", name="ICH Alert")
    extra = make_inventory(
        vendor="In-house", name="Drafter", category="generative", pathway="not_fda"
    )
    demo.load(io.StringIO())
    counts = [m.objects.count() for m in (Membership, Meeting, Decision, Vote, Score)]
    assert counts[:3] == [4, 1, 7]  # selection, two approvals and waivers, IRB, legal review
    meeting = Meeting.objects.get()
    assert meeting.is_closed  # its minutes approved: the decisions are final
    recused = {
        r["user"] for row in selectors.agenda_with_recusals(meeting) for r in row["recusals"]
    }
    assert recused == {"informatics", "vendor.rep"}  # informatics: conflict on Acme AI
    assert guards.approval_guard(cleared.deployment) == []
    assert guards.extra_oversight_guard(extra.deployment) == []
    assert guards.regulatory_guard(cleared.deployment) == []
    demo.load(io.StringIO())
    assert [m.objects.count() for m in (Membership, Meeting, Decision, Vote, Score)] == counts


def test_demo_without_inventory_skips_what_needs_it():
    _accounts()
    out = io.StringIO()
    demo.load(out)
    assert "skipped" in out.getvalue()
    assert Decision.objects.count() == 1  # the request's selection only
