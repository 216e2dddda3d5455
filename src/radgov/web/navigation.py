"""The navigation, filtered by the same permission policy that guards the routes,
so a person is never shown a link that would be refused."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from radgov.core import policy


@dataclass(frozen=True)
class Item:
    label: str
    route: str


ITEMS = [
    Item("Dashboard", "web:dashboard"),
    Item("Audit trail", "web:audit"),
    Item("Users", "accounts:users"),
    Item("API tokens", "accounts:tokens"),
    Item("Security (MFA)", "mfa_index"),
    Item("API docs", "api:openapi-view"),
]


def items_for(role: str | None) -> list[dict[str, str]]:
    shown = []
    for item in ITEMS:
        rule = policy.rule_for(item.route)
        if rule is not None and rule.allows(role):
            shown.append({"label": item.label, "url": reverse(item.route), "route": item.route})
    return shown
