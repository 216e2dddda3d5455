"""Whether requests arrive through the TLS proxy, for ``radgov check --deploy``.

Under production behind a proxy every request but the health check should arrive as https
(the proxy's ``X-Forwarded-Proto``, taken by waitress from ``RADGOV_TRUSTED_PROXY``).  One that
does not went around the proxy or through a misconfigured one; the middleware notes when that
last happened in the shared cache (at most once a minute per process, so no request pays a
write), and the deploy check reports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

KEY = "radgov-proxy-direct-request"
EVERY_SECONDS = 60.0
REMEMBER_SECONDS = 7 * 24 * 3600


def last_direct() -> str | None:
    """When a request last arrived without the proxy (UTC, to the second), or None (also when
    the cache cannot be read yet: a database not migrated)."""
    try:
        value = cache.get(KEY)
    except Exception:  # noqa: BLE001 - the check reports what it can read
        return None
    return str(value) if value else None


class ProxyWitnessMiddleware:
    """Notes a request that arrived as plain http while radgov expects its proxy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from django.conf import settings

        from radgov.core import config

        self.get_response = get_response
        self.watching = settings.PRODUCTION and config.get_int("RADGOV_TRUSTED_PROXY_COUNT") > 0
        self.noted = 0.0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.watching and not request.is_secure() and request.path != "/healthz":
            now = time.monotonic()
            if now - self.noted >= EVERY_SECONDS or not self.noted:
                self.noted = now
                stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
                cache.set(KEY, stamp, REMEMBER_SECONDS)
        return self.get_response(request)
