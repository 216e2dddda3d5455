"""Django settings, read through radgov.core.config (the one settings reader)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta

import dj_database_url

from radgov.core import config

# Everything radgov writes is its own (the database and its WAL, the queue, logs, uploads,
# de-identified output): files 0600, folders 0700, whoever started the process.
os.umask(0o077)
DATA_DIR = config.data_dir()
DATA_DIR.mkdir(parents=True, exist_ok=True)
config.make_private(DATA_DIR)
PRODUCTION = config.get_bool("RADGOV_PRODUCTION")
DEBUG = False


def _secret_key() -> str:
    key = config.get("RADGOV_SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("RADGOV_SECRET_KEY must be set when RADGOV_PRODUCTION=1")
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = config.get_list("RADGOV_ALLOWED_HOSTS") + (["testserver"] if not PRODUCTION else [])
CSRF_TRUSTED_ORIGINS = config.get_list("RADGOV_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "radgov.web",  # before allauth, so its layout templates take radgov's look
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "huey.contrib.djhuey",
    "ninja",
    "radgov.core",
    "radgov.accounts",
    "radgov.inventory",
    "radgov.governance",
    "radgov.training",
    "radgov.evaluation",
    "radgov.exams",
    "radgov.monitoring",
    "radgov.gateway",
    "radgov.compliance",
]

MIDDLEWARE = [
    "radgov.core.proxy_witness.ProxyWitnessMiddleware",  # before the https redirect
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "radgov.core.middleware.SecurityHeadersMiddleware",  # after the static files
    "radgov.core.middleware.RequestContextMiddleware",
    "radgov.compliance.networks.ApprovedNetworksMiddleware",  # needs the client address
    "radgov.core.middleware.PageMethodsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "radgov.accounts.middleware.SessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "radgov.accounts.middleware.MfaRequiredMiddleware",
    "radgov.accounts.middleware.PermissionPolicyMiddleware",
]

ROOT_URLCONF = "radgov.urls"
WSGI_APPLICATION = "radgov.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "radgov.web.context.navigation",
                "radgov.web.context.csp_nonce",
            ],
        },
    }
]

# --- database: SQLite (WAL) in the data folder, or DATABASE_URL -----------------
_database_url = config.get("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "radgov.sqlite3",
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so concurrent writers
                # queue instead of failing, and the audit chain cannot fork.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
            "TEST": {"NAME": DATA_DIR / "test-radgov.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# how many stripes the audit chain spreads over; None: 8 on PostgreSQL, 1 on SQLite
# (radgov.core.audit.head.stripes)
AUDIT_STRIPES = None

# --- background work and cache: Huey and the cache share one backend ------------
_redis_url = config.get("REDIS_URL")
if _redis_url:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "radgov",
        "url": _redis_url,
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis_url,
        }
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "radgov",
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
    # Shared by every process (server and worker), so login throttling and
    # TOTP replay protection hold across them.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "radgov_cache",
        }
    }

# --- authentication ---------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["allauth.account.auth_backends.AuthenticationBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "radgov.accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"

# email: the compliance role's reminders (radgov.compliance.reminders); no relay, no sending
DEFAULT_FROM_EMAIL = config.get("RADGOV_EMAIL_FROM")
EMAIL_HOST = config.get("RADGOV_SMTP_HOST") or ""
EMAIL_PORT = config.get_int("RADGOV_SMTP_PORT")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PREVENT_ENUMERATION = True
_per_account = config.get_int("RADGOV_LOGIN_FAILURES_PER_ACCOUNT")
_per_client = config.get_int("RADGOV_LOGIN_FAILURES_PER_CLIENT")
# The per-account and per-client counts are kept apart: allauth clears the whole
# "login_failed" bucket of a login that passes its second factor, which would let one valid
# account reset the per-client count (password spraying).  radgov's adapter keeps the
# per-client count under an action of its own that nothing clears.
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"{_per_account}/15m/key",
    "login_failed_client": f"{_per_client}/15m/ip",
    "login": "60/m/ip",
    "reauthenticate": "10/m/user",
}
ALLAUTH_TRUSTED_PROXY_COUNT = config.get_int("RADGOV_TRUSTED_PROXY_COUNT")
MFA_ADAPTER = "radgov.accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = "radgov"
MFA_TOTP_TOLERANCE = 0
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not PRODUCTION

# --- sessions and cookies (ASVS V3) --------------------------------------------------
SESSION_IDLE_TIMEOUT = timedelta(minutes=config.get_int("RADGOV_SESSION_IDLE_MINUTES"))
SESSION_MAX_AGE = timedelta(hours=config.get_int("RADGOV_SESSION_MAX_HOURS"))
SESSION_COOKIE_AGE = int(SESSION_MAX_AGE.total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "radgov_session"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_NAME = "radgov_csrf"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = PRODUCTION
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION and config.get_int("RADGOV_TRUSTED_PROXY_COUNT") > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# the health check answers a monitor that asks radgov directly, not through the proxy
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- static files: served from the installed package, never a CDN -----------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True  # straight from the installed packages; no collectstatic step
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DATA_DIR / "media"},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LANGUAGE_CODE = "en-us"
FORMAT_MODULE_PATH = ["radgov.formats"]  # every date as 2026-11-02 (radgov/formats/en)
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

NINJA_PAGINATION_PER_PAGE = 50

# --- logging: never values, never PHI ----------------------------------------------
(DATA_DIR / "logs").mkdir(exist_ok=True)
config.make_private(DATA_DIR / "logs")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "radgov.core.logs.PlainFormatter",  # tracebacks without exception messages
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "file": {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(DATA_DIR / "logs" / "radgov.log"),
            "maxBytes": 10_000_000,
            "backupCount": 5,
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["console", "file"], "level": "WARNING"},
    "loggers": {
        "radgov": {
            "handlers": ["console", "file"],
            "level": config.get("RADGOV_LOG_LEVEL"),
            "propagate": False,
        },
        "django.security": {
            "handlers": ["console", "file"],
            "level": "WARNING",
            "propagate": False,
        },
    },
}
