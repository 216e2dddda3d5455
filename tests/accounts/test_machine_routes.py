"""Deny by default, for machines: a machine holding every grant there is may use a route only
where the route's rule names one of its grants (and public routes); everywhere else it is
refused, and each refusal is audited."""

from __future__ import annotations

import pytest
from django.test import Client

from radgov.core import machines, policy
from radgov.core.models import AuditEntry
from tests.accounts.routes import METHODS, named_routes, refused_by_policy


def grants_for(kind: str) -> list[str]:
    return sorted(name for name, g in policy.all_grants().items() if kind in g.kinds)


def test_the_policy_admits_a_machine_only_where_a_rule_names_a_grant() -> None:
    every = type(
        "M", (), {"is_machine": True, "is_active": True, "kind": "api_client", "name": "api:x"}
    )()
    every.grants = grants_for("api_client")
    assert every.grants, "some grant is declared for API clients"
    for name, rule in policy.all_rules().items():
        expected = rule.public or bool(rule.grants & set(every.grants))
        assert policy.admits(rule, every) == expected, name
    every.is_active = False
    assert not any(policy.admits(r, every) for r in policy.all_rules().values() if not r.public)


@pytest.mark.django_db
def test_a_machine_credential_is_refused_on_every_route_no_grant_of_it_opens() -> None:
    api = machines.register(
        None, kind="api_client", name="api:everything", grants=grants_for("api_client")
    )
    _, secret = machines.issue_credential(None, api, name="sweep")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    opened = 0
    for name, url in sorted(named_routes().items()):
        rule = policy.rule_for(name)
        if not url or name == "account_logout":
            continue
        before = AuditEntry.objects.filter(action="denied").count()
        response = client.generic(
            METHODS.get(name, "GET"), url, data="{}", content_type="application/json"
        )
        admitted = rule is not None and (rule.public or bool(rule.grants))
        # pages never read a bearer credential: to them the machine is an anonymous visitor
        assert refused_by_policy(response, anonymous=not url.startswith("/api/")) != admitted, (
            f"{name} {url}: {response.status_code}"
        )
        if not admitted and response.status_code == 403:
            assert AuditEntry.objects.filter(action="denied").count() == before + 1, name
        opened += admitted and not (rule is not None and rule.public)
    assert opened >= 1  # the suspension route, at least
