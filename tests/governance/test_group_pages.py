"""The pages serve every group the API serves: a page is about the group it names."""

from __future__ import annotations

import datetime as dt

import pytest

from radgov.governance import services
from radgov.governance.models import Membership
from tests.factories import client_for, make_user

pytestmark = pytest.mark.django_db


def test_a_page_is_about_the_group_it_names(group, people) -> None:  # type: ignore[no-untyped-def]
    other = services.create_group(
        people.admin,
        name="Cardiac imaging AI group",
        members=[(make_user("dr.heart"), "chair")],
        joined_on=dt.date(2026, 1, 1),
    )
    admin = client_for(people.admin)
    default = admin.get("/governance/").content.decode()
    assert "<h1>AI governance group</h1>" in default  # the first group, offering the other
    assert f'href="?group={other.pk}"' in default
    named = admin.get(f"/governance/?group={other.pk}").content.decode()
    assert "<h1>Cardiac imaging AI group</h1>" in named
    assert client_for(people.admin).get("/governance/?group=999999").status_code == 404
    newcomer = make_user("dr.new")
    admin.post(
        "/governance/members/add/",
        {"group": other.pk, "member-user": newcomer.pk, "member-position": "member"},
    )
    assert Membership.objects.get(user=newcomer).group == other
    heart = client_for(Membership.objects.get(group=other, position="chair").user)
    assert "<h1>Cardiac imaging AI group</h1>" in heart.get("/governance/").content.decode()
