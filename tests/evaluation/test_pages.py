"""The acceptance-testing pages: write a protocol, lock it, run it on an uploaded file, read the
result as a page, a PDF and JSON; and the refusals, which change nothing."""

from __future__ import annotations

import json

import polars as pl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from radgov.core.models import AuditEntry, Job
from radgov.core.roles import Role
from radgov.evaluation import services
from radgov.evaluation.models import AcceptanceProtocol, AcceptanceRun
from radgov.evaluation.synthetic import generate_ich_cases
from radgov.inventory import lifecycle
from tests.evaluation.conftest import EXAMPLE_PROTOCOL
from tests.factories import client_for, make_user
from tests.training.helpers import make_deployment, make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    return {
        "deployment": make_deployment(make_version(), status="acceptance_testing"),
        "member": make_user("dr.chen", is_governance_member=True),
        "scientist": make_user("ds.kim", role=Role.DATA_SCIENTIST),
    }


def cases_upload(name: str = "ich-cases.csv", *, n: int = 600, real: bool = True, **extra):  # type: ignore[no-untyped-def]
    frame = generate_ich_cases(n, seed=5)
    if real:  # the same figures, without the synthetic flag: as a practice's own file would be
        frame = frame.drop("synthetic")
    for column, values in extra.items():
        frame = frame.with_columns(pl.Series(column, values))
    return SimpleUploadedFile(name, frame.write_csv().encode(), content_type="text/csv")


@pytest.fixture(autouse=True)
def _worker_at_once(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Runs and PDFs are background jobs (issue 11 item 6): here the worker runs each one as
    soon as the request that queued it commits."""
    from huey.contrib.djhuey import HUEY

    before, HUEY.immediate = HUEY.immediate, True
    global _capture
    _capture = django_capture_on_commit_callbacks
    try:
        yield
    finally:
        HUEY.immediate = before


_capture = None


def post_job(client, url: str, data=None):  # type: ignore[no-untyped-def]
    """POST what queues a job; the job has run by the time this returns (or the form was
    refused: then the response is the page, 400)."""
    with _capture(execute=True):  # type: ignore[misc]
        response = client.post(url, data or {})
    if response.status_code != 302 or "/jobs/" not in response.headers["Location"]:
        return response, None
    job = Job.objects.latest("pk")
    assert response.headers["Location"] == reverse("web:job", args=[job.pk])
    return response, job


def post_run(client, protocol, upload):  # type: ignore[no-untyped-def]
    return post_job(client, reverse("evaluation:run_new", args=[protocol.pk]), {"cases": upload})


def write_and_lock(world) -> AcceptanceProtocol:  # type: ignore[no-untyped-def]
    scientist, member = client_for(world["scientist"]), client_for(world["member"])
    d = world["deployment"]
    response = scientist.post(
        reverse("evaluation:protocol_new", args=[d.pk]), {"source": EXAMPLE_PROTOCOL.read_text()}
    )
    protocol = AcceptanceProtocol.objects.get(deployment=d)
    assert response.headers["Location"] == reverse("evaluation:protocol", args=[protocol.pk])
    member.post(reverse("evaluation:protocol_lock", args=[protocol.pk]))
    protocol.refresh_from_db()
    assert protocol.is_locked and protocol.locked_by == world["member"]
    return protocol


def test_the_example_protocol_runs_end_to_end_in_the_web_app(world, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a data folder of its own: another test's request may hold a file in the shared one
    monkeypatch.setenv("RADGOV_DATA_DIR", str(tmp_path / "data"))
    d = world["deployment"]
    scientist = client_for(world["scientist"])
    # the new-protocol page starts from a draft naming the model
    page = scientist.get(reverse("evaluation:protocol_new", args=[d.pk])).content.decode()
    assert "ICH Triage 2.1 local acceptance test" in page and "agree the columns" in page

    protocol = write_and_lock(world)
    page = scientist.get(reverse("evaluation:protocol", args=[protocol.pk])).content.decode()
    assert protocol.content_hash in page and "Locked" in page and "dr.chen" in page

    _, job = post_run(scientist, protocol, cases_upload())
    run = AcceptanceRun.objects.get()
    assert job.status == "done" and job.result_url == reverse("evaluation:run", args=[run.pk])
    page = scientist.get(reverse("web:job", args=[job.pk])).content.decode()
    assert f'href="{job.result_url}"' in page
    assert run.n_cases == 600 and not run.synthetic and run.cases_name == "ich-cases.csv"
    assert run.protocol_hash == protocol.content_hash
    assert run.result["protocol"]["hash"] == protocol.content_hash
    assert set(run.result["subgroups"]) >= {"sex=F", "sex=M", "age=[18,65)"}
    # the cases file is not kept: the folder the upload was held in is empty again
    assert list((tmp_path / "data" / "evaluation" / "incoming").iterdir()) == []
    assert run.result["cases"]["file"] == "ich-cases.csv"

    page = scientist.get(reverse("evaluation:run", args=[run.pk])).content.decode()
    verdict = "passed" if run.passed else "failed"
    assert f'<span class="badge {"ok" if run.passed else "bad"}">{verdict}</span>' in page
    assert run.cases_sha256 in page and run.result_sha256 in page

    report = scientist.get(reverse("evaluation:run_report", args=[run.pk])).content.decode()
    assert "Acceptance test: ICH triage local acceptance test" in report
    assert f"approved and locked by {world['member'].username}" in report
    assert report.count("<svg") >= 4  # ROC, calibration, confusion matrix, forest plot
    assert f"<dt>Deployment</dt><dd>{d}</dd>" in report
    assert "<strong>Protocol amended after lock.</strong>" not in report

    _, pdf_job = post_job(scientist, reverse("evaluation:run_pdf", args=[run.pk]))
    pdf = scientist.get(reverse("web:job_result", args=[pdf_job.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    raw = scientist.get(reverse("evaluation:run_json", args=[run.pk])).content
    assert services.result_hash(json.loads(raw)) == run.result_sha256
    exports = AuditEntry.objects.filter(action="export", object_type="evaluation.acceptancerun")
    assert [e.detail["format"] for e in exports] == ["json"]
    pdf_export = AuditEntry.objects.get(action="export", object_type="core.job")
    assert pdf_export.detail["kind"] == "evaluation.report_pdf"

    # the deployment's inventory record (IV.B.2.e) links here and says what the records say
    record = scientist.get(reverse("inventory:deployment", args=[d.pk])).content.decode()
    assert reverse("evaluation:deployment", args=[d.pk]) in record
    assert f"Latest run {run.created_at:%Y-%m-%d}: {verdict} on 600 cases" in record


def test_a_passed_real_run_is_lifecycle_evidence_and_a_synthetic_one_is_not(world) -> None:  # type: ignore[no-untyped-def]
    d = world["deployment"]
    protocol = write_and_lock(world)
    scientist = client_for(world["scientist"])
    post_run(scientist, protocol, cases_upload(real=False))
    run = AcceptanceRun.objects.get()
    assert run.synthetic
    assert lifecycle.acceptance_guard(d)  # still missing
    page = scientist.get(reverse("evaluation:run", args=[run.pk])).content.decode()
    assert "Synthetic data" in page and "not acceptance evidence" in page
    report = scientist.get(reverse("evaluation:run_report", args=[run.pk])).content.decode()
    assert "synthetic" in report.lower()

    post_run(scientist, protocol, cases_upload())
    latest = AcceptanceRun.objects.first()
    assert latest is not None and not latest.synthetic
    assert (lifecycle.acceptance_guard(d) == []) is latest.passed


def test_no_run_before_the_protocol_is_locked_and_nothing_changes(world) -> None:  # type: ignore[no-untyped-def]
    d = world["deployment"]
    scientist = client_for(world["scientist"])
    scientist.post(
        reverse("evaluation:protocol_new", args=[d.pk]), {"source": EXAMPLE_PROTOCOL.read_text()}
    )
    protocol = AcceptanceProtocol.objects.get()
    before = AuditEntry.objects.count()
    page = scientist.get(reverse("evaluation:run_new", args=[protocol.pk])).content.decode()
    assert "must be approved and locked before any result exists" in page
    response = scientist.post(
        reverse("evaluation:run_new", args=[protocol.pk]), {"cases": cases_upload()}
    )
    assert response.status_code == 400
    assert "must be approved and locked" in response.content.decode()
    assert not AcceptanceRun.objects.exists()
    # the refusal itself is the one new entry, as the API would record it
    [refused] = AuditEntry.objects.order_by("pk")[before:]
    assert (refused.action, refused.object_type) == ("denied", "route")
    assert refused.object_id == "evaluation:run_new"


def test_only_an_unrecused_governance_member_locks(world) -> None:  # type: ignore[no-untyped-def]
    d = world["deployment"]
    scientist = client_for(world["scientist"])
    scientist.post(
        reverse("evaluation:protocol_new", args=[d.pk]), {"source": EXAMPLE_PROTOCOL.read_text()}
    )
    protocol = AcceptanceProtocol.objects.get()
    page = scientist.get(reverse("evaluation:protocol", args=[protocol.pk])).content.decode()
    assert "Approve and lock" not in page and "only a governance-group member" in page
    response = scientist.post(reverse("evaluation:protocol_lock", args=[protocol.pk]), follow=True)
    assert "Not locked: IV.A.1" in response.content.decode()
    protocol.refresh_from_db()
    assert not protocol.is_locked
    # the refusal on the page is recorded once, as the API records it
    (entry,) = AuditEntry.objects.filter(action="denied", object_id="evaluation:protocol_lock")
    assert entry.detail["status"] == 403 and entry.detail["reason"].startswith("IV.A.1")


def test_identifier_columns_are_refused_naming_the_column(world) -> None:  # type: ignore[no-untyped-def]
    protocol = write_and_lock(world)
    names = [f"Patient{i} Example" for i in range(600)]
    upload = cases_upload(patient_name=names)
    client = client_for(world["scientist"])
    _, job = post_run(client, protocol, upload)
    page = client.get(reverse("web:job", args=[job.pk])).content.decode()
    assert job.status == "failed" and "patient_name" in page and "BAA" in page
    assert "Patient1 Example" not in page  # the values are never echoed
    assert not AcceptanceRun.objects.exists()


def test_a_bad_cases_file_is_refused_with_the_column_and_row(world) -> None:  # type: ignore[no-untyped-def]
    protocol = write_and_lock(world)
    labels = [0] * 599 + [2]
    client = client_for(world["scientist"])
    _, job = post_run(client, protocol, cases_upload(label=labels))
    page = client.get(reverse("web:job", args=[job.pk])).content.decode()
    assert job.status == "failed" and "label" in page and "600" in page
    assert not AcceptanceRun.objects.exists()
    wrong_type = SimpleUploadedFile("cases.xlsx", b"PK\x03\x04", content_type="application/zip")
    response = client_for(world["scientist"]).post(
        reverse("evaluation:run_new", args=[protocol.pk]), {"cases": wrong_type}
    )
    assert response.status_code == 400 and "CSV (.csv) or Parquet (.parquet)" in (
        response.content.decode()
    )


def test_amending_a_locked_protocol_makes_a_marked_new_version(world) -> None:  # type: ignore[no-untyped-def]
    protocol = write_and_lock(world)
    scientist = client_for(world["scientist"])
    post_run(scientist, protocol, cases_upload())
    changed = EXAMPLE_PROTOCOL.read_text().replace(
        "estimate_at_least: 0.85", "estimate_at_least: 0.8"
    )
    url = reverse("evaluation:protocol_edit", args=[protocol.pk])
    assert "Save as version 2" in scientist.get(url).content.decode()
    response = scientist.post(url, {"source": changed, "reason": ""})
    assert response.status_code == 400 and AcceptanceProtocol.objects.count() == 1
    scientist.post(url, {"source": changed, "reason": "Specificity target agreed too high."})
    v2 = AcceptanceProtocol.objects.get(version=2)
    assert v2.amends == protocol and v2.amended_after_results and not v2.is_locked
    protocol.refresh_from_db()
    assert protocol.source == EXAMPLE_PROTOCOL.read_text()  # the locked version is untouched

    # the old version can no longer be run, and v2 must be locked first
    response = scientist.post(
        reverse("evaluation:run_new", args=[protocol.pk]), {"cases": cases_upload()}
    )
    assert response.status_code == 400 and "later version" in response.content.decode()
    client_for(world["member"]).post(reverse("evaluation:protocol_lock", args=[v2.pk]))
    post_run(scientist, v2, cases_upload())
    run = AcceptanceRun.objects.filter(protocol=v2).get()
    report = scientist.get(reverse("evaluation:run_report", args=[run.pk])).content.decode()
    assert "AMENDED AFTER LOCK" in report and "Specificity target agreed too high." in report
    assert "<strong>Protocol amended after lock.</strong>" in report  # the banner at the top
    page = scientist.get(reverse("evaluation:deployment", args=[v2.deployment_id])).content
    assert "post hoc: amended after results" in page.decode()


def test_a_vendor_sees_none_of_it(world) -> None:  # type: ignore[no-untyped-def]
    protocol = write_and_lock(world)
    vendor = client_for(make_user("rep", role=Role.VENDOR))
    for url in (
        reverse("evaluation:index"),
        reverse("evaluation:protocol", args=[protocol.pk]),
        reverse("evaluation:protocol_yaml", args=[protocol.pk]),
    ):
        assert vendor.get(url).status_code == 403


def test_the_protocol_page_plans_the_number_of_cases(world) -> None:  # type: ignore[no-untyped-def]
    from radgov.evaluation.planning import plan_protocol
    from radgov.evaluation.protocol import parse_protocol_text

    protocol = write_and_lock(world)
    client = client_for(world["scientist"])
    url = reverse("evaluation:protocol", args=[protocol.pk])
    page = client.get(url).content.decode()
    assert "Expected sensitivity" in page and "Expected AUC" in page
    query = "?prevalence=0.1&power=0.8&expect_sensitivity=0.9&expect_auc=0.95"
    page = client.get(url + query).content.decode()
    answers = plan_protocol(
        parse_protocol_text(protocol.source),
        expected={"sensitivity": 0.9, "auc": 0.95},
        prevalence=0.1,
        power=0.8,
    )
    assert len(answers) == 2
    for a in answers:
        assert f"<td>{a.n_total}</td>" in page
    page = client.get(url + "?prevalence=2&power=0.8").content.decode()
    assert "Ensure this value is less than or equal to 0.999" in page


def test_a_post_hoc_amendment_and_a_rerun_are_marked_on_every_page(world) -> None:  # type: ignore[no-untyped-def]
    v1 = write_and_lock(world)
    scientist = client_for(world["scientist"])
    post_run(scientist, v1, cases_upload())
    amended = EXAMPLE_PROTOCOL.read_text().replace("threshold: 0.5", "threshold: 0.45")
    assert amended != EXAMPLE_PROTOCOL.read_text()
    v2 = services.amend(world["scientist"], v1, source=amended, reason="the failing subgroup")
    services.lock(world["member"], v2)
    post_run(scientist, v2, cases_upload("b.csv"))
    rerun = AcceptanceRun.objects.get(protocol=v2)
    page = scientist.get(reverse("evaluation:run", args=[rerun.pk])).content.decode()
    assert "Post hoc: protocol version 2 was amended after results were seen" in page
    assert "has not accepted the amendment" in page
    assert f"Rerun: the same cases file (SHA-256 {rerun.cases_sha256[:12]}" in page
    runs = scientist.get(reverse("evaluation:deployment", args=[world["deployment"].pk]))
    assert ">post hoc<" in runs.content.decode() and ">rerun<" in runs.content.decode()
    record = scientist.get(reverse("inventory:deployment", args=[world["deployment"].pk]))
    assert "Post hoc: protocol version 2" in record.content.decode()  # IV.B.2.e
    api = scientist.get(f"/api/evaluation/runs/{rerun.pk}").json()
    assert api["repeats_id"] is not None and api["post_hoc"].startswith("Post hoc")
