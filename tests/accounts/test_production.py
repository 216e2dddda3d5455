"""Under production settings: `check --deploy` is silent, cookies are Secure, and
the platform refuses to start without its keys or secret key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

RADGOV = [sys.executable, "-m", "radgov.cli"]


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # the data folder of its own, without the run's database or Redis: the deploy checks read
    # settings, and a shared cache may hold what another test's server noted (radgov.proxy.W006)
    shared = ("DATABASE_URL", "REDIS_URL")
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RADGOV_", "DJANGO_")) and k not in shared
    }
    full = inherited | env
    return subprocess.run(
        [*RADGOV, *args], env=full, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def production_env(tmp_path: Path) -> dict[str, str]:
    return {
        "RADGOV_PRODUCTION": "1",
        "RADGOV_DATA_DIR": str(tmp_path / "data"),
        "RADGOV_SECRET_KEY": "x" * 20 + "production-secret-key-for-tests-only-0123456789",
        "RADGOV_ALLOWED_HOSTS": "radgov.example.org",
        "RADGOV_KEY_FILE": str(tmp_path / "keys.json"),
        "RADGOV_TRUSTED_PROXY_COUNT": "1",  # behind its TLS proxy, as production must be
    }


def test_check_deploy_is_silent_under_production(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    dev = {k: v for k, v in env.items() if k != "RADGOV_PRODUCTION"}
    made = run(["keys", "check"], dev, tmp_path)  # outside production the key file is generated
    assert made.returncode == 0, made.stderr
    result = run(["check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_names_what_an_operator_gets_wrong(tmp_path: Path) -> None:
    """Issue 11 item 2: production without the proxy setting, the proxy trusted but not
    production, any peer trusted, only this machine's host names."""
    env = production_env(tmp_path)
    dev = {k: v for k, v in env.items() if k != "RADGOV_PRODUCTION"}
    assert run(["keys", "check"], dev, tmp_path).returncode == 0
    cases = [
        ({"RADGOV_TRUSTED_PROXY_COUNT": "0"}, "radgov.proxy.W001"),
        ({"RADGOV_PRODUCTION": "0"}, "radgov.proxy.W002"),
        ({"RADGOV_TRUSTED_PROXY": "*"}, "radgov.proxy.W003"),
        ({"RADGOV_ALLOWED_HOSTS": "127.0.0.1,localhost"}, "radgov.proxy.W004"),
        ({"RADGOV_CSRF_TRUSTED_ORIGINS": "http://radgov.example.org"}, "radgov.proxy.W005"),
    ]
    for change, code in cases:
        result = run(["check", "--deploy"], env | change, tmp_path)
        assert code in result.stdout + result.stderr, (change, result.stdout + result.stderr)


def test_production_cookies_are_secure(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    code = (
        "import json;from django.conf import settings as s;"
        "print(json.dumps([s.SESSION_COOKIE_SECURE,s.CSRF_COOKIE_SECURE,s.SESSION_COOKIE_HTTPONLY,"
        "s.SESSION_COOKIE_SAMESITE,s.SECURE_SSL_REDIRECT,s.SECURE_HSTS_SECONDS>0]))"
    )
    result = run(["shell", "-c", code], env, tmp_path)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        True,
        True,
        True,
        "Lax",
        True,
        True,
    ]


def test_production_refuses_to_start_without_keys(tmp_path: Path) -> None:
    result = run(["check"], production_env(tmp_path), tmp_path)
    assert result.returncode != 0
    assert "RADGOV_KEY_FILE" in result.stdout + result.stderr
    assert not (tmp_path / "keys.json").exists(), "production must never generate keys silently"


def test_production_refuses_to_start_without_secret_key(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["RADGOV_SECRET_KEY"]
    result = run(["check"], env, tmp_path)
    assert result.returncode != 0 and "RADGOV_SECRET_KEY" in result.stderr
