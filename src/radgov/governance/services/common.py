"""What every governance service shares: the rules it cites, the checks of who acts and of
what they give, and the one way a refusal is raised."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db.models import Model

from radgov.core.roles import Role
from radgov.governance import selectors
from radgov.governance.models import GovernanceGroup, Membership
from radgov.governance.services.errors import GovernanceError, GovernancePermissionError

M = TypeVar("M", bound=Model)

CHAMPION_RULE = (
    "IV.A.4: a clinical champion brings requests for new AI models to the governance group "
    "and should not be a member of it"
)
PHYSICIAN_RULE = (
    "III.A.3 / IV.A.2: the governance group includes at least one physician/qualified end-user"
)


def who(user: Any) -> str:
    return getattr(user, "username", None) or "an anonymous caller"


def require_admin(actor: Any, what: str) -> None:
    if getattr(actor, "role", None) != Role.ADMINISTRATOR:
        raise GovernancePermissionError(
            f"III.G: administrators manage the governance group; {who(actor)} may not {what}"
        )


def require_member(group: GovernanceGroup, actor: Any, what: str) -> Membership:
    membership = selectors.active_membership(group, actor)
    if membership is None:
        raise GovernancePermissionError(
            f"IV.A: only members of the governance group {group} may {what}; "
            f"{who(actor)} is not an active member"
        )
    return membership


def require_member_or(group: GovernanceGroup, actor: Any, roles: Iterable[str], what: str) -> None:
    if getattr(actor, "role", None) in set(roles):
        return
    require_member(group, actor, what)


def refuse(reason: str | None, consequence: str = "") -> None:
    """Raise ``reason`` (a bound's refusal, a recusal) when there is one, followed by what it
    means for this action."""
    if reason:
        raise GovernanceError(f"{reason}; {consequence}" if consequence else reason)


def text(value: str | None, what: str, rule: str = "") -> str:
    value = (value or "").strip()
    if not value:
        raise GovernanceError(f"{what} is required" + (f" ({rule})" if rule else ""))
    return value


def choice(value: str, choices: Any, what: str) -> str:
    if value not in choices.values:
        raise GovernanceError(
            f"unknown {what} {value!r}; choose one of: {', '.join(choices.values)}"
        )
    return value


def upsert(model: type[M], lookup: dict[str, Any], **values: Any) -> M:
    """The one row of ``model`` that ``lookup`` names, created with ``values`` or changed to
    them (a vote, a score, a checklist line: each person or subject has one)."""
    row = model._default_manager.filter(**lookup).first()
    if row is None:
        return model._default_manager.create(**lookup, **values)
    for key, value in values.items():
        setattr(row, key, value)
    row.save()
    return row
