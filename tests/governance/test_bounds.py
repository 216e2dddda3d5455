"""Values a person would never enter are refused, with the field, the value and the
reason, by the services: the pages and the API refuse alike and nothing changes."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from radgov.governance import services
from radgov.governance.models import Baa, ConflictDeclaration, Meeting
from tests.factories import client_for, problem

pytestmark = pytest.mark.django_db

FAR = dt.date(9999, 1, 1)
LONG_AGO = dt.date(1850, 6, 1)


def test_a_meeting_in_the_year_9999_is_refused(group, people):
    with pytest.raises(services.GovernanceError, match=r"held_on: 9999-01-01 is not a plausible"):
        services.create_meeting(people.chen, group, held_on=FAR)
    with pytest.raises(services.GovernanceError, match="held_on: 1850-06-01"):
        services.create_meeting(people.chen, group, held_on=LONG_AGO)
    r = client_for(people.chen).post(
        "/api/governance/meetings",
        json.dumps({"group_id": group.pk, "held_on": "9999-01-01"}),
        content_type="application/json",
    )
    assert "held_on: 9999-01-01" in problem(r, 422)
    page = client_for(people.chen).post(
        "/governance/meetings/", {"held_on": "9999-01-01", "title": "x"}
    )
    assert "held_on: 9999-01-01 is not a plausible date" in page.content.decode()
    assert not Meeting.objects.exists()


def test_implausible_dates_of_members_conflicts_and_reviews_are_refused(group, people, inv):
    with pytest.raises(services.GovernanceError, match="joined_on: 1850-06-01"):
        services.add_member(people.admin, group, people.informatics, joined_on=LONG_AGO)
    with pytest.raises(services.GovernanceError, match="declared_on: 9999-01-01"):
        services.declare_conflict(
            people.physicist, people.physicist, vendor="Acme AI", description="x", declared_on=FAR
        )
    with pytest.raises(services.GovernanceError, match="reviewed_on: 9999-01-01"):
        services.set_regulatory_item(
            people.privacy, inv.version, "gdpr", status="in_progress", reviewed_on=FAR
        )
    membership = group.active_memberships().get(user=people.physicist)
    with pytest.raises(services.GovernanceError, match="left_on: 9999-01-01"):
        services.remove_member(people.admin, membership, left_on=FAR)
    assert not ConflictDeclaration.objects.exists()


def test_a_baa_signed_or_expiring_at_an_implausible_date_is_refused(people):
    with pytest.raises(services.GovernanceError, match="signed_on: 1850-06-01"):
        services.record_baa(people.privacy, vendor="Acme AI", signed_on=LONG_AGO)
    with pytest.raises(services.GovernanceError, match="expires_on: 9999-01-01"):
        services.record_baa(
            people.privacy, vendor="Acme AI", signed_on=dt.date(2026, 1, 1), expires_on=FAR
        )
    assert not Baa.objects.exists()
