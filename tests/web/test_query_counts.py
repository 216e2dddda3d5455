"""Issue 11 item 6: pages hold up under load.  A page view writes nothing (the session's idle
clock moves at most once a minute: a write per request queued every request behind SQLite's
one writer), the dashboard's queries do not grow with the audit trail, and the acceptance
testing overview reads a fixed number of times however many deployments there are."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from radgov.core.roles import Role
from tests.factories import client_for, make_user
from tests.training.helpers import make_deployment, make_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cache_in_memory")]


def _queries(client, url: str) -> list[str]:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_a_page_view_writes_nothing_and_the_dashboard_counts_nothing() -> None:
    client = client_for(make_user("reader", role=Role.ADMINISTRATOR))
    client.get("/")  # the first view after login starts the idle clock
    sql = _queries(client, "/")
    writes = [q for q in sql if q.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]
    assert writes == [], writes
    assert not [q for q in sql if "COUNT(*)" in q and "auditentry" in q.lower()]
    assert len(sql) <= 12, sql  # session, user and the to-do list's fixed set of reads


def test_the_evaluation_overview_does_not_read_per_deployment() -> None:
    client = client_for(make_user("overview", role=Role.PHYSICIAN))
    make_deployment(make_version())
    few = len(_queries(client, "/evaluation/"))
    for i in range(4):
        make_deployment(make_version(version=f"3.{i}"))
    assert len(_queries(client, "/evaluation/")) == few


def test_the_api_list_of_deployments_runs_no_lifecycle_guard() -> None:
    """The list is the brief row: what each next move is missing (a dozen tables read by the
    lifecycle's guards) is on the deployment's own route only."""
    client = client_for(make_user("api-lister", role=Role.ADMINISTRATOR))
    rows = [make_deployment(make_version(version=f"4.{i}")) for i in range(3)]
    sql = _queries(client, "/api/inventory/deployments")
    # session, user, MFA; the count and the page; contact, champions, end-users, pilot users
    # and histories: one query each for the whole page
    assert len(sql) <= 10, sql
    items = client.get("/api/inventory/deployments").json()["items"]
    assert [i["id"] for i in items] == [d.pk for d in rows]
    assert all("missing" not in i for i in items)
    one = client.get(f"/api/inventory/deployments/{rows[0].pk}").json()
    assert [m for ms in one["missing"].values() for m in ms], one  # the guards' sentences


def test_the_deployments_page_reads_a_fixed_few_times() -> None:
    client = client_for(make_user("page-lister", role=Role.ADMINISTRATOR))
    for i in range(3):
        make_deployment(make_version(version=f"5.{i}"))
    sql = _queries(client, "/inventory/deployments/")
    assert len(sql) <= 5, sql  # session, user, MFA; the counts per stage and the page
