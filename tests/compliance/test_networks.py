"""Approved networks: the web application, API tokens and the listeners refuse addresses
outside their lists, and each refusal is a security alert in the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import Client

from radgov.compliance import networks
from radgov.core.models import AuditEntry

pytestmark = pytest.mark.usefixtures("quick_passwords")


def test_a_request_from_outside_the_web_networks_is_refused_and_audited(
    officer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADGOV_WEB_NETWORKS", "10.20.0.0/16, 192.168.5.0/24")
    inside = Client(REMOTE_ADDR="10.20.3.4")
    inside.force_login(officer)
    assert inside.get("/compliance/retention/").status_code == 200
    outside = Client(REMOTE_ADDR="172.16.0.9")
    outside.force_login(officer)
    refused = outside.get("/compliance/retention/")
    assert (
        refused.status_code == 403
        and b"172.16.0.9 is not on an approved network" in refused.content
    )
    entry = AuditEntry.objects.get(event_code="110113")
    assert entry.outcome == "denied" and entry.detail["where"] == "web"
    assert entry.client_address == "172.16.0.9"


def test_a_token_from_outside_the_api_networks_is_refused_before_it_is_read(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADGOV_API_NETWORKS", "10.0.0.0/8")
    answer = Client(REMOTE_ADDR="203.0.113.7").get(
        "/api/exams/", HTTP_AUTHORIZATION="Bearer rgm_not-even-a-real-one"
    )
    assert answer.status_code == 403
    assert answer.json()["type"].endswith("network-not-approved")
    assert AuditEntry.objects.get(event_code="110113").detail["where"] == "api"


def test_listener_lists_and_a_list_that_does_not_parse(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert networks.refusal("dicom", "203.0.113.7") is None  # no list: any address
    monkeypatch.setenv("RADGOV_DICOM_NETWORKS", "10.1.2.0/24,fd00::/8")
    assert networks.refusal("dicom", "10.1.2.200") is None
    assert networks.refusal("dicom", "::ffff:10.1.2.9") is None
    assert networks.refusal("dicom", "fd00::1") is None
    assert "not on an approved network for dicom" in (networks.refusal("dicom", "10.1.3.1") or "")
    monkeypatch.setenv("RADGOV_MLLP_NETWORKS", "10.1.2.0/33")
    errors = [e for e in run_checks() if e.id == "radgov.compliance.E001"]
    assert len(errors) == 1 and "RADGOV_MLLP_NETWORKS: '10.1.2.0/33'" in errors[0].msg
