from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.http import HttpRequest

from radgov import __version__
from radgov.web.navigation import items_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "radgov_version": __version__}
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        # until MFA is enrolled nothing else is reachable: show no links to it
        return {"nav_items": [], "radgov_version": __version__, "enrolling": True}
    current = request.resolver_match.view_name if request.resolver_match else ""
    return {
        "nav_items": items_for(getattr(user, "role", None)),
        "nav_current": current,
        "radgov_version": __version__,
    }
