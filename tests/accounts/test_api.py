"""The API: tokens hashed, expiring and limited to their owner's role; errors as
problem+json (RFC 9457); bad requests change nothing and are audited."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from radgov.accounts import services
from radgov.accounts.models import ApiToken, User
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from tests.factories import make_user


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def is_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


@pytest.fixture
def admin_token(db) -> str:  # type: ignore[no-untyped-def]
    _, secret = services.create_token(make_user("api-admin", role=Role.ADMINISTRATOR), name="tests")
    return secret


@pytest.mark.django_db
def test_token_is_stored_only_as_a_digest_and_works(admin_token: str) -> None:
    row = ApiToken.objects.get()
    assert admin_token not in (row.digest, row.prefix) and len(row.digest) == 64
    response = Client().get("/api/me", **bearer(admin_token))
    assert response.status_code == 200 and response.json()["username"] == "api-admin"
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.django_db
def test_token_is_limited_to_its_owners_role() -> None:
    _, secret = services.create_token(make_user("api-tech", role=Role.TECHNOLOGIST), name="t")
    body = is_problem(Client().get("/api/users", **bearer(secret)), 403)
    assert "role not permitted" in body["detail"]
    assert AuditEntry.objects.filter(
        action="denied", object_id="api:list_users", actor_name="api-tech"
    ).exists()


@pytest.mark.django_db
def test_expired_revoked_and_malformed_tokens_are_refused(admin_token: str) -> None:
    with time_machine.travel(timezone.now() + timedelta(days=91)):
        assert (
            "expired" in is_problem(Client().get("/api/me", **bearer(admin_token)), 401)["detail"]
        )
    assert (
        "malformed" in is_problem(Client().get("/api/me", **bearer("not-a-token")), 401)["detail"]
    )
    assert (
        "unknown"
        in is_problem(Client().get("/api/me", **bearer("rg_abcd1234_nope")), 401)["detail"]
    )
    services.revoke_token(User.objects.get(username="api-admin"), ApiToken.objects.get().pk)
    assert "revoked" in is_problem(Client().get("/api/me", **bearer(admin_token)), 401)["detail"]
    assert AuditEntry.objects.filter(action="denied", event_code="110114").count() == 4


@pytest.mark.django_db
def test_anonymous_api_request_gets_401_problem() -> None:
    is_problem(Client().get("/api/me"), 401)


@pytest.mark.django_db
def test_create_user_through_api_and_bad_requests_change_nothing(admin_token: str) -> None:
    client = Client()
    ok = client.post(
        "/api/users",
        json.dumps({"username": "newdoc", "role": "physician"}),
        content_type="application/json",
        **bearer(admin_token),
    )
    assert ok.status_code == 201 and ok.json()["one_time_password"]
    count = User.objects.count()
    cases = [
        (json.dumps({"username": "x", "role": "wizard"}), 422, "unknown role 'wizard'"),
        (json.dumps({"username": "NEWDOC", "role": "physician"}), 422, "already exists"),
        ("{not json", 400, ""),
        (json.dumps({"role": "physician"}), 422, "username"),
    ]
    for body, status, words in cases:
        response = client.post(
            "/api/users", body, content_type="application/json", **bearer(admin_token)
        )
        problem = is_problem(response, status)
        assert words in problem["detail"], problem
    assert User.objects.count() == count


@pytest.mark.django_db
def test_another_users_token_cannot_be_revoked_by_id() -> None:
    owner, intruder = make_user("owner"), make_user("intruder")
    row, _ = services.create_token(owner, name="mine")
    _, intruder_secret = services.create_token(intruder, name="theirs")
    response = Client().post(f"/api/tokens/{row.pk}/revoke", **bearer(intruder_secret))
    is_problem(response, 404)
    assert ApiToken.objects.get(pk=row.pk).revoked_at is None
    assert AuditEntry.objects.filter(
        action="denied", object_id="api:revoke_token", outcome="denied"
    ).exists()


@pytest.mark.django_db
def test_session_api_calls_need_csrf_for_writes() -> None:
    user = make_user("sessioner")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/me").status_code == 200
    response = client.post(
        "/api/tokens", json.dumps({"name": "x"}), content_type="application/json"
    )
    assert response.status_code in (401, 403)
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_openapi_schema_lists_the_routes(admin_token: str) -> None:
    schema = Client().get("/api/openapi.json", **bearer(admin_token)).json()
    assert "/api/users" in schema["paths"] and "/api/audit/entries" in schema["paths"]
