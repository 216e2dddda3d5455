from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test import Client

from radgov.core import health


@pytest.mark.django_db
def test_healthz_is_public_and_names_the_engine() -> None:
    body = Client().get("/healthz").json()
    assert body["status"] == "ok"
    assert body["database"] == connection.vendor
    assert set(body["worker"]) >= {"alive"}


@pytest.mark.django_db
def test_worker_is_alive_only_with_a_recent_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    store: dict[str, float] = {}
    monkeypatch.setattr(health.HUEY, "put", lambda key, value: store.__setitem__(key, value))
    monkeypatch.setattr(health.HUEY, "get", lambda key, peek=False: store.get(key))
    assert health.worker_status()["alive"] is False
    health.beat()
    assert health.worker_status()["alive"] is True
    store[health.HEARTBEAT_KEY] = time.time() - health.ALIVE_WITHIN_SECONDS - 1
    assert health.worker_status()["alive"] is False
