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
