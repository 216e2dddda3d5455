"""Issue 11 item 13: a page answers 405 for a method it does not handle, instead of
treating PUT or DELETE like GET.  One mechanism for every page route, checked across the
whole route table; an API path answers 405 as problem+json for methods its operations lack."""

from __future__ import annotations

import pytest
from django.test import Client

from radgov.core.roles import Role
from tests.accounts.routes import named_routes
from tests.factories import make_user

REFUSED_METHODS = ("PUT", "PATCH", "DELETE", "TRACE", "OPTIONS", "PROPFIND")


def _page_routes() -> dict[str, str]:
    return {n: u for n, u in named_routes().items() if u and not u.startswith("/api/")}


@pytest.mark.django_db
@pytest.mark.parametrize("method", REFUSED_METHODS)
def test_every_page_route_refuses_methods_no_page_handles(method: str) -> None:
    client = Client()
    client.force_login(make_user("methods-admin", role=Role.ADMINISTRATOR))
    wrong = {}
    for name, url in sorted(_page_routes().items()):
        response = client.generic(method, url)
        if response.status_code != 405:
            wrong[name] = response.status_code
        else:
            assert set(response["Allow"].split(", ")) <= {"GET", "HEAD", "POST"}, name
    assert not wrong, f"{method} not refused with 405: {wrong}"


@pytest.mark.django_db
def test_the_refusal_comes_before_login() -> None:
    response = Client().generic("DELETE", "/")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, POST"


@pytest.mark.django_db
def test_read_only_pages_refuse_post() -> None:
    client = Client()
    client.force_login(make_user("methods-admin2", role=Role.ADMINISTRATOR))
    for url in ("/", "/audit/", "/healthz"):
        response = client.post(url)
        assert response.status_code == 405, url
        assert response["Allow"] == "GET", url


@pytest.mark.django_db
@pytest.mark.parametrize("method", ("PUT", "DELETE", "HEAD", "OPTIONS"))
def test_an_api_path_refuses_methods_its_operations_lack_as_problem_json(method: str) -> None:
    client = Client()
    client.force_login(make_user("methods-admin3", role=Role.ADMINISTRATOR))
    response = client.generic(method, "/api/inventory/deployments")  # a list: GET only
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    if method != "HEAD":
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["detail"].startswith(f"{method} is not an operation of this path")
    assert client.get("/api/inventory/deployments").status_code == 200
