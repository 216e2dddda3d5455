"""The role x route matrix: deny by default, proved against golden tables.

tests/<app>/route_matrix.csv (the platform's in tests/accounts/) are the reviewed
record of who may use every route.  A route missing from them, a rule that
disagrees with them, or a running application that lets through what they deny
(or refuses what they allow) fails here."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.test import Client

from radgov.core import policy
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from tests.accounts.make_route_matrix import COLUMNS, expected, table_path
from tests.accounts.routes import METHODS, named_routes, refused_by_policy
from tests.factories import make_user

TESTS = Path(__file__).resolve().parents[1]


def golden() -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for path in sorted(TESTS.glob("*/route_matrix.csv")):
        with path.open() as fh:
            for row in csv.DictReader(fh):
                assert row["route"] not in rows, f"{row['route']} is listed twice"
                rows[row["route"]] = row
    return rows


def test_each_route_is_in_its_owners_table() -> None:
    for name in named_routes():
        path = table_path(policy.owner_of(name))
        assert path.exists() and f"\n{name}," in path.read_text(), f"{name} belongs in {path}"


def test_every_route_is_in_the_golden_table() -> None:
    missing = sorted(set(named_routes()) - set(golden()))
    assert not missing, f"routes missing from the golden tables (regenerate and review): {missing}"


def test_golden_table_has_no_stale_routes() -> None:
    stale = sorted(set(golden()) - set(named_routes()))
    assert not stale, f"the golden tables name routes that no longer exist: {stale}"


def test_policy_agrees_with_golden_table() -> None:
    table = golden()
    for name in named_routes():
        assert [table[name][c] for c in COLUMNS] == expected(name), (
            f"policy for {name} differs from the golden table"
        )


@pytest.mark.django_db
@pytest.mark.urls("tests.accounts.unlisted_urls")
@pytest.mark.parametrize("column", COLUMNS)
def test_unlisted_route_is_denied_to_everyone(column: str) -> None:
    """A route no rule lists (tests/accounts/unlisted_urls.py) is refused to every role and to
    the anonymous visitor before its view runs, and each refusal is audited once."""
    assert policy.rule_for("unlisted_route") is None
    assert all(cell == "deny" for cell in expected("unlisted_route"))
    client = Client()
    anonymous = column == "anonymous"
    if not anonymous:
        client.force_login(make_user(f"unlisted-{column}", role=column))
    response = client.get("/unlisted-route/")
    assert refused_by_policy(response, anonymous), (column, response.status_code)
    assert b"the unlisted view ran" not in response.content
    denied = AuditEntry.objects.filter(action="denied", object_id__contains="unlisted")
    assert denied.count() == 1


def test_no_patient_data_rule_admits_the_vendor() -> None:
    for name, rule in policy.all_rules().items():
        if rule.patient_data:
            assert Role.VENDOR.value not in rule.roles, name
    with pytest.raises(ValueError, match="vendor"):
        policy.Rule(roles=frozenset({Role.VENDOR.value}), patient_data=True)


@pytest.mark.django_db
@pytest.mark.parametrize("column", COLUMNS)
def test_running_application_matches_golden_table(column: str) -> None:
    """Request every route as each role (and anonymously); the answer must be a
    refusal exactly where the table says deny, and each refusal is audited."""
    client = Client()
    anonymous = column == "anonymous"
    if not anonymous:
        user = make_user(f"matrix-{column}", role=column)
        client.force_login(user)
    table = golden()
    for name, url in sorted(named_routes().items()):
        if not url or name == "account_logout":
            continue
        before = AuditEntry.objects.filter(action="denied").count()
        method = METHODS.get(name, "GET")  # each API operation with its own method
        response = client.generic(method, url, data="{}", content_type="application/json")
        refused = refused_by_policy(response, anonymous)
        want = table[name][column]
        assert refused == (want == "deny"), (
            f"{column} GET {url} ({name}): {response.status_code}, table says {want}"
        )
        if want == "deny" and response.status_code == 403:
            assert AuditEntry.objects.filter(action="denied").count() == before + 1, (
                f"denial of {name} not audited"
            )
