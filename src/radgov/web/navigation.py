"""The navigation, filtered by the same permission policy that guards the routes,
so a person is never shown a link that would be refused."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from django.urls import reverse

from radgov.core import policy


@dataclass(frozen=True)
class Item:
    label: str
    route: str


PLATFORM_ITEMS = [
    Item("Audit trail", "web:audit"),
    Item("Users", "accounts:users"),
    Item("API tokens", "accounts:tokens"),
    Item("Security (MFA)", "mfa_index"),
    Item("API docs", "api:openapi-view"),
]


def all_items() -> list[Item]:
    """The dashboard, then each domain app's items (radgov/<app>/navigation.py,
    ``ITEMS``), then the platform's."""
    items = [Item("Dashboard", "web:dashboard")]
    for app in policy.DOMAIN_APPS:
        if importlib.util.find_spec(f"radgov.{app}.navigation") is not None:
            items += importlib.import_module(f"radgov.{app}.navigation").ITEMS
    return items + PLATFORM_ITEMS


def items_for(role: str | None) -> list[dict[str, str]]:
    shown = []
    for item in all_items():
        rule = policy.rule_for(item.route)
        if rule is not None and rule.allows(role):
            shown.append({"label": item.label, "url": reverse(item.route), "route": item.route})
    return shown
