"""A de-identification job in the browser: the form (upload), the job page whose status
updates itself while the worker runs, and the report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from radgov.compliance import services
from radgov.compliance.models import DeidJob
from radgov.core.models import AuditEntry
from radgov.core.roles import Role

# the allowed root with pydicom's test files, a private data folder, Huey in immediate mode
from tests.compliance.conftest import data_dir, huey_immediate, root  # noqa: F401
from tests.e2e.pages import follow, logged_in_page
from tests.factories import make_user


@pytest.mark.peer("chromium")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("root", "huey_immediate")
def test_job_page_updates_itself_and_shows_the_report(
    live_server, browser, tmp_path_factory, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    shots = Path(tmp_path_factory.mktemp("deid-screens"))
    user = make_user("informatics.e2e", role=Role.INFORMATICS)
    page = logged_in_page(browser, live_server, user)

    # a job no worker has taken yet: the page polls its status
    with monkeypatch.context() as m:
        m.setattr(services, "_enqueue", lambda job_id: None)  # the worker is away
        job = services.create_job(
            user,
            purpose="local acceptance testing of ICH triage v2",
            source_kind="server_folder",
            source="study",
            options=["retain-longitudinal-modified-dates"],
        )  # outside a request: nothing runs it until we do
    page.goto(f"{live_server.url}/compliance/deid/{job.pk}/")
    status = page.locator("#deid-status")
    assert "Status: queued" in status.inner_text()
    assert status.get_attribute("hx-trigger") == "every 2s"
    page.screenshot(path=str(shots / "job-queued.png"), full_page=True)

    services.run_job(job.pk)  # the worker is back
    # a locator wait: Playwright's string predicates are eval()ed, which the CSP forbids
    page.locator("#deid-status h2", has_text="done").wait_for(timeout=10_000)
    text = status.inner_text()
    assert "De-identified\n2" in text or re.search(r"De-identified\s+2", text)
    assert status.get_attribute("hx-trigger") is None, "polling stops once the job is done"
    page.screenshot(path=str(shots / "job-done.png"), full_page=True)

    follow(page.get_by_role("link", name="Report", exact=True))
    page.wait_for_url(re.compile(r".*/report/$"))
    assert "US1_UNCR.dcm" in page.locator("main").inner_text()
    page.screenshot(path=str(shots / "report.png"), full_page=True)
    assert AuditEntry.objects.filter(action="read", object_id=str(job.pk)).count() == 1

    # a new job from the form, with an upload
    page.goto(f"{live_server.url}/compliance/deid/new/")
    page.screenshot(path=str(shots / "new-job.png"), full_page=True)
    page.fill("input[name=purpose]", "research export, ICH study")
    page.check("input[name=source_kind][value=upload]")
    page.set_input_files("input[name=files]", [get_testdata_file("CT_small.dcm")])
    page.check("input[name=options][value=retain-patient-characteristics]")
    follow(page.get_by_role("button", name="Queue the job"))
    page.wait_for_url(re.compile(r".*/compliance/deid/\d+/$"))
    uploaded = DeidJob.objects.exclude(pk=job.pk).get()
    assert uploaded.status == "done" and uploaded.input_deleted
    assert "deleted after the run" in page.locator("main").inner_text()
    page.screenshot(path=str(shots / "upload-done.png"), full_page=True)
    follow(page.get_by_role("link", name="De-identification jobs").first)
    assert page.locator("tbody tr").count() == 2
    page.screenshot(path=str(shots / "jobs.png"), full_page=True)
    print(f"screenshots in {shots}")
