"""Issue 11 item 6: expensive work is a background job.  A PDF asked for on a page or the API
is queued and made by the worker (the request answers at once), followed on a page that
updates, fetched by its owner only (an audited export); a person has at most
RADGOV_JOBS_PER_USER jobs at once; a job a stopped worker left is queued again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from radgov.accounts import services as accounts
from radgov.core import jobs
from radgov.core.models import AuditEntry, Job
from radgov.core.roles import Role
from tests.factories import client_for, make_user, problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def immediate(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    from huey.contrib.djhuey import HUEY

    before, HUEY.immediate = HUEY.immediate, True
    try:
        yield
    finally:
        HUEY.immediate = before


def test_the_conformance_pdf_is_a_job_followed_on_a_page(
    immediate, django_capture_on_commit_callbacks, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("RADGOV_DATA_DIR", str(tmp_path))
    owner = make_user("pdf-owner", role=Role.PHYSICIAN)
    client = client_for(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("governance:conformance_pdf"))
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("web:job", args=[job.pk])
    job.refresh_from_db()
    assert job.status == "done" and job.owner == owner and job.attempts == 1, job.error
    page = client.get(reverse("web:job", args=[job.pk])).content.decode()
    assert "Download conformance-" in page and 'hx-trigger="every 2s"' not in page
    download = client.get(reverse("web:job_result", args=[job.pk]))
    assert download.status_code == 200 and download.content.startswith(b"%PDF-")
    assert download["Cache-Control"] == "no-store"
    export = AuditEntry.objects.filter(action="export", object_id=str(job.pk)).get()
    assert (
        export.actor_name == "pdf-owner"
        and '"kind":"governance.conformance_pdf"' in export.detail_json
    )
    # another person cannot see the job or fetch its file
    other = client_for(make_user("pdf-other", role=Role.PHYSICIAN))
    assert other.get(reverse("web:job", args=[job.pk])).status_code == 404
    assert other.get(reverse("web:job_result", args=[job.pk])).status_code == 404


def test_a_queued_job_polls_and_the_request_does_not_render(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RADGOV_DATA_DIR", str(tmp_path))
    client = client_for(make_user("poller", role=Role.PHYSICIAN))
    response = client.post(reverse("governance:conformance_pdf"))  # no worker runs it here
    job = Job.objects.get()
    assert job.status == "queued" and not job.folder.exists()
    page = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 2s"' in page and "waiting for a worker" in page


def test_a_person_has_at_most_the_limit_of_jobs(monkeypatch) -> None:
    monkeypatch.setenv("RADGOV_JOBS_PER_USER", "2")
    user = make_user("busy", role=Role.PHYSICIAN)
    client = client_for(user)
    for _ in range(2):
        client.post(reverse("governance:conformance_pdf"))
    response = client.post(reverse("governance:conformance_pdf"), follow=True)
    assert "wait for one of them to finish" in response.content.decode()
    assert Job.objects.filter(owner=user).count() == 2
    _, secret = accounts.create_token(user, name="t")
    refused = Client().post(
        "/api/governance/conformance/pdf", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert "RADGOV_JOBS_PER_USER" in problem(refused, 429)
    # someone else is not held up by it
    assert (
        client_for(make_user("idle", role=Role.PHYSICIAN))
        .post(reverse("governance:conformance_pdf"))
        .status_code
        == 302
    )


def test_the_api_answers_202_and_the_job_tells_where_the_file_is(
    immediate, django_capture_on_commit_callbacks, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("RADGOV_DATA_DIR", str(tmp_path))
    user = make_user("api-pdf", role=Role.INFORMATICS)
    _, secret = accounts.create_token(user, name="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post("/api/governance/conformance/pdf", **auth)
    assert response.status_code == 202, response.content
    location = response["Location"]
    followed = Client().get(location, **auth).json()
    assert followed["status"] == "done" and followed["result"] == f"{location}/result"
    fetched = Client().get(followed["result"], **auth)
    assert fetched.status_code == 200 and fetched.content.startswith(b"%PDF-")


def test_a_stale_job_is_queued_again_and_a_failure_says_why(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RADGOV_DATA_DIR", str(tmp_path))
    user = make_user("stale", role=Role.PHYSICIAN)
    job = jobs.submit(user, "governance.meeting_notes_pdf", {"meeting": 999999})
    assert jobs.requeue_refusal(job) is not None  # fresh: a worker may still take it
    later = timezone.now() + dt.timedelta(minutes=11)
    assert jobs.requeue_refusal(job, now=later) is None
    failed = jobs.run(job.pk)
    assert failed is not None and failed.status == "failed"
    assert failed.error == "the meeting no longer exists"
    assert jobs.requeue(user, failed).status == "queued"


def test_job_kinds_are_declared_once_and_tests_override_them() -> None:
    conformance = jobs.KINDS.get("governance.conformance_pdf")
    assert conformance is not None and conformance.label == "conformance audit (PDF)"
    with pytest.raises(ValueError, match="declared already"):
        jobs.kind("governance.conformance_pdf", label="again")(lambda job, progress: None)  # type: ignore[arg-type,return-value]
    only = jobs.Kind(name="test.only", label="only this", run=conformance.run)
    with jobs.KINDS.override(only):
        assert jobs.KINDS.get("test.only") is only
        assert jobs.KINDS.get("governance.conformance_pdf") is None
    assert jobs.KINDS.get("governance.conformance_pdf") is conformance
    assert jobs.KINDS.get("test.only") is None


def test_the_file_of_a_job_not_done_is_a_conflict_answered_once_in_the_trail() -> None:
    user = make_user("api-early", role=Role.INFORMATICS)
    _, secret = accounts.create_token(user, name="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    queued = Client().post("/api/governance/conformance/pdf", **auth)  # never run: no commit
    assert queued.status_code == 202, queued.content
    before = AuditEntry.objects.count()
    early = Client().get(f"{queued['Location']}/result", **auth)
    assert "it has no file to fetch" in problem(early, 409)
    assert [e.action for e in AuditEntry.objects.order_by("seq")[before:]] == ["denied"]
