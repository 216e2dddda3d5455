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
from typing import Any

from django.urls import get_script_prefix, reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

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


# how a link says it is this page (or, in the top bar, this page's area)
CURRENT_PAGE = mark_safe(' aria-current="page"')  # noqa: S308
CURRENT_AREA = mark_safe(' aria-current="true"')  # noqa: S308


@dataclass(frozen=True)
class Rendered:
    """The navigation's links as HTML (``web/base.html``, the dashboard's list)."""

    areas: SafeString = SafeString()
    account: SafeString = SafeString()
    pages: SafeString = SafeString()
    items: SafeString = SafeString()  # every page but the dashboard


def _links(links: list[dict[str, str]], current: str, wrap: str = "{}") -> SafeString:
    """Each link as ``<a>`` (inside ``wrap``), the one of the ``current`` route marked."""
    return format_html_join(
        "",
        wrap.replace("{}", '<a href="{}"{}>{}</a>'),
        (
            (link["url"], CURRENT_PAGE if link["route"] == current else "", link["label"])
            for link in links
        ),
    )


def rendered(role: str | None, route: str, current: str) -> Rendered:
    """The links for ``role`` on the page of ``route`` (whose area is marked), the one of
    ``current`` (the page a view names as its own) marked among them: the same for every
    request of the role on that page, so worked out once per process (and script prefix)."""
    return _rendered(role, route, current, get_script_prefix())


@functools.lru_cache(maxsize=4096)
def _rendered(role: str | None, route: str, current: str, prefix: str) -> Rendered:
    shown: dict[str, Any] = navigation_for(role, route)
    areas = format_html_join(
        "",
        '<li><a href="{}"{}>{}</a></li>',
        ((a["url"], CURRENT_AREA if a["current"] else "", a["label"]) for a in shown["nav_areas"]),
    )
    others = [item for item in items_for(role) if item["route"] != "web:dashboard"]
    return Rendered(
        areas=areas,
        account=_links(shown["nav_account"], current),
        pages=_links(shown["nav_pages"], current, "<li>{}</li>"),
        items=_links(others, "", "<li>{}</li>"),
    )
