"""MFA cannot be skipped, TOTP codes cannot be replayed, and the session id changes
at login and at MFA (OWASP ASVS 2.8.4, 3.2.1)."""

from __future__ import annotations

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from radgov.core.models import AuditEntry
from tests.factories import PASSWORD, has_totp, make_user, totp_code

NOW = 1_800_000_000.0  # a fixed instant well inside a 30-second TOTP period


def login(client: Client, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(reverse("account_login"), {"login": username, "password": password})


@pytest.mark.django_db
def test_new_account_reaches_nothing_but_enrollment() -> None:
    user = make_user("newcomer", enroll=False)
    client = Client()
    response = login(client, user.username)
    assert response.status_code == 302
    for route in ["web:dashboard", "web:audit", "accounts:tokens", "api:me"]:
        response = client.get(reverse(route))
        if route.startswith("api:"):
            assert response.status_code == 403
            assert response["Content-Type"] == "application/problem+json"
            assert "enroll" in response.json()["detail"]
        else:
            assert response.status_code == 302
            assert response["Location"] == reverse("mfa_activate_totp")
    assert client.get(reverse("mfa_activate_totp")).status_code == 200


@pytest.mark.django_db(transaction=True)  # allauth signals enrollment on commit, as in production
def test_enrollment_then_dashboard_and_new_session_id() -> None:
    user = make_user("enroller", enroll=False)
    client = Client()
    with time_machine.travel(NOW, tick=False):
        login(client, user.username)
        key_after_login = client.session.session_key
        page = client.get(reverse("mfa_activate_totp"))
        secret = page.context["form"].secret
        response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret, at=NOW)})
        assert response.status_code == 302, response.content[:500]
        assert has_totp(user)
        assert client.session.session_key != key_after_login
        assert client.get(reverse("web:dashboard")).status_code == 200
    secret_stored = Authenticator.objects.get(user=user, type="totp").data["secret"]
    assert secret not in secret_stored and secret_stored.startswith("v1."), (
        "TOTP secret must be stored encrypted"
    )
    assert AuditEntry.objects.filter(action="mfa_enrolled", actor_id=user.pk).exists()


def _mfa_login(client: Client, user, code: str):  # type: ignore[no-untyped-def]
    response = login(client, user.username)
    assert response["Location"] == reverse("mfa_authenticate")
    return client.post(reverse("mfa_authenticate"), {"code": code})


@pytest.mark.django_db
def test_password_alone_does_not_log_in_and_replayed_code_is_refused() -> None:
    user = make_user("replayer")
    with time_machine.travel(NOW, tick=False):
        code = totp_code(user.totp_secret, at=NOW)
        client = Client()
        login(client, user.username)
        assert client.get(reverse("web:dashboard")).status_code == 302, (
            "password alone must not reach a page"
        )
        before = client.session.session_key
        response = client.post(reverse("mfa_authenticate"), {"code": code})
        assert (
            response.status_code == 302 and client.get(reverse("web:dashboard")).status_code == 200
        )
        assert client.session.session_key != before, "a new session id after MFA"
        client.post(reverse("account_logout"))

        again = Client()
        response = _mfa_login(again, user, code)
        assert response.status_code == 200, "the same code must be refused the second time"
        assert again.get(reverse("web:dashboard")).status_code == 302
    assert AuditEntry.objects.filter(action="login_failed", actor_id=user.pk).exists()


@pytest.mark.django_db
def test_wrong_code_is_refused() -> None:
    user = make_user("wrongcode")
    with time_machine.travel(NOW, tick=False):
        wrong = f"{(int(totp_code(user.totp_secret, at=NOW)) + 1) % 1_000_000:06d}"
        client = Client()
        response = _mfa_login(client, user, wrong)
        assert response.status_code == 200
        assert client.get(reverse("web:dashboard")).status_code == 302
