"""``{% navigation as nav %}``: the navigation's links for this page as HTML
(``radgov.web.navigation.rendered``), read where the view's own ``nav_current`` is known."""

from __future__ import annotations

from typing import Any

from django import template

from radgov.web.navigation import Rendered, rendered

register = template.Library()


@register.simple_tag(takes_context=True)
def navigation(context: Any) -> Rendered:
    shown = context.get("nav_shown")  # (role, route) once the person may see the navigation
    if shown is None:
        return Rendered()
    role, route = shown
    return rendered(role, route, context.get("nav_current") or route)
