"""Issue 11 item 4: API tokens do not outlive the second factor or the password.

Minting needs a fresh MFA check (a token never mints a token); a password change, an MFA
reset and disabling the account revoke every token; the longest lifetime is a setting; each
audited action taken with a token names the token; the one-time password of a new account
must be changed at first login."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from radgov.accounts import services
from radgov.accounts.models import ApiToken
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from tests.factories import PASSWORD, client_for, make_user, problem, totp_code

pytestmark = pytest.mark.django_db


def _fresh_mfa(client: Client, user) -> None:  # type: ignore[no-untyped-def]
    response = client.post(reverse("mfa_reauthenticate"), {"code": totp_code(user.totp_secret)})
    assert response.status_code == 302, response.content


def test_minting_on_the_page_asks_for_the_second_factor_again() -> None:
    user = make_user("minter")
    client = client_for(user)
    response = client.post(reverse("accounts:tokens"), {"name": "pacs", "days": 30})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    assert not ApiToken.objects.exists()
    _fresh_mfa(client, user)
    response = client.post(reverse("accounts:tokens"), {"name": "pacs", "days": 30})
    assert response.status_code == 200 and ApiToken.objects.filter(user=user).count() == 1


def test_the_api_mints_only_for_a_session_with_a_fresh_second_factor() -> None:
    user = make_user("api-minter")
    _, secret = services.create_token(user, name="first")
    by_token = Client().post(
        "/api/tokens", {"name": "second"}, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )  # fmt: skip
    assert "a token cannot mint" in problem(by_token, 403)
    client = client_for(user)
    stale = client.post("/api/tokens", {"name": "second"}, content_type="application/json")
    assert "second factor" in problem(stale, 403)
    _fresh_mfa(client, user)
    fresh = client.post("/api/tokens", {"name": "second"}, content_type="application/json")
    assert fresh.status_code == 201
    assert ApiToken.objects.filter(user=user).count() == 2


def test_a_password_change_revokes_every_token() -> None:
    user = make_user("changer")
    _, secret = services.create_token(user, name="t")
    client = client_for(user)
    _fresh_mfa(client, user)
    new = "another horse battery 77"
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )
    assert response.status_code == 302, response.content
    assert ApiToken.objects.get().revoked_at is not None
    refused = Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert "revoked" in problem(refused, 401)
    assert AuditEntry.objects.filter(action="token_revoked", actor_name="changer").exists()


def test_a_password_change_ends_the_other_sessions() -> None:
    from radgov.accounts.models import LoginSession

    user = make_user("two-places")
    here, elsewhere = client_for(user), client_for(user)
    assert LoginSession.objects.filter(user=user).count() == 2
    new = "another horse battery 78"
    response = here.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302  # back to the login page


def test_an_mfa_reset_revokes_every_token() -> None:
    user = make_user("resetter")
    services.create_token(user, name="t")
    client = client_for(user)
    _fresh_mfa(client, user)
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302, response.content
    assert ApiToken.objects.get().revoked_at is not None


def test_disabling_the_account_revokes_tokens_and_says_so() -> None:
    user = make_user("leaver")
    row, _ = services.create_token(user, name="t")
    services.deactivate_user(user)
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert AuditEntry.objects.filter(action="token_revoked", object_id=str(row.pk)).exists()


def test_the_longest_lifetime_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user("long")
    with pytest.raises(services.AccountError, match="1 to 90 days"):
        services.create_token(user, name="t", days=366)
    monkeypatch.setenv("RADGOV_API_TOKEN_MAX_DAYS", "30")
    with pytest.raises(services.AccountError, match="1 to 30 days"):
        services.create_token(user, name="t", days=31)
    row, _ = services.create_token(user, name="t")  # the default is held to the maximum
    assert (row.expires_at - row.created_at).days <= 30


def test_each_audited_action_through_a_token_names_it() -> None:
    user = make_user("token-user", role=Role.ADMINISTRATOR)
    row, secret = services.create_token(user, name="t")
    response = Client().post(
        "/api/users", {"username": "made-by-token", "role": "physician"},
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    entry = AuditEntry.objects.filter(action="create", object_type="accounts.user").latest("seq")
    assert entry.channel == f"token:{row.pk}" and entry.actor_name == "token-user"


def test_the_one_time_password_must_be_changed_at_first_login() -> None:
    user, one_time = services.create_user("newcomer", role=Role.PHYSICIAN)
    assert user.must_change_password
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(user, generate_totp_secret())
    client = client_for(user)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse(
        "account_change_password"
    )
    assert "one-time password" in problem(client.get("/api/me"), 403)
    new = "my own horse battery 12"
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": one_time, "password1": new, "password2": new},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password
    time.sleep(0)  # the page is reachable now
    assert client.get("/").status_code == 200
