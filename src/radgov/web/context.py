from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.http import HttpRequest

from radgov import __version__


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What ``{% navigation %}`` needs: the person's role and the page's route, once they may
    see the navigation (logged in with MFA enrolled; until then nothing else is reachable, so
    no link to it is shown)."""
    base: dict[str, Any] = {"radgov_version": __version__}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return base
    enrolled = getattr(request, "mfa_enrolled", None)  # the MFA middleware has looked already
    if enrolled is None:
        enrolled = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    if not enrolled:
        return base
    current = request.resolver_match.view_name if request.resolver_match else ""
    return base | {"nav_current": current, "nav_shown": (getattr(user, "role", None), current)}


def csp_nonce(request: HttpRequest) -> dict[str, str]:
    """The nonce of this response's Content-Security-Policy, for a ``<style>`` block a page
    shares with a PDF layout (radgov.core.middleware.SecurityHeadersMiddleware)."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
