from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from radgov.core import health
from radgov.core.models import ProcessBeat


@pytest.mark.django_db
def test_healthz_is_public_and_names_the_engine() -> None:
    body = Client().get("/healthz").json()
    assert body["status"] == "ok"
    assert body["database"] == connection.vendor
    assert set(body["worker"]) >= {"alive"}
    assert body["processes"] == []


@pytest.mark.django_db
def test_each_process_is_shown_alive_only_with_a_recent_heartbeat() -> None:
    health.beat("worker")
    health.beat("gateway-dicom")
    health.beat("worker")  # the same process again: one row
    body = Client().get("/healthz").json()
    shown = {p["name"]: p for p in body["processes"]}
    assert set(shown) == {"worker", "gateway-dicom"} and body["worker"]["alive"] is True
    assert shown["worker"]["host"] == health.HOST and shown["worker"]["alive"] is True
    stale = timezone.now() - timedelta(seconds=health.ALIVE_WITHIN_SECONDS + 1)
    ProcessBeat.objects.filter(name="worker").update(beat_at=stale)
    body = Client().get("/healthz").json()
    assert body["worker"]["alive"] is False
    assert {p["name"]: p["alive"] for p in body["processes"]} == {
        "worker": False,
        "gateway-dicom": True,
    }
    ProcessBeat.objects.filter(name="worker").update(beat_at=timezone.now() - timedelta(days=2))
    assert [p["name"] for p in Client().get("/healthz").json()["processes"]] == ["gateway-dicom"]


@pytest.mark.django_db
def test_a_new_pid_under_the_same_name_restarts_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    health.beat("worker")
    first = ProcessBeat.objects.get()
    monkeypatch.setattr(health.os, "getpid", lambda: first.pid + 1)
    health.beat("worker")
    again = ProcessBeat.objects.get()
    assert again.pid == first.pid + 1 and again.started_at > first.started_at
