"""Who decides on deployments and their monitoring: the one check (``policy.governs``) that
the lifecycle, the alarms' standing permissions and monitoring's settings all ask."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from radgov.accounts.models import User
from radgov.core import policy
from radgov.core.models import Machine
from radgov.core.roles import Role


class Refused(PermissionError):
    """A calling app's own refusal."""


def person(role: str, *, member: bool = False, active: bool = True) -> User:
    return User(username="someone", role=role, is_governance_member=member, is_active=active)


@pytest.mark.parametrize(
    ("actor", "decides"),
    [
        (person(Role.ADMINISTRATOR), True),
        (person(Role.PHYSICIAN, member=True), True),
        (person(Role.PHYSICIAN), False),
        (person(Role.INFORMATICS), False),
        (person(Role.ADMINISTRATOR, active=False), False),
        (person(Role.PHYSICIAN, member=True, active=False), False),
        (person(Role.VENDOR, member=True), False),
        (AnonymousUser(), False),
        (None, False),
    ],
    ids=[
        "administrator",
        "member",
        "physician",
        "informatics",
        "disabled administrator",
        "disabled member",
        "vendor flagged member",
        "anonymous",
        "nobody",
    ],
)
def test_members_and_administrators_govern(actor: object, decides: bool) -> None:
    assert policy.governs(actor) is decides


def test_a_machine_never_governs() -> None:
    machine = Machine(kind="task", name="task:watch")
    machine.is_governance_member = True  # even one that claims the capacity
    assert not policy.governs(machine)


def test_a_refusal_is_the_calling_apps_own_and_says_the_rule() -> None:
    with pytest.raises(Refused, match="IV.G: only members"):
        policy.require_governance(person(Role.PHYSICIAN), "IV.G: only members", denied=Refused)
    policy.require_governance(person(Role.ADMINISTRATOR), "IV.G: only members", denied=Refused)
