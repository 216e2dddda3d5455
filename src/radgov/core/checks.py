"""System checks: radgov refuses to start under production without usable keys.

Django runs these before ``migrate``, ``runserver`` and any command that asks
for checks, so a missing or malformed key file stops the platform there
instead of letting it write identifiers it cannot protect.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from radgov.core import config, keys

HINT = "Run `radgov keys check` for details, or `radgov keys init` to create a key file (then back it up)."


@register(Tags.security, deploy=False)
def check_keys_configured(app_configs: Any, **kwargs: Any) -> list[Any]:
    """Under production the key file must load and work; elsewhere, a file that exists must.

    Outside production a missing file is fine: it is generated on first use.
    """
    production = config.get_bool("RADGOV_PRODUCTION")
    path = keys.key_file_path()
    if not production and not path.exists():
        return []
    try:
        keys.check_keys()
    except ImproperlyConfigured as exc:  # messages name the setting, never a key
        return [Error(str(exc), hint=HINT, id="radgov.keys.E001")]
    except Exception as exc:  # a failing primitive: report its kind only
        return [
            Error(
                f"RADGOV_KEY_FILE: the keys in {path} are unusable ({type(exc).__name__})",
                hint=HINT,
                id="radgov.keys.E001",
            )
        ]
    if keys.file_permissions_too_open(path):
        return [
            Warning(
                f"RADGOV_KEY_FILE: {path} is readable by other users",
                hint=f"chmod 600 {path}",
                id="radgov.keys.W001",
            )
        ]
    return []


PROXY_HINT = (
    "radgov serve speaks plain HTTP: in production a TLS reverse proxy (nginx, Caddy) on the "
    "same machine forwards to it with X-Forwarded-For and X-Forwarded-Proto; set "
    "RADGOV_TRUSTED_PROXY_COUNT to the number of proxies and RADGOV_TRUSTED_PROXY to the "
    "address they connect from (README, 'Running it for real')."
)


@register(Tags.security, deploy=True)
def check_reverse_proxy(app_configs: Any, **kwargs: Any) -> list[Any]:
    """What an operator gets wrong behind (or without) a TLS reverse proxy."""
    from django.conf import settings

    from radgov.core import proxy_witness

    production = config.get_bool("RADGOV_PRODUCTION")
    proxies = config.get_int("RADGOV_TRUSTED_PROXY_COUNT")
    found: list[Any] = []
    if production and proxies <= 0:
        found.append(
            Warning(
                "RADGOV_PRODUCTION=1 without RADGOV_TRUSTED_PROXY_COUNT: every request is "
                "redirected to https, and behind a proxy that redirect loops, the client's "
                "address is the proxy's (one lockout for everyone) and HSTS is never sent",
                hint=PROXY_HINT,
                id="radgov.proxy.W001",
            )
        )
    if proxies > 0 and not production:
        found.append(
            Warning(
                "RADGOV_TRUSTED_PROXY_COUNT is set but RADGOV_PRODUCTION is not: cookies are "
                "not HTTPS-only and no HSTS is sent",
                hint="set RADGOV_PRODUCTION=1 on the server behind the proxy",
                id="radgov.proxy.W002",
            )
        )
    if proxies > 0 and config.get("RADGOV_TRUSTED_PROXY") == "*":
        found.append(
            Warning(
                "RADGOV_TRUSTED_PROXY=* trusts X-Forwarded-* from any peer: anyone who reaches "
                "radgov directly chooses their own address and scheme",
                hint="name the proxy's address, and bind radgov serve to 127.0.0.1",
                id="radgov.proxy.W003",
            )
        )
    if production and set(settings.ALLOWED_HOSTS) <= {"127.0.0.1", "localhost", "::1"}:
        found.append(
            Warning(
                "RADGOV_ALLOWED_HOSTS names only this machine: requests through the proxy for "
                "the public host name are refused (400)",
                hint="add the host name users type, e.g. RADGOV_ALLOWED_HOSTS=radgov.example.org",
                id="radgov.proxy.W004",
            )
        )
    if production and any(o.startswith("http://") for o in settings.CSRF_TRUSTED_ORIGINS):
        found.append(
            Warning(
                "RADGOV_CSRF_TRUSTED_ORIGINS names an http:// origin under production",
                hint="origins are https://host",
                id="radgov.proxy.W005",
            )
        )
    seen = proxy_witness.last_direct() if production and proxies > 0 else None
    if seen is not None:
        found.append(
            Warning(
                f"requests reached radgov without the proxy's X-Forwarded-Proto: https (the last "
                f"at {seen} UTC): they go around the proxy, the proxy does not send the header, "
                "or it connects from another address than RADGOV_TRUSTED_PROXY",
                hint=PROXY_HINT,
                id="radgov.proxy.W006",
            )
        )
    return found
