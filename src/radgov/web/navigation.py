"""The navigation, filtered by the same permission policy that guards the routes,
so a person is never shown a link that would be refused.

The top bar shows one entry per area (the dashboard, each domain app, the
administration); the area a page belongs to shows its own pages in a second row.
Each domain app lists its pages in radgov/<app>/navigation.py (``ITEMS``, and
optionally ``LABEL`` for the area's name)."""

from __future__ import annotations

import functools
import importlib
import importlib.util
from dataclasses import dataclass, field

from django.urls import reverse

from radgov.core import policy


@dataclass(frozen=True)
class Item:
    label: str
    route: str


@dataclass(frozen=True)
class Area:
    key: str
    label: str
    items: list[Item] = field(default_factory=list)


# the person's own account, shown beside their name rather than as an area
ACCOUNT_ITEMS = [
    Item("API tokens", "accounts:tokens"),
    Item("Security (MFA)", "mfa_index"),
    Item("API docs", "api:openapi-view"),
]


@functools.cache
def all_areas() -> tuple[Area, ...]:
    areas = [Area("web", "Dashboard", [Item("Dashboard", "web:dashboard")])]
    for app in policy.DOMAIN_APPS:
        if importlib.util.find_spec(f"radgov.{app}.navigation") is not None:
            module = importlib.import_module(f"radgov.{app}.navigation")
            areas.append(Area(app, getattr(module, "LABEL", app.capitalize()), list(module.ITEMS)))
    areas.append(
        Area(
            "accounts",
            "Administration",
            [Item("Audit trail", "web:audit"), Item("Users", "accounts:users")],
        )
    )
    return tuple(areas)


def _link(item: Item) -> dict[str, str]:
    return {"label": item.label, "url": reverse(item.route), "route": item.route}


def _allowed(items: list[Item], role: str | None) -> list[dict[str, str]]:
    shown = []
    for item in items:
        rule = policy.rule_for(item.route)
        if rule is not None and rule.allows(role):
            shown.append(_link(item))
    return shown


def area_of(route: str) -> str:
    return "web" if route.startswith("web:dashboard") else policy.owner_of(route)


@functools.cache
def _area_links(role: str | None) -> tuple[tuple[Area, list[dict[str, str]]], ...]:
    """Each area this role may enter with its links: the same for every request of the role
    (worked out once per process, not on every page)."""
    shown = ((area, _allowed(area.items, role)) for area in all_areas())
    return tuple((area, links) for area, links in shown if links)


def navigation_for(role: str | None, current_route: str) -> dict[str, object]:
    """The areas this role may enter, the pages of the current one, and the
    person's account links."""
    current_area = area_of(current_route) if current_route else ""
    areas, pages = [], []
    for area, links in _area_links(role):
        is_current = area.key == current_area
        areas.append({"label": area.label, "url": links[0]["url"], "current": is_current})
        if is_current and len(links) > 1:
            pages = links
    return {"nav_areas": areas, "nav_pages": pages, "nav_account": _account_links(role)}


@functools.cache
def _account_links(role: str | None) -> list[dict[str, str]]:
    return _allowed(ACCOUNT_ITEMS, role)


def items_for(role: str | None) -> list[dict[str, str]]:
    """Every page this role may reach from the navigation, in order (the dashboard's list)."""
    shown = []
    for _, links in _area_links(role):
        shown += links
    return shown + _account_links(role)
