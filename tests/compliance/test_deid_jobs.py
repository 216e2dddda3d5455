"""De-identification jobs: server folders inside the allowed roots, uploads (files and .zip),
the run in the worker (immediate Huey), progress in batches, failures, re-queueing, and the
audit trail (counts only, never a file name from the source)."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pydicom
import pytest
import time_machine
from django.utils import timezone

from radgov.compliance import services
from radgov.compliance.models import DeidJob
from radgov.core.models import AuditEntry
from tests.compliance.conftest import TEST_FILES, dicom_bytes, upload, zip_bytes

pytestmark = pytest.mark.django_db

PURPOSE = "local acceptance testing of ICH triage v2"


def run_now(django_capture_on_commit_callbacks, **kwargs):  # type: ignore[no-untyped-def]
    """Create a job and let its on-commit enqueue run the task (Huey immediate)."""
    with django_capture_on_commit_callbacks(execute=True):
        job = services.create_job(kwargs.pop("user"), purpose=PURPOSE, **kwargs)
    job.refresh_from_db()
    return job


def audit_text() -> str:
    return "\n".join(e.detail_json + e.changes_json for e in AuditEntry.objects.all())


def test_server_folder_job_deidentifies_and_reports(
    root, informatics, huey_immediate, django_capture_on_commit_callbacks
) -> None:
    job = run_now(
        django_capture_on_commit_callbacks,
        user=informatics,
        source_kind="server_folder",
        source=str(root / "study"),
        options=["retain-longitudinal-modified-dates"],
    )
    assert job.status == "done", job.error
    assert (job.files_total, job.files, job.ok, job.quarantined, job.failed) == (3, 3, 2, 1, 0)
    assert job.source_root == os.path.realpath(root) and job.source == "study"
    out = job.output_path
    assert out == Path(os.environ["RADGOV_DATA_DIR"]).resolve() / "deid" / str(job.pk) / "output"
    report = job.report_data()
    outputs = {f["source"]: out / f["output"] for f in report["files"]}
    for name in ("CT_small.dcm", "MR_small.dcm"):
        ds = pydicom.dcmread(outputs[name])
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.PatientName != pydicom.dcmread(root / "study" / name).PatientName
    quarantined = outputs["US1_UNCR.dcm"]
    assert quarantined.relative_to(out).parts[0] == "_quarantine"
    assert pydicom.dcmread(quarantined).PatientIdentityRemoved == "YES"
    assert {k: report["summary"][k] for k in ("files", "ok", "quarantined", "failed")} == {
        "files": 3,
        "ok": 2,
        "quarantined": 1,
        "failed": 0,
    }
    assert report["summary"]["options"] == ["retain-longitudinal-modified-dates"]
    assert {f["source"]: f["status"] for f in report["files"]} == TEST_FILES
    assert (root / "study" / "CT_small.dcm").read_bytes() == dicom_bytes("CT_small.dcm")

    imports = AuditEntry.objects.filter(action="import", object_id=str(job.pk))
    assert imports.count() == 1
    entry = imports.get()
    assert entry.event_code == "110107" and entry.actor_name == informatics.username
    assert entry.detail == {"attempt": 1, "files": 3, "source_kind": "server_folder"}
    assert AuditEntry.objects.filter(
        action="create", object_type="compliance.deidjob", object_id=str(job.pk)
    ).exists()
    text = audit_text()
    for name in TEST_FILES:
        assert name not in text, "a source file name reached the audit trail"
    assert '"study"' not in text, "the path below the root (which can carry PHI) is redacted"


def test_relative_path_is_taken_inside_the_root(root, informatics) -> None:
    job = services.create_job(
        informatics, purpose=PURPOSE, source_kind="server_folder", source="study"
    )
    assert job.status == "queued" and job.source == "study"


def test_upload_job_runs_and_its_input_is_deleted(
    data_dir, informatics, huey_immediate, django_capture_on_commit_callbacks
) -> None:
    files = [upload("CT_small.dcm", dicom_bytes("CT_small.dcm")), upload("scan.zip", b"")]
    files[1] = upload(
        "scan.zip",
        zip_bytes({"series/MR_small.dcm": dicom_bytes("MR_small.dcm"), "series/sub/": b""}),
    )
    job = run_now(
        django_capture_on_commit_callbacks, user=informatics, source_kind="upload", files=files
    )
    assert job.status == "done", job.error
    assert (job.files, job.ok, job.failed) == (2, 2, 0)
    assert job.input_deleted and job.source == f"deid/{job.pk}/input"
    assert not (data_dir / "deid" / str(job.pk) / "input").exists(), "the PHI input is deleted"
    report = job.report_data()
    assert {f["source"] for f in report["files"]} == {"series/MR_small.dcm", "CT_small.dcm"}
    for record in report["files"]:
        assert (job.output_path / record["output"]).exists()
        assert "MR_small" not in record["output"] and "CT_small" not in record["output"]
    assert "MR_small" not in job.report and "CT_small" not in job.report  # stored: refs only
    assert not list((data_dir / "deid").glob(".incoming-*")), "no staging folder left behind"


@pytest.mark.parametrize(
    "source",
    ["outside", "../outside", "{root}/../outside", "{root}/link-out/secret", "/etc"],
)
def test_source_outside_the_roots_is_refused_and_nothing_created(
    root, tmp_path, informatics, source
) -> None:
    (tmp_path / "outside" / "secret").mkdir(parents=True)
    (root / "link-out").symlink_to(tmp_path / "outside")
    before = AuditEntry.objects.count()
    with pytest.raises(services.DeidJobError, match="not inside a folder jobs may read"):
        services.create_job(
            informatics,
            purpose=PURPOSE,
            source_kind="server_folder",
            source=source.format(root=root),
        )
    assert DeidJob.objects.count() == 0 and AuditEntry.objects.count() == before


def test_server_folders_are_disabled_without_roots(data_dir, tmp_path, informatics) -> None:
    with pytest.raises(services.DeidJobError, match="server folders are disabled"):
        services.create_job(
            informatics, purpose=PURPOSE, source_kind="server_folder", source=str(tmp_path)
        )
    assert DeidJob.objects.count() == 0


def test_data_folder_cannot_be_a_source(root, data_dir, informatics, monkeypatch) -> None:
    monkeypatch.setenv("RADGOV_DEID_ROOTS", str(data_dir.parent))
    with pytest.raises(services.DeidJobError, match="data folder"):
        services.create_job(
            informatics, purpose=PURPOSE, source_kind="server_folder", source=str(data_dir)
        )


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"../evil": b"x"}, "'..'"),
        ({"ok/../../evil": b"x"}, "'..'"),
        ({"/etc/evil": b"x"}, "absolute path"),
        ({"C:/evil": b"x"}, "absolute path"),
        ({"a.dcm": b"x", "A.DCM": b"y"}, "same file name twice"),
        # issue 11 item 3: a file and a folder of the same name (either order, any case)
        ({"DOE^JANE": b"x", "DOE^JANE/IM0001.dcm": b"y"}, "a file and a folder of the same name"),
        ({"DOE^JANE/IM0001.dcm": b"y", "DOE^JANE": b"x"}, "a file and a folder of the same name"),
        ({"doe^jane/a/IM1.dcm": b"y", "DOE^JANE/A": b"x"}, "a file and a folder of the same name"),
    ],
)
def test_unsafe_zip_is_refused_and_nothing_created(
    data_dir, tmp_path, informatics, members, message
) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(services.DeidJobError, match=message):
        services.create_job(
            informatics,
            purpose=PURPOSE,
            source_kind="upload",
            files=[upload("study.zip", zip_bytes(members))],
        )
    assert DeidJob.objects.count() == 0 and AuditEntry.objects.count() == before
    assert not (tmp_path / "evil").exists() and not (data_dir / "evil").exists()
    assert not list((data_dir / "deid").glob("*")), "no staging folder left behind"


def test_zip_with_a_symbolic_link_is_refused(data_dir, informatics) -> None:
    import io
    import stat
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("link.dcm")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(services.DeidJobError, match="symbolic link"):
        services.create_job(
            informatics,
            purpose=PURPOSE,
            source_kind="upload",
            files=[upload("x.zip", buffer.getvalue())],
        )
    assert DeidJob.objects.count() == 0


def test_upload_larger_than_the_limit_is_refused(data_dir, informatics, monkeypatch) -> None:
    monkeypatch.setenv("RADGOV_MAX_UPLOAD_MB", "1")
    bomb = zip_bytes({"big.dcm": bytes(3 * 1024 * 1024)})  # compresses to a few kB
    assert len(bomb) < 1024 * 1024
    with pytest.raises(services.DeidJobError, match="larger than 1 MB"):
        services.create_job(
            informatics, purpose=PURPOSE, source_kind="upload", files=[upload("b.zip", bomb)]
        )
    with pytest.raises(services.DeidJobError, match="larger than 1 MB"):
        services.create_job(
            informatics,
            purpose=PURPOSE,
            source_kind="upload",
            files=[upload("big.dcm", bytes(2 * 1024 * 1024))],
        )
    assert DeidJob.objects.count() == 0
    assert not list((data_dir / "deid").glob("*"))


def test_not_a_zip_is_refused(data_dir, informatics) -> None:
    with pytest.raises(services.DeidJobError, match="not a readable zip"):
        services.create_job(
            informatics,
            purpose=PURPOSE,
            source_kind="upload",
            files=[upload("x.zip", b"not a zip")],
        )


def test_non_dicom_file_fails_alone_and_the_job_is_done(
    root, informatics, huey_immediate, django_capture_on_commit_callbacks
) -> None:
    (root / "study" / "notes.txt").write_text("not DICOM")
    job = run_now(
        django_capture_on_commit_callbacks,
        user=informatics,
        source_kind="server_folder",
        source=str(root / "study"),
    )
    assert job.status == "done" and job.error == ""
    assert (job.files, job.ok, job.quarantined, job.failed) == (4, 2, 1, 1)
    failed = [f for f in job.report_data()["files"] if f["status"] == "failed"]
    assert [f["source"] for f in failed] == ["notes.txt"]
    assert "not a DICOM file" in failed[0]["reason"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["no-such-option"], "unknown de-identification option"),
        (
            ["retain-longitudinal-full-dates", "retain-longitudinal-modified-dates"],
            "exclude each other",
        ),
        (["clean-recognizable-visual-features"], "cannot perform"),
        (["clean-pixel-data"], "site rules \\(pixel masks\\)"),
    ],
)
def test_bad_options_are_refused(root, informatics, options, message) -> None:
    with pytest.raises(services.DeidJobError, match=message):
        services.create_job(
            informatics,
            purpose=PURPOSE,
            source_kind="server_folder",
            source="study",
            options=options,
        )
    assert DeidJob.objects.count() == 0


def test_purpose_is_required(root, informatics) -> None:
    with pytest.raises(services.DeidJobError, match="purpose"):
        services.create_job(informatics, purpose="  ", source_kind="server_folder", source="study")


def test_progress_is_saved_in_batches(root, informatics, monkeypatch) -> None:
    """Each save is an audit entry: 12 files with a batch of 5 give 2 progress saves."""
    for i in range(9):
        (root / "study" / f"ct{i}.dcm").write_bytes(dicom_bytes("CT_small.dcm"))
    monkeypatch.setattr(services, "PROGRESS_FILES", 5)
    monkeypatch.setattr(services, "PROGRESS_SECONDS", 3600.0)
    job = services.create_job(
        informatics, purpose=PURPOSE, source_kind="server_folder", source="study"
    )
    services.run_job(job.pk)
    updates = AuditEntry.objects.filter(
        action="update", object_type="compliance.deidjob", object_id=str(job.pk)
    )
    progress = [e for e in updates if "files" in e.changes and "status" not in e.changes]
    assert [e.changes["files"][1] for e in progress] == [5, 10]
    job.refresh_from_db()
    assert job.status == "done" and job.files == 12


def test_failure_of_the_whole_run_marks_the_job_failed_then_requeue(
    root, informatics, huey_immediate, django_capture_on_commit_callbacks
) -> None:
    job = services.create_job(
        informatics, purpose=PURPOSE, source_kind="server_folder", source="study"
    )
    (root / "study").rename(root / "moved")
    job = services.run_job(job.pk)
    assert job is not None and job.status == "failed"
    assert job.error == "the source folder no longer exists on the server"
    assert str(root) not in job.error
    (root / "moved").rename(root / "study")
    with django_capture_on_commit_callbacks(execute=True):
        services.requeue_job(informatics, job)
    job.refresh_from_db()
    assert job.status == "done" and job.attempt == 2 and job.ok == 2
    with pytest.raises(services.DeidJobError, match="done"):
        services.requeue_job(informatics, job)


def test_a_job_left_running_by_a_crashed_worker_can_be_requeued(
    root, informatics, huey_immediate, django_capture_on_commit_callbacks
) -> None:
    job = services.create_job(
        informatics, purpose=PURPOSE, source_kind="server_folder", source="study"
    )
    services._start(job.pk)  # a worker took it, then died
    with pytest.raises(services.DeidJobError, match="less than 10 minutes"):
        services.requeue_job(informatics, job)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        with django_capture_on_commit_callbacks(execute=True):
            services.requeue_job(informatics, job)
    job.refresh_from_db()
    assert job.status == "done" and job.attempt == 2
    # the crashed attempt cannot write over the new one
    with pytest.raises(services.Superseded):
        services._save_progress(job.pk, 1, {"ok": 1})
    assert services.run_job(job.pk) is None, "a finished job is not run again"


def test_deidentify_for_takes_a_root_or_an_app_folder(root, data_dir, informatics) -> None:
    job = services.deidentify_for(informatics, purpose=PURPOSE, source_folder=root / "study")
    assert job.source_kind == "server_folder"
    app = data_dir / "evaluation" / "import-7"
    app.mkdir(parents=True)
    (app / "CT_small.dcm").write_bytes(dicom_bytes("CT_small.dcm"))
    job = services.deidentify_for(informatics, purpose=PURPOSE, source_folder=app)
    assert job.source_kind == "app_folder" and job.source == "evaluation/import-7"
    finished = services.run_job(job.pk)
    assert finished is not None and finished.status == "done" and finished.ok == 1
    assert app.exists(), "an app's folder is not deleted"
    for refused in (data_dir, data_dir / "deid", data_dir.parent):
        with pytest.raises(services.DeidJobError):
            services.deidentify_for(informatics, purpose=PURPOSE, source_folder=refused)


def test_report_json_is_the_engines(
    root, informatics, huey_immediate, django_capture_on_commit_callbacks
) -> None:
    job = run_now(
        django_capture_on_commit_callbacks,
        user=informatics,
        source_kind="server_folder",
        source="study",
    )
    data = json.loads(job.report)
    assert set(data) == {"summary", "files"}
    assert data["summary"]["standard"].startswith("DICOM PS3.15")


def test_an_input_left_behind_by_a_stopped_worker_is_deleted_later(
    data_dir, informatics, monkeypatch
) -> None:
    from radgov.compliance.tasks import delete_finished_deid_inputs

    job = services.create_job(
        informatics,
        purpose=PURPOSE,
        source_kind="upload",
        files=[upload("CT_small.dcm", dicom_bytes("CT_small.dcm"))],
    )
    with monkeypatch.context() as m:
        m.setattr(services, "delete_input", lambda job: False)  # the worker stopped here
        job = services.run_job(job.pk)
    assert job is not None and job.status == "done" and not job.input_deleted
    assert job.input_path is not None and job.input_path.exists()
    assert delete_finished_deid_inputs.call_local() == 1
    job.refresh_from_db()
    assert job.input_deleted and not job.input_path.exists()
    assert delete_finished_deid_inputs.call_local() == 0


def test_a_job_that_de_identified_nothing_failed_with_the_reason(
    root, informatics, huey_immediate, django_capture_on_commit_callbacks, tmp_path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("not DICOM")
    (notes / "b.pdf").write_bytes(b"%PDF-1.4 not DICOM either")
    inside = root / "notes"
    inside.mkdir()
    for f in notes.iterdir():
        (inside / f.name).write_bytes(f.read_bytes())
    job = run_now(
        django_capture_on_commit_callbacks,
        user=informatics,
        source_kind="server_folder",
        source=str(inside),
    )
    assert job.status == "failed"
    assert (job.files, job.ok, job.quarantined, job.failed) == (2, 0, 0, 2)
    assert job.error == "nothing was de-identified: 2 of 2 files are not DICOM files"
    assert job.report_data()["summary"]["failed"] == 2  # the report says why, file by file
