"""The group's composition: the one-physician rule, the champion rule, the
membership flag, conflicts and recusal."""

from __future__ import annotations

import datetime as dt

import pytest

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.governance import services
from radgov.governance.models import ConflictDeclaration, GovernanceGroup, Membership, ModelRequest
from radgov.governance.recusal import recused
from radgov.governance.services import GovernanceError, GovernancePermissionError
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_group_without_a_physician_is_refused(people):
    with pytest.raises(GovernanceError, match=r"III.A.3 / IV.A.2: .*at least one physician"):
        services.create_group(
            people.admin, name="No doctors", members=[(people.physicist, "chair")]
        )
    assert not GovernanceGroup.objects.exists()
    people.physicist.refresh_from_db()
    assert not people.physicist.is_governance_member


def test_only_an_administrator_creates_the_group(people):
    with pytest.raises(GovernancePermissionError, match="III.G"):
        services.create_group(people.chen, name="G", members=[(people.chen, "chair")])


def test_members_get_the_capacity_flag_with_an_audit_entry(group, people):
    people.chen.refresh_from_db()
    assert people.chen.is_governance_member
    entry = AuditEntry.objects.filter(
        object_type="accounts.user", object_id=str(people.chen.pk), action="update"
    ).last()
    assert entry is not None and "is_governance_member" in entry.changes_json


def test_removing_the_last_physician_is_refused(group, people):
    chen = Membership.objects.get(user=people.chen)
    with pytest.raises(GovernanceError, match=r"III.A.3 / IV.A.2.*last physician"):
        services.remove_member(people.admin, chen)
    chen.refresh_from_db()
    assert chen.is_active
    people.chen.refresh_from_db()
    assert people.chen.is_governance_member


def test_removing_a_physician_when_another_remains(group, people):
    other = make_user("dr.patel", role=Role.PHYSICIAN)
    services.add_member(people.admin, group, other)
    services.remove_member(people.admin, Membership.objects.get(user=people.chen))
    people.chen.refresh_from_db()
    assert not people.chen.is_governance_member
    assert group.active_memberships().filter(user=other).exists()


def test_a_champion_cannot_be_added_to_the_group(group, people):
    with pytest.raises(GovernanceError, match=r"IV.A.4: a clinical champion .* not be a member"):
        services.add_member(people.admin, group, people.okafor)
    assert not Membership.objects.filter(user=people.okafor).exists()
    people.okafor.refresh_from_db()
    assert not people.okafor.is_governance_member


def test_a_member_cannot_be_made_a_champion(group, people):
    with pytest.raises(GovernanceError, match="IV.A.4"):
        services.designate_champion(people.admin, people.chen)
    people.chen.refresh_from_db()
    assert not people.chen.is_clinical_champion


def test_requests_come_from_champions_who_are_not_members(group, people, inv):
    request = services.submit_request(
        people.okafor,
        group,
        clinical_need="Faster ICH triage at night",
        proposed_product=inv.product,
    )
    assert request.status == "submitted"
    with pytest.raises(GovernancePermissionError, match="IV.A.4: .*clinical champion"):
        services.submit_request(people.tech, group, clinical_need="x", candidate_name="Y")
    # a member who somehow also holds the champion flag still cannot file a request
    people.chen.is_clinical_champion = True
    people.chen.save()
    with pytest.raises(GovernanceError, match="IV.A.4"):
        services.submit_request(people.chen, group, clinical_need="x", candidate_name="Y")
    assert ModelRequest.objects.count() == 1


def test_a_declared_conflict_recuses_on_the_product_and_the_vendor(group, people, inv):
    assert recused(people.physicist, inv.product) is None
    services.declare_conflict(
        people.physicist, people.physicist, vendor="acme ai", description="Consults for Acme"
    )
    reason = recused(people.physicist, inv.product)
    assert reason and reason.startswith("IV.A.3") and "vendor acme ai" in reason


def test_a_vendor_is_always_recused(people, inv):
    assert "IV.A.3" in recused(people.vendor, inv.product)


def test_a_conflict_is_declared_by_its_holder(group, people, inv):
    with pytest.raises(GovernancePermissionError, match="IV.A.3"):
        services.declare_conflict(
            people.chen, people.physicist, product=inv.product, description="x"
        )
    with pytest.raises(GovernanceError, match="names a product or a vendor"):
        services.declare_conflict(people.chen, people.chen, description="x")
    assert not ConflictDeclaration.objects.exists()


def test_left_members_do_not_count(group, people):
    other = make_user("dr.patel", role=Role.PHYSICIAN)
    services.add_member(people.admin, group, other, joined_on=dt.date(2026, 1, 1))
    services.remove_member(people.admin, Membership.objects.get(user=other))
    with pytest.raises(GovernanceError, match="last physician"):
        services.remove_member(people.admin, Membership.objects.get(user=people.chen))


def test_roster_lists_the_chair_first_and_former_members_last(group, people):
    services.add_member(people.admin, group, people.informatics)
    services.remove_member(people.admin, Membership.objects.get(user=people.informatics))
    from radgov.governance.selectors import roster

    names = [m.user.username for m in roster(group)]
    assert names == ["dr.chen", "physicist", "privacy", "informatics"]
