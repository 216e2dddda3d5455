"""The conformance audit's page, PDF and JSON downloads and API functions: who may
read them, that reading is audited, and that the PDF renders (pdftoppm)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory

from radgov.core import policy
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.governance.conformance import api, pdf
from radgov.governance.conformance.audit import run_audit
from tests.factories import client_for, make_user
from tests.governance import conformance_world as w
from tests.governance.conformance_urls import rules_with_conformance

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls("tests.governance.conformance_urls"),
    pytest.mark.usefixtures("private_media"),
]


@pytest.fixture(autouse=True)
def _setup(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = rules_with_conformance()
    monkeypatch.setattr(policy, "all_rules", lambda: rules)


@pytest.fixture
def practice() -> Any:
    """A conformant deployment and one whose release notes are missing (a failing line)."""
    p = w.people()
    world = w.practice(p)
    ok = w.deployed_model(p, world)
    bad = w.deployed_model(p, world, w.Omit(release_notes=True), name="LungNodule CT")
    return p, ok, bad


def shots() -> Path | None:
    folder = os.environ.get("RADGOV_E2E_SHOTS")
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)


def test_page_shows_every_line_with_its_clause_and_status_in_words(practice) -> None:
    p, ok, bad = practice
    r = client_for(p.reader).get("/governance/conformance/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "<h1>Conformance audit</h1>" in html
    assert str(ok) in html and str(bad) in html
    assert "✗ FAIL" in html and "✓ pass" in html
    assert "IV.B.2.a" in html and "IV.H.3" in html and "To fix:" in html
    assert 'action="/governance/conformance/audit.pdf"' in html  # a POST: it queues a job
    assert AuditEntry.objects.filter(
        object_type="governance.conformance", action="read", actor_name="cf-reader"
    ).exists()


def test_vendor_may_not_read_the_audit(practice) -> None:
    vendor = make_user("cf-vendor", role=Role.VENDOR)
    assert client_for(vendor).get("/governance/conformance/").status_code == 403
    assert client_for(vendor).get("/governance/conformance/audit.json").status_code == 403


def test_json_download_is_the_report_and_is_audited_as_export(practice) -> None:
    p, ok, bad = practice
    r = client_for(p.chen).get("/governance/conformance/audit.json")
    assert r.status_code == 200 and r["Content-Type"] == "application/json"
    assert "attachment;" in r["Content-Disposition"]
    data = json.loads(r.content)
    assert data["conformant"] is False and data["totals"]["fail"] == 1
    assert {d["deployment_id"] for d in data["deployments"]} == {ok.pk, bad.pk}
    assert AuditEntry.objects.filter(
        object_type="governance.conformance", action="export", actor_name="cf-chen"
    ).exists()


def test_api_functions(practice) -> None:
    p, ok, bad = practice
    request = RequestFactory().get("/api/governance/conformance")
    request.user = p.chen
    data = api.conformance_report(request)
    assert data["schema"] == "radgov-conformance/1" and len(data["deployments"]) == 2
    r = api.conformance_pdf(request)
    assert r.status_code == 202 and r["Location"].startswith("/api/jobs/")


def test_print_layout_is_the_page_template_without_the_site_chrome(practice) -> None:
    html = pdf.print_html(run_audit())
    assert "<h1>Conformance audit</h1>" in html
    assert "nav" not in html and "Download PDF" not in html
    assert "@page" in html and "landscape" in html


@pytest.mark.peer("pdftoppm")
def test_pdf_download_renders(practice, tmp_path, django_capture_on_commit_callbacks) -> None:
    from huey.contrib.djhuey import HUEY

    from radgov.core.models import Job

    p, ok, bad = practice
    client = client_for(p.chen)
    before, HUEY.immediate = HUEY.immediate, True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            queued = client.post("/governance/conformance/audit.pdf")
    finally:
        HUEY.immediate = before
    job = Job.objects.get()
    assert queued["Location"] == f"/jobs/{job.pk}/"
    r = client.get(f"/jobs/{job.pk}/result")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    body = r.content
    assert body.startswith(b"%PDF-") and len(body) > 5000
    target = tmp_path / "audit.pdf"
    target.write_bytes(body)
    out = shots() or tmp_path
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", str(target), str(out / "conformance-pdf")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pages = sorted(out.glob("conformance-pdf*.png"))
    assert pages and all(png.stat().st_size > 2000 for png in pages)
    text = subprocess.run(
        ["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "Conformance audit" in text and "IV.B.2.a" in text and "FAIL" in text
    assert AuditEntry.objects.filter(
        object_type="core.job",
        object_id=str(job.pk),
        action="export",
        detail_json__contains='"kind":"governance.conformance_pdf"',
    ).exists()
