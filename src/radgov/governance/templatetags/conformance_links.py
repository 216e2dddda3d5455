"""The conformance audit's "To fix" sentences name the page where the fix is made, as
"(Regulatory page)"; on the audit's web page that name becomes a link to the page."""

from __future__ import annotations

import re

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# the page named in a fix -> its route (None: the deployment's own page)
PAGES = {
    "Regulatory page": "governance:regulatory",
    "Requests page": "governance:requests",
    "Governance page": "governance:index",
    "meeting page": "governance:meetings",
    "Training pages": "training:by_model",
    "Acceptance testing pages": "evaluation:index",
    "Users page": "accounts:users",
    "deployment page": None,
}
NAMED = re.compile("|".join(re.escape(name) for name in sorted(PAGES, key=len, reverse=True)))


@register.filter
def fix_links(text: str, deployment_id: int | None = None) -> SafeString:
    """``text`` escaped, with each page it names linked (the deployment page only when the
    line is about a deployment)."""

    def link(match: re.Match[str]) -> str:
        name = match.group(0)
        route = PAGES[name]
        if route is None and deployment_id is None:
            return name
        url = reverse(route) if route else reverse("inventory:deployment", args=[deployment_id])
        return f'<a href="{url}">{name}</a>'

    return mark_safe(NAMED.sub(link, str(escape(text))))  # noqa: S308 - escaped above
