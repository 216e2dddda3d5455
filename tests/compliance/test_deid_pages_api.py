"""De-identification jobs through the pages and the API: who may use them (never the
vendor), the status that polls while the job runs, the report (a recorded read), and the
downloads (recorded exports)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from radgov.accounts import services as accounts
from radgov.compliance import services, views
from radgov.compliance.models import DeidJob
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from tests.compliance.conftest import dicom_bytes, job_pages, upload, zip_bytes
from tests.factories import client_for, make_user, problem

pytestmark = pytest.mark.django_db

PURPOSE = "local acceptance testing of ICH triage v2"
ALLOWED = (Role.INFORMATICS, Role.DATA_SCIENTIST, Role.COMPLIANCE, Role.ADMINISTRATOR)


def bearer(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    _, secret = accounts.create_token(user, name="tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def done_job(root, informatics, huey_immediate, django_capture_on_commit_callbacks) -> DeidJob:
    with django_capture_on_commit_callbacks(execute=True):
        job = services.create_job(
            informatics, purpose=PURPOSE, source_kind="server_folder", source="study"
        )
    job.refresh_from_db()
    assert job.status == "done"
    return job


def test_vendor_is_refused_every_page_and_endpoint(done_job) -> None:
    vendor = make_user("deid-vendor", role=Role.VENDOR)
    client, token = client_for(vendor), bearer(vendor)
    pk = done_job.pk
    pages = [
        ("get", reverse("compliance:deid_jobs")),
        ("get", reverse("compliance:deid_new")),
        ("post", reverse("compliance:deid_new")),
        *job_pages(pk),
    ]
    api = [
        ("get", "/api/compliance/deid/jobs"),
        ("post", "/api/compliance/deid/jobs"),
        ("post", "/api/compliance/deid/jobs/upload"),
        ("get", f"/api/compliance/deid/jobs/{pk}"),
        ("get", f"/api/compliance/deid/jobs/{pk}/report"),
        ("post", f"/api/compliance/deid/jobs/{pk}/requeue"),
    ]
    for method, url in pages:
        assert getattr(client, method)(url).status_code == 403, url
    for method, url in api:
        assert getattr(Client(), method)(url, **token).status_code == 403, url
    denied = AuditEntry.objects.filter(action="denied", actor_name="deid-vendor").count()
    assert denied == len(pages) + len(api)
    assert not AuditEntry.objects.filter(action__in=["read", "export"]).exists()
    assert "De-identification" not in client.get("/").content.decode()


@pytest.mark.parametrize("role", ALLOWED)
def test_allowed_roles_see_the_list_and_the_navigation(done_job, role) -> None:
    """Every allowed role has the page; the job is listed only to its owner and compliance
    (issue 11 item 10)."""
    client = client_for(make_user(f"deid-viewer-{role}", role=role))
    page = client.get(reverse("compliance:deid_jobs")).content.decode()
    assert "De-identification" in page
    assert (PURPOSE in page) == (role == Role.COMPLIANCE)
    assert (
        PURPOSE
        in client_for(done_job.created_by).get(reverse("compliance:deid_jobs")).content.decode()
    )


def test_new_job_form_queues_an_upload_and_says_the_input_is_deleted(
    data_dir, informatics, huey_immediate, django_capture_on_commit_callbacks
) -> None:
    client = client_for(informatics)
    form = client.get(reverse("compliance:deid_new")).content.decode()
    assert "Server folders are disabled" in form  # no RADGOV_DEID_ROOTS here
    assert "retain-longitudinal-modified-dates" in form and "secret offset" in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("compliance:deid_new"),
            {
                "purpose": PURPOSE,
                "source_kind": "upload",
                "files": [upload("CT_small.dcm", dicom_bytes("CT_small.dcm"))],
                "options": ["retain-patient-characteristics"],
            },
        )
    job = DeidJob.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/deid/{job.pk}/")
    assert job.status == "done" and job.options == ["retain-patient-characteristics"]
    page = client.get(response["Location"]).content.decode()
    assert "deleted after the run (they held PHI)" in page
    assert 'hx-trigger="every 2s"' not in page, "a finished job stops polling"


def test_new_job_form_shows_a_refusal_and_creates_nothing(root, informatics) -> None:
    response = client_for(informatics).post(
        reverse("compliance:deid_new"),
        {"purpose": PURPOSE, "source_kind": "server_folder", "source": "/etc"},
    )
    assert response.status_code == 400
    assert "not inside a folder jobs may read" in response.content.decode()
    assert DeidJob.objects.count() == 0


def test_status_polls_while_queued(root, informatics) -> None:
    job = services.create_job(
        informatics, purpose=PURPOSE, source_kind="server_folder", source="study"
    )
    client = client_for(informatics)
    page = client.get(reverse("compliance:deid_job", args=[job.pk])).content.decode()
    status_url = reverse("compliance:deid_job_status", args=[job.pk])
    assert f'hx-get="{status_url}"' in page and 'hx-trigger="every 2s"' in page
    partial = client.get(status_url).content.decode()
    assert partial.lstrip().startswith('<section id="deid-status"') and "every 2s" in partial
    assert "<html" not in partial
    services.run_job(job.pk)
    partial = client.get(status_url).content.decode()
    assert "every 2s" not in partial and "Download the report" in partial


def test_report_page_is_a_recorded_read(done_job, informatics) -> None:
    client = client_for(informatics)
    page = client.get(reverse("compliance:deid_report", args=[done_job.pk])).content.decode()
    assert "US1_UNCR.dcm" in page and "Quarantined for review" in page
    assert "burned-in" in page.lower()
    reads = AuditEntry.objects.filter(action="read", object_id=str(done_job.pk))
    assert reads.count() == 1
    assert reads.get().detail == {
        "what": "deid report",
        "files": 3,
        "ok": 2,
        "quarantined": 1,
        "failed": 0,
    }
    # the polled status never records a read
    client.get(reverse("compliance:deid_job_status", args=[done_job.pk]))
    client.get(reverse("compliance:deid_job", args=[done_job.pk]))
    assert reads.count() == 1


def test_downloads_are_recorded_exports(done_job, informatics) -> None:
    client = client_for(informatics)
    response = client.get(reverse("compliance:deid_report_json", args=[done_job.pk]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert json.loads(response.content)["summary"]["files"] == 3
    response = client.get(reverse("compliance:deid_output", args=[done_job.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    report = done_job.report_data()["files"]
    assert sorted(names) == sorted(f["output"] for f in report if f["status"] == "ok"), (
        "quarantined files stay behind"
    )
    assert len(names) == 2 and not [n for n in names if "small" in n]
    exports = AuditEntry.objects.filter(action="export", object_id=str(done_job.pk))
    assert [e.event_code for e in exports] == ["110106", "110106"]
    assert [e.detail["what"] for e in exports] == ["deid report", "deid output"]
    assert exports.last().detail["files"] == 2


def test_api_creates_lists_gets_and_reports(
    root, informatics, huey_immediate, django_capture_on_commit_callbacks
) -> None:
    headers = bearer(informatics)
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/compliance/deid/jobs",
            {"purpose": PURPOSE, "source": "study", "options": ["retain-uids"]},
            content_type="application/json",
            **headers,
        )
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    got = client.get(f"/api/compliance/deid/jobs/{job_id}", **headers).json()
    assert (got["status"], got["files"], got["ok"], got["quarantined"], got["failed"]) == (
        "done",
        3,
        2,
        1,
        0,
    )
    assert got["options"] == ["retain-uids"] and "source" not in got
    listed = client.get("/api/compliance/deid/jobs", **headers).json()["items"]
    assert [j["id"] for j in listed] == [job_id]
    report = client.get(f"/api/compliance/deid/jobs/{job_id}/report", **headers).json()
    assert report["summary"]["ok"] == 2 and len(report["files"]) == 3
    assert AuditEntry.objects.filter(action="read", object_id=str(job_id)).count() == 1


def test_api_upload_is_multipart(
    data_dir, informatics, huey_immediate, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            "/api/compliance/deid/jobs/upload",
            {
                "purpose": PURPOSE,
                "files": [
                    upload("a.dcm", dicom_bytes("CT_small.dcm")),
                    upload("b.dcm", dicom_bytes("MR_small.dcm")),
                ],
                "options": ["retain-device-identity", "retain-patient-characteristics"],
            },
            **bearer(informatics),
        )
    assert response.status_code == 201, response.content
    body = response.json()
    job = DeidJob.objects.get(pk=body["id"])
    assert job.status == "done" and job.ok == 2 and job.input_deleted
    assert body["options"] == ["retain-device-identity", "retain-patient-characteristics"]


def test_api_refusals_are_problems_and_create_nothing(root, informatics) -> None:
    headers = bearer(informatics)
    response = Client().post(
        "/api/compliance/deid/jobs",
        {"purpose": PURPOSE, "source": "../../etc"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert "not inside a folder jobs may read" in response.json()["detail"]
    assert DeidJob.objects.count() == 0
    missing = Client().get("/api/compliance/deid/jobs/999", **headers)
    assert missing.status_code == 404
    job = services.create_job(
        informatics, purpose=PURPOSE, source_kind="server_folder", source="study"
    )
    before = AuditEntry.objects.count()
    early = Client().get(f"/api/compliance/deid/jobs/{job.pk}/report", **headers)
    assert "the report exists once it is done" in problem(early, 409)
    requeue = Client().post(f"/api/compliance/deid/jobs/{job.pk}/requeue", **headers)
    assert "less than 10 minutes" in problem(requeue, 409)
    refusals = AuditEntry.objects.order_by("seq")[before:]
    assert [(e.action, e.detail["status"]) for e in refusals] == [("denied", 409)] * 2


def test_a_stuck_job_stops_polling_and_offers_a_requeue(root, informatics) -> None:
    job = services.create_job(
        informatics, purpose=PURPOSE, source_kind="server_folder", source="study"
    )
    client = client_for(informatics)
    url = reverse("compliance:deid_job_status", args=[job.pk])
    assert "every 2s" in client.get(url).content.decode()
    with time_machine.travel(timezone.now() + services.STALE_AFTER):
        client = client_for(informatics)  # a fresh login: the first one idled out meanwhile
        partial = client.get(url).content.decode()
    assert "every 2s" not in partial and "No progress for 10 minutes" in partial
    assert reverse("compliance:deid_requeue", args=[job.pk]) in partial


def test_api_upload_of_an_unsafe_zip_is_a_problem_and_creates_nothing(
    data_dir, informatics
) -> None:
    response = Client().post(
        "/api/compliance/deid/jobs/upload",
        {"purpose": PURPOSE, "files": [upload("x.zip", zip_bytes({"../evil": b"x"}))]},
        **bearer(informatics),
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert "'..'" in response.json()["detail"]
    assert DeidJob.objects.count() == 0 and not (data_dir / "evil").exists()


def test_report_page_table_stops_at_a_limit_but_lists_every_quarantined_file(
    done_job, informatics, monkeypatch
) -> None:
    monkeypatch.setattr(views, "REPORT_ROWS", 1)
    page = client_for(informatics).get(reverse("compliance:deid_report", args=[done_job.pk]))
    text = page.content.decode()
    assert "2 more files are in the" in text
    assert "US1_UNCR.dcm" in text, "quarantined files are all listed above the table"
