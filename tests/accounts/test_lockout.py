"""Failed logins are throttled and locked out per account and per client, and a
client cannot escape by rotating X-Forwarded-For."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from radgov.core.models import AuditEntry
from tests.factories import PASSWORD, make_user, totp_code


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


@pytest.mark.django_db
def test_a_valid_login_does_not_reset_the_per_client_count() -> None:
    """Issue 11 item 5: password spraying.  A successful login (password and TOTP) of the
    sprayer's own valid account cleared allauth's shared bucket, the per-client count
    included, so the sprayer could go on for ever.  The per-client count survives it."""
    own = make_user("sprayer")
    for i in range(19):
        attempt(Client(REMOTE_ADDR="10.7.7.7"), f"staff{i}", "Winter2026!")
    client = Client(REMOTE_ADDR="10.7.7.7")
    response = attempt(client, own.username, PASSWORD)
    assert response["Location"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(own.totp_secret)})
    assert response.status_code == 302 and "_auth_user_id" in client.session
    attempt(Client(REMOTE_ADDR="10.7.7.7"), "staff19", "Winter2026!")  # the 20th failure
    victim = make_user("sprayed")
    response = attempt(Client(REMOTE_ADDR="10.7.7.7"), victim.username, PASSWORD)
    assert response.status_code == 200 and b"Too many failed login attempts" in response.content
    # the account itself is not locked: from elsewhere it logs in
    assert attempt(Client(REMOTE_ADDR="10.7.7.8"), victim.username, PASSWORD).status_code == 302
