"""What the dashboard shows as it is now (its API tokens, the worker, the audit trail's size)
is read live in one query: a token issued, revoked or run out, a worker that stops beating,
shows on the very next view, whatever the cached to-do sections hold."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from radgov.accounts import services as accounts
from radgov.accounts.models import ApiToken
from radgov.core import health
from radgov.core.audit.selectors import count_entries
from radgov.core.models import ProcessBeat
from radgov.core.roles import Role
from tests.factories import client_for, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cache_in_memory")]


def _shown(client: Any, term: str) -> str:
    page = client.get("/").content.decode()
    found = re.search(rf"<dt>{term}</dt><dd>(.*?)</dd>", page)
    assert found is not None, page
    return found.group(1)


def test_a_token_shows_at_once_and_leaves_when_revoked_or_run_out() -> None:
    user = make_user("token-holder")
    client = client_for(user)
    assert _shown(client, "API tokens") == "0 active"
    first, _ = accounts.create_token(user, name="scripts")
    accounts.create_token(user, name="export")
    accounts.create_token(make_user("someone-else"), name="theirs")  # not counted for user
    assert _shown(client, "API tokens") == "2 active"
    accounts.revoke_token(user, first.pk)
    assert _shown(client, "API tokens") == "1 active"
    # running out is the clock's doing, not a service's: no generation moves
    ApiToken.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _shown(client, "API tokens") == "0 active"


def test_the_worker_and_the_audit_trail_as_they_are_now() -> None:
    client = client_for(make_user("platform-admin", role=Role.ADMINISTRATOR))
    assert "not running" in _shown(client, "Background worker")
    health.beat("worker")
    assert _shown(client, "Background worker") == "running"
    health.beat("gateway-dicom")  # another process beating is not the worker
    stale = timezone.now() - timedelta(seconds=health.ALIVE_WITHIN_SECONDS + 1)
    ProcessBeat.objects.filter(name="worker").update(beat_at=stale)
    assert "not running" in _shown(client, "Background worker")
    shown = int(_shown(client, "Audit trail").removesuffix(" entries"))
    assert shown == count_entries() > 0
    assert _shown(client, "Database") == connection.vendor


def test_only_an_administrator_sees_the_platform() -> None:
    page = client_for(make_user("platform-reader")).get("/").content.decode()
    assert "Platform" not in page and "Audit trail</dt>" not in page
    assert "<dt>API tokens</dt><dd>0 active</dd>" in page


def test_the_live_counts_are_one_query() -> None:
    client = client_for(make_user("counted-admin", role=Role.ADMINISTRATOR))
    client.get("/")  # the to-do sections now in the cache
    with CaptureQueriesContext(connection) as seen:
        assert client.get("/").status_code == 200
    live = [
        q["sql"]
        for q in seen.captured_queries
        if "accounts_apitoken" in q["sql"] or "core_processbeat" in q["sql"]
    ]
    assert len(live) == 1, live
    assert "core_audithead" in live[0]
