"""Failed logins are throttled and locked out per account and per client, and a
client cannot escape by rotating X-Forwarded-For."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from radgov.core.models import AuditEntry
from tests.factories import PASSWORD, make_user


def attempt(client: Client, username: str, password: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("account_login"), {"login": username, "password": password}, **headers
    )


@pytest.mark.django_db
def test_account_locked_after_five_failures_even_with_rotated_forwarded_for() -> None:
    user = make_user("target")
    for i in range(5):
        client = Client(REMOTE_ADDR="10.0.0.9")
        response = attempt(
            client, user.username, "wrong password", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}"
        )
        assert response.status_code == 200
    client = Client(REMOTE_ADDR="10.0.0.9")
    response = attempt(client, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.77")
    assert response.status_code == 200 and b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="login_failed").count() == 5
    denied = AuditEntry.objects.filter(action="denied", actor_name="target").get()
    assert denied.client_address == "10.0.0.9", (
        "the audit must record the real peer, not the forwarded header"
    )


@pytest.mark.django_db
def test_other_account_from_other_client_is_not_locked() -> None:
    locked, other = make_user("locked"), make_user("other")
    for _ in range(5):
        attempt(Client(REMOTE_ADDR="10.0.0.1"), locked.username, "nope")
    response = attempt(Client(REMOTE_ADDR="10.0.0.2"), other.username, PASSWORD)
    assert response.status_code == 302


@pytest.mark.django_db
def test_client_locked_after_twenty_failures_across_accounts_with_rotated_header() -> None:
    victim = make_user("victim")
    for i in range(20):
        attempt(
            Client(REMOTE_ADDR="10.9.9.9"),
            f"nobody{i}",
            "guess",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}",
        )
    response = attempt(
        Client(REMOTE_ADDR="10.9.9.9"),
        victim.username,
        PASSWORD,
        HTTP_X_FORWARDED_FOR="192.0.2.200",
    )
    assert response.status_code == 200 and b"Too many failed login attempts" in response.content
    assert attempt(Client(REMOTE_ADDR="10.9.9.10"), victim.username, PASSWORD).status_code == 302
