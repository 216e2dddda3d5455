"""radgov createuser, users list and demo, as an administrator types them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from radgov.accounts.models import User
from radgov.core.models import AuditEntry


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_createuser_prints_a_one_time_password_and_audits() -> None:
    out = run(
        "createuser",
        "dr.lee",
        "--role",
        "physician",
        "--email",
        "lee@example.org",
        "--governance-member",
    )
    password = out.split("One-time password: ")[1].split()[0]
    user = User.objects.get(username="dr.lee")
    assert user.check_password(password) and user.role == "physician" and user.is_governance_member
    entry = AuditEntry.objects.get(action="create", object_type="accounts.user")
    assert entry.channel == "cli" and password not in entry.detail_json


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--role", "wizard"], "unknown role 'wizard'"),
        (["  ", "--role", "physician"], "a username is required"),
    ],
)
def test_createuser_refuses_bad_input_and_changes_nothing(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("createuser", *args)
    assert not User.objects.exists()
    refusal = AuditEntry.objects.get(action="denied")
    assert refusal.outcome == "failure" and message in refusal.detail["reason"]


@pytest.mark.django_db
def test_createuser_refuses_a_duplicate() -> None:
    run("createuser", "sam", "--role", "technologist")
    with pytest.raises(CommandError, match="already exists"):
        run("createuser", "SAM", "--role", "physician")
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_users_list_shows_roles_and_mfa_state() -> None:
    run("createuser", "pat", "--role", "medical_physicist")
    out = run("users", "list")
    assert "pat" in out and "Medical physicist" in out and "not yet" in out


@pytest.mark.django_db
def test_demo_is_idempotent() -> None:
    first = run("demo")
    users = sorted(User.objects.values_list("username", "role"))
    entries = AuditEntry.objects.count()
    second = run("demo")
    assert sorted(User.objects.values_list("username", "role")) == users
    assert AuditEntry.objects.count() == entries, "a second run changes nothing"
    assert "9 accounts created" in first and "0 accounts created" in second
    roles = {role for _, role in users}
    assert len(roles) == 8, "one person for each role of section III"
