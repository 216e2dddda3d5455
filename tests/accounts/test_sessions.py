"""Idle timeout (30 minutes) and absolute lifetime (12 hours), with a frozen clock;
logout and disabling an account end sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from radgov.accounts import services
from radgov.accounts.models import LoginSession
from radgov.core.models import AuditEntry
from tests.factories import PASSWORD, make_user

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def logged_in_client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_idle_session_ends_after_30_minutes() -> None:
    user = make_user("idler")
    with time_machine.travel(START, tick=False) as clock:
        client = logged_in_client(user)
        assert client.get(reverse("web:dashboard")).status_code == 200
        clock.shift(timedelta(minutes=29))
        assert client.get(reverse("web:dashboard")).status_code == 200
        clock.shift(timedelta(minutes=31))
        response = client.get(reverse("web:dashboard"))
        assert response.status_code == 302 and "expired=1" in response["Location"]
        assert client.get(reverse("web:dashboard")).status_code == 302
    assert [e.detail["reason"] for e in AuditEntry.objects.filter(action="logout")] == [
        "idle timeout"
    ]


@pytest.mark.django_db
def test_active_session_still_ends_after_12_hours() -> None:
    user = make_user("worker")
    with time_machine.travel(START, tick=False) as clock:
        client = logged_in_client(user)
        for _ in range(11 * 3 + 2):  # a request every 20 minutes: never idle
            clock.shift(timedelta(minutes=20))
            assert client.get(reverse("web:dashboard")).status_code == 200
        clock.shift(timedelta(minutes=21))  # 12h 01m since login: past the absolute limit
        assert client.get(reverse("web:dashboard")).status_code == 302


@pytest.mark.django_db
def test_timeouts_are_configurable(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SESSION_IDLE_TIMEOUT = timedelta(minutes=5)
    user = make_user("short")
    with time_machine.travel(START, tick=False) as clock:
        client = logged_in_client(user)
        clock.shift(timedelta(minutes=6))
        assert client.get(reverse("web:dashboard")).status_code == 302


@pytest.mark.django_db
def test_logout_ends_the_session_server_side() -> None:
    user = make_user("leaver")
    client = logged_in_client(user)
    key = client.session.session_key
    client.post(reverse("account_logout"))
    assert not Session.objects.filter(session_key=key).exists()
    assert not LoginSession.objects.filter(session_key=key).exists()
    assert client.get(reverse("web:dashboard")).status_code == 302


@pytest.mark.django_db
def test_disabling_an_account_ends_all_its_sessions() -> None:
    user = make_user("disabled")
    laptop, workstation = logged_in_client(user), logged_in_client(user)
    assert laptop.get(reverse("web:dashboard")).status_code == 200
    ended = services.deactivate_user(user)
    assert ended == 2
    for client in (laptop, workstation):
        assert client.get(reverse("web:dashboard")).status_code == 302
    assert not LoginSession.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_session_cookie_is_httponly_and_samesite() -> None:
    user = make_user("cookies")
    response = Client().post(
        reverse("account_login"), {"login": user.username, "password": PASSWORD}
    )
    cookie = response.cookies["radgov_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


@pytest.mark.django_db
def test_expired_session_sends_an_htmx_poll_to_the_login_page_not_into_the_box() -> None:
    user = make_user("poller")
    with time_machine.travel(START, tick=False) as clock:
        client = logged_in_client(user)
        clock.shift(timedelta(minutes=31))
        response = client.get(reverse("web:dashboard"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("account_login") + "?expired=1"
