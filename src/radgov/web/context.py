from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.http import HttpRequest

from radgov import __version__
from radgov.web.navigation import items_for, navigation_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    base: dict[str, Any] = {
        "radgov_version": __version__,
        "nav_areas": [],
        "nav_pages": [],
        "nav_account": [],
    }
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return base
    enrolled = getattr(request, "mfa_enrolled", None)  # the MFA middleware has looked already
    if enrolled is None:
        enrolled = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    if not enrolled:
        # until MFA is enrolled nothing else is reachable: show no links to it
        return base | {"enrolling": True}
    current = request.resolver_match.view_name if request.resolver_match else ""
    role = getattr(user, "role", None)
    return (
        base
        | navigation_for(role, current)
        | {"nav_current": current, "nav_items": items_for(role)}
    )


def csp_nonce(request: HttpRequest) -> dict[str, str]:
    """The nonce of this response's Content-Security-Policy, for a ``<style>`` block a page
    shares with a PDF layout (radgov.core.middleware.SecurityHeadersMiddleware)."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
