"""What every inventory service shares: who may change the inventory, and the checks of the
fields a change gives."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.db.models import Model

from radgov.core.roles import Role
from radgov.inventory.lifecycle import NotPermitted
from radgov.inventory.services.errors import InventoryError

M = TypeVar("M", bound=Model)
Cleaner = Callable[[dict[str, Any]], dict[str, Any]]


def can_change(user: Any) -> bool:
    """Administrators, imaging informatics and governance-group members keep the inventory."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.role != Role.VENDOR
        and (user.role in (Role.ADMINISTRATOR, Role.INFORMATICS) or user.is_governance_member)
    )


def can_upload(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.role in (Role.ADMINISTRATOR, Role.INFORMATICS)
    )


def require_change(user: Any) -> None:
    if not can_change(user):
        raise NotPermitted(
            "only administrators, imaging informatics and governance-group members change the inventory"
        )


def require_known(fields: Iterable[str], known: Iterable[str], what: str) -> None:
    """Refuse a field the record does not have, naming every one."""
    unknown = set(fields) - set(known)
    if unknown:
        raise InventoryError(f"unknown {what} fields: {', '.join(sorted(unknown))}")


def stripped(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}


def locked_update(
    row: M, names: Iterable[str], fields: dict[str, Any], clean: Cleaner
) -> tuple[M, dict[str, Any]]:
    """``row`` read again under a lock for the update, and its ``names`` with ``fields``
    given over them, cleaned as a new record's would be."""
    locked = type(row)._default_manager.select_for_update().get(pk=row.pk)
    return locked, clean({**{k: getattr(locked, k) for k in names}, **fields})
