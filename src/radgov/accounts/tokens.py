"""Personal API tokens: ``rg_<prefix>_<secret>``; the prefix finds the row, the
SHA-256 digest of the whole token proves it (the secret has 256 bits of entropy,
so a fast hash is enough and nothing reversible is stored)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.utils import timezone

from radgov.accounts.models import ApiToken, User


def new_token() -> tuple[str, str, str]:
    """A fresh token, its prefix and its digest."""
    prefix = secrets.token_hex(4)
    token = f"rg_{prefix}_{secrets.token_urlsafe(32)}"
    return token, prefix, digest(token)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenError(Exception):
    """Why a presented token was refused (said without echoing the token)."""


def authenticate(token: str) -> tuple[User, ApiToken]:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "rg":
        raise TokenError("malformed API token")
    row = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if row is None or not hmac.compare_digest(row.digest, digest(token)):
        raise TokenError("unknown API token")
    if row.revoked_at is not None:
        raise TokenError("API token revoked")
    if row.expires_at <= timezone.now():
        raise TokenError("API token expired")
    if not row.user.is_active:
        raise TokenError("account disabled")
    # bookkeeping on the token itself, not a change of governed data
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    return row.user, row
