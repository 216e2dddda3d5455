"""The one settings reader: environment variables prefixed ``RADGOV_``, plus
``DATABASE_URL`` and ``REDIS_URL`` (ARCHITECTURE.md rule 2).

Every variable radgov reads is declared in ``SETTINGS`` with its default and
meaning, so ``docs/`` and ``radgov settings`` can list them and a test can fail
when one is read without being documented.  Pure Python: no Django import.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting(
            "RADGOV_DATA_DIR",
            "./var",
            "folder for the SQLite database, the Huey queue, keys and uploads",
        ),
        Setting(
            "RADGOV_PRODUCTION",
            "0",
            "1 turns on production settings: HTTPS-only cookies, HSTS, no debug, keys required",
        ),
        Setting(
            "RADGOV_SECRET_KEY",
            None,
            "Django secret key; required in production, generated into the data folder otherwise",
        ),
        Setting(
            "RADGOV_KEY_FILE",
            None,
            "path of the key file (encryption, pseudonym, audit-signing keys); default DATA_DIR/keys.json, generated outside production only",
        ),
        Setting(
            "RADGOV_ALLOWED_HOSTS",
            "127.0.0.1,localhost",
            "comma-separated host names the server answers to",
        ),
        Setting(
            "RADGOV_CSRF_TRUSTED_ORIGINS",
            "",
            "comma-separated origins (https://host) allowed to post forms",
        ),
        Setting("RADGOV_SESSION_IDLE_MINUTES", "30", "a session idle this long ends"),
        Setting(
            "RADGOV_SESSION_MAX_HOURS", "12", "a session ends this long after login, active or not"
        ),
        Setting(
            "RADGOV_LOGIN_FAILURES_PER_ACCOUNT",
            "5",
            "failed logins for one account within 15 minutes before it is locked out",
        ),
        Setting(
            "RADGOV_LOGIN_FAILURES_PER_CLIENT",
            "20",
            "failed logins from one client address within 15 minutes before it is locked out",
        ),
        Setting("RADGOV_API_TOKEN_DAYS", "90", "default lifetime of a personal API token, in days"),
        Setting(
            "RADGOV_API_TOKEN_MAX_DAYS",
            "90",
            "longest lifetime a personal API token may be given, in days",
        ),
        Setting("RADGOV_LOG_LEVEL", "INFO", "log level of radgov's own loggers"),
        Setting(
            "RADGOV_TRUSTED_PROXY_COUNT",
            "0",
            "number of reverse proxies in front of radgov whose X-Forwarded-For may be trusted; 0 trusts none",
        ),
        Setting(
            "RADGOV_TRUSTED_PROXY",
            "127.0.0.1",
            "address of the reverse proxy whose X-Forwarded-For, -Proto and -Host radgov serve "
            "takes (with RADGOV_TRUSTED_PROXY_COUNT > 0); * trusts any peer",
        ),
        Setting(
            "RADGOV_MAX_UPLOAD_MB",
            "25",
            "largest upload accepted (an IFU or other document, a DICOM file or zip for de-identification), in megabytes",
        ),
        Setting(
            "RADGOV_JOBS_PER_USER",
            "2",
            "background jobs (PDF reports, acceptance-test runs) one person may have queued or "
            "running at once",
        ),
        Setting(
            "RADGOV_DEID_ROOTS",
            "",
            "comma-separated server folders a de-identification job may read from; empty disables server folders",
        ),
        Setting(
            "RADGOV_DEID_CONFIG",
            "",
            "the site's de-identification rules (YAML, as radgov deid --config takes) every "
            "de-identification job applies; empty: none",
        ),
        Setting(
            "RADGOV_DEID_JOBS",
            "2",
            "worker processes one de-identification job uses in the worker (radgov deid --jobs)",
        ),
        Setting(
            "RADGOV_CONFORMANCE_MEETING_MONTHS",
            "3",
            "the conformance audit fails IV.A.5 when the governance group has not met within this many months",
        ),
        Setting(
            "RADGOV_WEB_NETWORKS",
            "",
            "comma-separated address ranges (CIDR) the web application and the API answer; "
            "empty: any",
        ),
        Setting(
            "RADGOV_API_NETWORKS",
            "",
            "address ranges (CIDR) from which an API token or machine credential is accepted; "
            "empty: any",
        ),
        Setting(
            "RADGOV_DICOM_NETWORKS",
            "",
            "address ranges (CIDR) the DICOM listener accepts associations from; empty: any",
        ),
        Setting(
            "RADGOV_MLLP_NETWORKS",
            "",
            "address ranges (CIDR) the MLLP listener accepts connections from; empty: any",
        ),
        Setting(
            "RADGOV_SMTP_HOST",
            "",
            "mail relay for the compliance role's reminders; empty: emails are written to the "
            "worker's output instead of sent",
        ),
        Setting("RADGOV_SMTP_PORT", "25", "the mail relay's port"),
        Setting("RADGOV_EMAIL_FROM", "radgov@localhost", "the sender of radgov's emails"),
        Setting(
            "RADGOV_WORKING_HOURS",
            "07:00-19:00",
            "the practice's working hours (local time); patient records read outside them count "
            "toward the after-hours access rule",
        ),
        Setting(
            "RADGOV_AFTER_HOURS_READS",
            "50",
            "an access case opens when one person reads this many patient records outside "
            "working hours in a day",
        ),
        Setting(
            "RADGOV_UNUSUAL_READS",
            "100",
            "an access case opens when one person reads at least this many patient records in a "
            "day and five times their own or their role's daily average of the last 30 days",
        ),
        Setting(
            "RADGOV_EXPORT_BURST",
            "20",
            "an access case opens when one person makes this many exports in a day",
        ),
        Setting(
            "RADGOV_SUPERVISOR_FD",
            None,
            "set by radgov serve for the processes it starts (a pipe that closes when serve is gone); never set it yourself",
        ),
        Setting(
            "RADGOV_DICOM_PORT",
            "",
            "port of the DICOM listener (radgov gateway dicom); empty: radgov serve starts none",
        ),
        Setting("RADGOV_DICOM_HOST", "127.0.0.1", "address the DICOM listener binds to"),
        Setting("RADGOV_DICOM_AE_TITLE", "RADGOV", "the DICOM listener's own AE title"),
        Setting(
            "RADGOV_DICOM_SITE",
            "",
            "the site whose studies this listener receives, as deployments name sites; "
            "studies are routed to that site's deployments (empty: every live deployment)",
        ),
        Setting(
            "RADGOV_DICOM_QUIET_SECONDS",
            "30",
            "a study is complete, and routed, when no instance of it arrived for this long",
        ),
        Setting(
            "RADGOV_DICOM_MAX_DATASET_MB",
            "512",
            "largest DICOM instance the listener stores; a larger one is refused (out of resources)",
        ),
        Setting(
            "RADGOV_DICOM_TLS_CERT",
            "",
            "certificate chain (PEM) of the DICOM listener; with RADGOV_DICOM_TLS_KEY it speaks "
            "TLS 1.2 or later only",
        ),
        Setting(
            "RADGOV_DICOM_TLS_KEY", "", "private key (PEM) of the DICOM listener's certificate"
        ),
        Setting(
            "RADGOV_GATEWAY_CA_FILE",
            "",
            "certificate authorities (PEM) trusted for TLS model endpoints (DICOM TLS, STOW-RS "
            "over HTTPS), instead of the system's",
        ),
        Setting(
            "RADGOV_GATEWAY_POLL_SECONDS",
            "60",
            "how often a study sent to a STOW-RS model endpoint is looked for results there "
            "(QIDO-RS, then WADO-RS for each new SR, SEG or Secondary Capture)",
        ),
        Setting(
            "RADGOV_LOCAL_MODELS",
            "",
            "local Python models besides those installed under the radgov.models entry point "
            "group: comma-separated name=module:callable",
        ),
        Setting(
            "RADGOV_DICOM_MAX_PDU",
            "262144",
            "largest PDU the listener accepts, in bytes (what it proposes to peers)",
        ),
        Setting(
            "RADGOV_DICOM_MAX_ASSOCIATIONS",
            "10",
            "associations the DICOM listener serves at once; one more is rejected (local limit "
            "exceeded) and the sender tries again later",
        ),
        Setting(
            "RADGOV_DICOM_DRAIN_SECONDS",
            "10",
            "when the DICOM listener stops, how long running associations may take to finish; "
            "those still running then are aborted and their senders send again what was not "
            "acknowledged (keep it under radgov serve's 15 s and your service manager's stop "
            "timeout)",
        ),
        Setting(
            "RADGOV_DICOM_PROCESSES",
            "1",
            "listener processes accepting on the DICOM port (radgov gateway dicom --processes); "
            "each serves RADGOV_DICOM_MAX_ASSOCIATIONS associations at once",
        ),
        Setting(
            "RADGOV_MLLP_PORT",
            "",
            "port of the MLLP listener for HL7 reports (radgov gateway mllp); empty: radgov serve "
            "starts none",
        ),
        Setting("RADGOV_MLLP_HOST", "127.0.0.1", "address the MLLP listener binds to"),
        Setting(
            "RADGOV_MLLP_MAX_KB",
            "1024",
            "largest HL7 message the MLLP listener reads, in kilobytes; a larger one is refused",
        ),
        Setting("DATABASE_URL", None, "database URL (postgres://...); default SQLite in DATA_DIR"),
        Setting(
            "REDIS_URL",
            None,
            "Redis URL for the task queue and the cache; default SQLite queue and database cache",
        ),
    ]
}


def get(name: str) -> str | None:
    if name not in SETTINGS:
        raise KeyError(
            f"{name} is not a declared radgov setting; add it to radgov.core.config.SETTINGS"
        )
    value = os.environ.get(name)
    return value if value not in (None, "") else SETTINGS[name].default


def environ_with(**values: str) -> dict[str, str]:
    """The environment for a child process: this one's, with the declared settings given."""
    for name in values:
        if name not in SETTINGS:
            raise KeyError(f"{name} is not a declared radgov setting")
    return {**os.environ, **values}


def with_overrides(
    values: dict[str, Any], overrides: dict[str, Any], **required: str
) -> dict[str, Any]:
    """``values`` read from the settings, the ``overrides`` given (not None) over them, and each
    of ``required`` (name=setting, a whole number with no default, such as a listener's port)
    read only where no override gives it, so that it is asked for only when it is needed."""
    given = {k: v for k, v in overrides.items() if v is not None}
    needed = {k: get_int(setting) for k, setting in required.items() if k not in given}
    return {**values, **needed, **given}


def get_bool(name: str) -> bool:
    value = (get(name) or "0").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={value!r} is not a boolean (use 1 or 0)")


def get_int(name: str) -> int:
    value = get(name)
    try:
        return int(value or "")
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a whole number") from None


def max_upload_bytes() -> int:
    """The largest upload any page or API operation accepts (``RADGOV_MAX_UPLOAD_MB``)."""
    return get_int("RADGOV_MAX_UPLOAD_MB") * 1024 * 1024


def get_list(name: str) -> list[str]:
    return [part.strip() for part in (get(name) or "").split(",") if part.strip()]


def data_dir() -> Path:
    return absolute(get("RADGOV_DATA_DIR") or "./var")


def absolute(path: str) -> Path:
    """``path`` with ``~`` expanded, made absolute and its links resolved, remembered for this
    working folder: every key use and every spooled file looks the data folder up, and
    ``Path.resolve`` cost a listener 40-70 microseconds a call under load."""
    return _absolute(path, os.getcwd())


@functools.lru_cache(maxsize=16)
def _absolute(path: str, cwd: str) -> Path:
    return Path(path).expanduser().resolve()


def make_private(folder: Path) -> None:
    """Make ``folder`` 0700 and the files directly in it unreadable to others: what an older
    radgov (or another umask) created before files were made 0600 from the start."""
    folder.chmod(0o700)
    for entry in folder.iterdir():
        if entry.is_file() and not entry.is_symlink() and entry.stat().st_mode & 0o077:
            entry.chmod(entry.stat().st_mode & 0o700)
