"""Shared test fixtures.

Peers: a test that needs a real external program (chromium, dcmdump, orthanc...)
marks itself ``@pytest.mark.peer("dcmdump")``.  When the program is absent the test
is skipped with a clear reason on a developer's machine, and fails when
``RADGOV_REQUIRE_PEERS=1`` (set by CI), so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Tests never touch the developer's key file: keys are read lazily, so this is
# in time even though pytest-django has already loaded the settings.
os.environ.setdefault(
    "RADGOV_KEY_FILE", os.path.join(tempfile.mkdtemp(prefix="radgov-test-keys-"), "keys.json")
)

PEER_PROGRAMS = {
    "chromium": "/usr/bin/chromium",
    "dcmdump": "dcmdump",
    "storescu": "storescu",
    "orthanc": "Orthanc",
    "orthanc-dicomweb": "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",  # a plugin: read
    "pdftoppm": "pdftoppm",
    "pdftotext": "pdftotext",
    "redis": "redis-server",
    "nginx": "nginx",
}


def peer_available(name: str) -> bool:
    program = PEER_PROGRAMS.get(name, name)
    wanted = os.R_OK if program.endswith(".so") else os.X_OK
    return bool(shutil.which(program) or (os.path.isabs(program) and os.access(program, wanted)))


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers(name="peer"):
        for name in marker.args:
            if not peer_available(name):
                reason = f"needs the peer program {name!r} ({PEER_PROGRAMS.get(name, name)}), which is not installed"
                if os.environ.get("RADGOV_REQUIRE_PEERS") == "1":
                    pytest.fail(f"{reason}; RADGOV_REQUIRE_PEERS=1 forbids skipping")
                pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    """Each xdist worker gets its own Redis database (when REDIS_URL is set), so
    workers never see each other's cache, throttles or queue: the URL's database number
    plus one plus the worker's (so two runs on one machine given /0 and /3 stay apart).
    The environment says so too, so a `radgov` subprocess a test starts uses the same one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url or not worker:
        return
    from django.conf import settings

    base, given = redis_url, 0
    if redis_url.count("/") > 2:
        base, _, number = redis_url.rpartition("/")
        given = int(number or 0)
    url = f"{base}/{given + 1 + int(worker.removeprefix('gw') or 0)}"
    settings.CACHES["default"]["LOCATION"] = url
    settings.HUEY["url"] = url
    os.environ["REDIS_URL"] = url


@pytest.fixture(autouse=True, scope="session")
def _one_hash_per_password() -> Iterator[None]:
    """Accounts given the same password share one hash of it, made once per test worker with
    radgov's hasher (PBKDF2-SHA256, a million iterations: 0.2 s a hash): the factories, the
    demo practice and the fixtures make many accounts, and hashing each password
    again cost the suite minutes.  Checking a password at login still runs the real hasher;
    an unusable password (None) is made as before."""
    from django.conf import settings

    if not settings.configured:  # a pure-package run (pytest -p no:django)
        yield
        return
    from django.contrib.auth import base_user, hashers

    made: dict[str, str] = {}

    def make_password(password: str | None, *args: Any, **kwargs: Any) -> str:
        if password is None or args or kwargs:
            return hashers.make_password(password, *args, **kwargs)
        if password not in made:
            made[password] = hashers.make_password(password)
        return made[password]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(base_user, "make_password", make_password)
        yield


@pytest.fixture(autouse=True)
def _own_audit_anchor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test starts from an empty database, so it gets an anchor file of its own: the
    run's data folder is shared by a worker's tests, and an anchor an earlier test left there
    names checkpoints the flush removed, which verify rightly reports as a truncated trail."""
    from django.conf import settings

    if not settings.configured:  # a pure-package run (pytest -p no:django)
        return
    from radgov.core.audit import checkpoint

    monkeypatch.setattr(checkpoint, "anchor_path", lambda: tmp_path / "audit-anchor.json")


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Throttles and TOTP replay marks live in the cache: every test starts clean.
    The database cache is rolled back with each test's transaction; Redis is
    cleared (each worker has its own Redis database)."""
    from django.conf import settings

    if not settings.configured:  # a pure-package run (pytest -p no:django)
        return
    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        from django.core.cache import cache

        cache.clear()


@pytest.fixture
def cache_in_memory(settings: Any) -> Iterator[None]:
    """The cache in this process's memory, emptied before and after: a test that counts a
    page's or a service's queries counts its reads and writes of records, not the database
    cache's own queries for the copies and generations it keeps (``radgov.core.generations``)."""
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def private_media(settings: Any, tmp_path: Path) -> None:
    """Uploaded files land in a folder of the test's own (a rollback does not remove files).
    A module takes it with ``pytest.mark.usefixtures("private_media")``."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}},
    }
