"""Personal API tokens: ``rg_<prefix>_<secret>``, made and checked as every bearer secret
is (radgov.core.bearer)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.utils import timezone

from radgov.accounts.models import ApiToken, User
from radgov.core import bearer

MARKER = "rg_"  # noqa: S105 - the marker of a personal API token, not a secret


def new_token() -> tuple[str, str, str]:
    """A fresh token, its prefix and its digest."""
    return bearer.new_secret(MARKER)


class TokenError(Exception):
    """Why a presented token was refused (said without echoing the token)."""


def authenticate(token: str) -> tuple[User, ApiToken]:
    row = bearer.find(
        ApiToken.objects.select_related("user"), MARKER, token, TokenError, "API token"
    )
    if row.revoked_at is not None:
        raise TokenError("API token revoked")
    if row.expires_at <= timezone.now():
        raise TokenError("API token expired")
    if not row.user.is_active:
        raise TokenError("account disabled")
    # bookkeeping on the token itself, not a change of governed data; at most once a minute,
    # so a busy integration does not write on every request
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_EVERY:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user, row


LAST_USED_EVERY = timedelta(minutes=1)


def fresh_second_factor(request: Any) -> bool:
    """Did the person confirm their second factor in this session within allauth's
    reauthentication timeout (5 minutes by default)?  Minting a token asks for it."""
    from allauth.account import app_settings
    from allauth.account.authentication import get_authentication_records

    if getattr(request, "api_token", None) is not None or not request.user.is_authenticated:
        return False
    window = app_settings.REAUTHENTICATION_TIMEOUT
    return any(
        r.get("method") == "mfa" and time.time() - float(r.get("at", 0)) < window
        for r in get_authentication_records(request, request.user)
    )
