"""The dashboard's to-do sections and the deployments lists are kept in the cache
(``radgov.core.generations``): a second request reads them from there, and a change made
through a service shows on the very next request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from radgov.accounts.models import User
from radgov.core import generations
from radgov.core.roles import Role
from radgov.inventory import lifecycle, services
from radgov.inventory.models import Deployment
from radgov.inventory.stages import Stage
from tests.factories import client_for, make_user
from tests.inventory.conftest import pdf_upload

LISTS = ["/api/inventory/deployments", "/inventory/deployments/"]


def _queries(client: Any, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as seen:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(seen.captured_queries), response.content.decode()


@pytest.mark.parametrize("url", LISTS)
def test_a_list_is_read_from_the_cache_until_a_service_changes_the_inventory(
    url: str, deployment: Deployment, people: dict[str, User]
) -> None:
    client = client_for(people["informatics"])
    first, page = _queries(client, url)
    assert "Main hospital" in page
    second, _ = _queries(client, url)
    assert second < first  # the rows came from the cache
    services.update_deployment(people["informatics"], deployment, site="East wing")
    _, changed = _queries(client, url)
    assert "East wing" in changed and "Main hospital" not in changed


def test_the_dashboard_shows_a_suspension_on_the_next_request(
    deployment: Deployment, people: dict[str, User], inventory_guards_only: Any
) -> None:
    keeper, gov = people["informatics"], people["gov"]
    services.upload_document(
        keeper, deployment.model_version, kind="ifu", version_label="A", upload=pdf_upload()
    )
    services.update_deployment(
        keeper, deployment, output_release_policy="PACS after review", pilot_users=[gov]
    )
    inventory_guards_only.append(lambda d: None)
    for stage in (Stage.UNDER_REVIEW, Stage.APPROVED, Stage.PILOT):
        lifecycle.transition(gov, deployment, stage)
    client = client_for(people["admin"])
    first, page = _queries(client, "/")
    assert "None is suspended." in page
    second, _ = _queries(client, "/")
    assert second < first
    lifecycle.transition(gov, deployment, Stage.SUSPENDED, reason="Sensitivity fell")
    _, page = _queries(client, "/")
    assert "None is suspended." not in page and "Main hospital" in page


def test_a_vendor_never_reads_the_staffs_cached_list(
    deployment: Deployment, people: dict[str, User]
) -> None:
    _queries(client_for(people["informatics"]), "/api/inventory/deployments")  # staff's kept
    _, page = _queries(client_for(people["vendor"]), "/api/inventory/deployments")
    [row] = json.loads(page)["items"]
    assert row["end_users"] is None  # the vendor's own answer, without the end-users


def test_only_writes_to_watched_apps_renew_a_generation(db: Any) -> None:
    built: list[int] = []

    def build() -> int:
        built.append(1)
        return len(built)

    assert generations.cached(("x",), ["inventory"], build) == 1
    assert generations.cached(("x",), ["inventory"], build) == 1
    generations.bump(["exams", "gateway"])  # not read by any cached value
    assert generations.cached(("x",), ["inventory"], build) == 1
    generations.bump(["inventory"])
    assert generations.cached(("x",), ["inventory"], build) == 2


def test_the_deployments_page_keeps_each_audiences_rows_apart(
    deployment: Deployment, people: dict[str, User]
) -> None:
    """The page's rows are kept as HTML: a vendor's are kept apart from the staff's and from
    another vendor's, so no one is shown a row someone else may see."""
    stranger = make_user("other-vendor", role=Role.VENDOR)  # represents no company here
    _, staff = _queries(client_for(people["informatics"]), "/inventory/deployments/")
    assert "Main hospital" in staff  # the staff's rows now kept
    _, theirs = _queries(client_for(stranger), "/inventory/deployments/")
    assert "Main hospital" not in theirs and "No deployments" in theirs
    _, own = _queries(client_for(people["vendor"]), "/inventory/deployments/")
    assert "Main hospital" in own


def test_the_deployments_page_reads_as_often_however_many_rows(
    deployment: Deployment, people: dict[str, User], cache_in_memory: None
) -> None:
    client = client_for(people["admin"])
    cold, _ = _queries(client, "/inventory/deployments/")
    warm, _ = _queries(client, "/inventory/deployments/")
    for i in range(5):
        services.create_deployment(
            people["informatics"], deployment.model_version, site=f"Site {i}"
        )
    assert _queries(client, "/inventory/deployments/")[0] == cold
    more_warm, page = _queries(client, "/inventory/deployments/")
    assert more_warm == warm < cold and "Site 4" in page
