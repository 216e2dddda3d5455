"""Bearer secrets: a person's API token (``rg_<prefix>_<secret>``) and a machine's API
credential (``rgm_<prefix>_<secret>``) are made and checked the one way.  The prefix finds
the row, the SHA-256 digest of the whole secret proves it, compared in constant time (the
secret has 256 bits of entropy, so a fast hash is enough and nothing reversible is stored).
What a row must also be (not revoked, not expired, its owner active) is for the caller."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def new_secret(marker: str) -> tuple[str, str, str]:
    """A fresh secret ``<marker><prefix>_<random>``, its prefix and its digest; only the
    prefix and the digest are stored."""
    prefix = secrets.token_hex(4)
    secret = f"{marker}{prefix}_{secrets.token_urlsafe(32)}"
    return secret, prefix, digest(secret)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def find(rows: QuerySet[M], marker: str, presented: str, error: type[Exception], what: str) -> M:
    """The row of ``rows`` (with ``prefix`` and ``digest`` fields) that ``presented`` proves;
    raises ``error`` saying ``malformed <what>`` or ``unknown <what>``, never echoing it."""
    parts = presented.removeprefix(marker).split("_", 1)
    if not presented.startswith(marker) or len(parts) != 2:
        raise error(f"malformed {what}")
    row = rows.filter(prefix=parts[0]).first()
    if row is None or not hmac.compare_digest(row.digest, digest(presented)):  # type: ignore[attr-defined]
        raise error(f"unknown {what}")
    return row
