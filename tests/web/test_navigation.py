"""The navigation's links are worked out once per role and page (``radgov.web.navigation``),
and still mark the page a view names as its own, and show nothing before MFA is enrolled."""

from __future__ import annotations

import re

import pytest

from radgov.core.roles import Role
from tests.factories import client_for, make_user

pytestmark = pytest.mark.django_db


def _marked(page: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" aria-current="(?:page|true)">', page)


def test_the_page_and_its_area_are_marked_for_each_role() -> None:
    physician = client_for(make_user("nav-physician"))
    page = physician.get("/training/models/").content.decode()
    assert _marked(page) == ["/training/", "/training/models/"]  # the area, then the page
    page = physician.get("/training/").content.decode()
    assert _marked(page) == ["/training/", "/training/"]
    assert "/audit/" not in page  # a physician is not shown the administration
    admin = client_for(make_user("nav-admin", role=Role.ADMINISTRATOR)).get("/").content.decode()
    assert _marked(admin) == ["/"] and '<a href="/audit/">Administration</a>' in admin


def test_a_view_names_the_page_it_belongs_to() -> None:
    page = client_for(make_user("nav-records", role=Role.ADMINISTRATOR)).get(
        "/training/records/new/"
    )
    assert page.status_code == 200
    # the form to record training belongs to "Training by model", as its view says
    assert _marked(page.content.decode()) == ["/training/", "/training/models/"]


def test_nothing_is_linked_before_mfa_is_enrolled() -> None:
    page = client_for(make_user("nav-new", enroll=False)).get(
        "/accounts/2fa/totp/activate/", follow=True
    )
    body = page.content.decode()
    assert page.status_code == 200, page.status_code
    assert '<nav aria-label="Main">\n      <ul></ul>' in body
    assert "/inventory/" not in body and 'class="subnav"' not in body
