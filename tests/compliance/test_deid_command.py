"""``radgov deid``: arguments, key, report, mapping and exit codes; the run is a console job
with its audit entries, through the same service as a job from a page or the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from pydicom.data import get_testdata_file

from radgov.accounts import services as accounts
from radgov.compliance import selectors
from radgov.compliance.models import DeidJob
from radgov.compliance.services import requeue_refusal
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.dicom.deid.mapping import read_mapping
from tests.factories import client_for, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "deid.key"
    path.write_bytes(bytes(range(48)))
    return path


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    (folder / "study").mkdir(parents=True)
    for name in ("CT_small.dcm", "MR_small.dcm"):
        (folder / "study" / name).write_bytes(Path(get_testdata_file(name)).read_bytes())
    (folder / "study" / "us.dcm").write_bytes(Path(get_testdata_file("US1_UNCR.dcm")).read_bytes())
    return folder


def test_deid_writes_tree_report_and_mapping(src, tmp_path, key_file, capsys):
    report, mapping = tmp_path / "report.json", tmp_path / "map.bin"
    call_command(
        "deid", str(src), str(tmp_path / "dst"), "--key-file", str(key_file),
        "--report", str(report), "--mapping", str(mapping), "--no-progress",
        "--option", "retain-longitudinal-modified-dates",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "3 files: 2 de-identified, 1 quarantined for review, 0 failed" in out
    data = json.loads(report.read_text())
    assert data["summary"]["options"] == ["retain-longitudinal-modified-dates"]
    assert {f["status"] for f in data["files"]} == {"ok", "quarantined"}
    assert "study" not in report.read_text() and "CT_small" not in report.read_text()
    table = read_mapping(mapping, key_file.read_bytes())
    outputs = {table["sources"][f["source_ref"]]: f["output"] for f in data["files"]}
    ct = pydicom.dcmread(tmp_path / "dst" / outputs["study/CT_small.dcm"])
    assert ct.PatientIdentityRemoved == "YES"
    assert outputs["study/us.dcm"].startswith("_quarantine/")
    assert (tmp_path / "dst" / outputs["study/us.dcm"]).exists()
    original = pydicom.dcmread(src / "study" / "CT_small.dcm")
    assert table["uids"][original.SOPInstanceUID] == ct.SOPInstanceUID
    offsets = {p["date_offset_days"] for p in table["patients"].values()}
    assert all(-730 <= o <= -1 for o in offsets)


def test_the_run_is_a_console_job_with_its_audit_entries(src, tmp_path, key_file, capsys):
    """The command records what it does as the web job does: the job, the import, the
    progress, acting as the operator at the console, with counts and no path."""
    call_command(
        "deid", str(src), str(tmp_path / "dst"), "--key-file", str(key_file), "--no-progress",
        "--purpose", "local acceptance testing of ICH triage v2", "--jobs", "2",
    )  # fmt: skip
    job = DeidJob.objects.get()
    assert f"recorded as de-identification job {job.pk}" in capsys.readouterr().out
    assert (job.source_kind, job.status, job.created_by) == ("console", "done", None)
    assert (job.ok, job.quarantined, job.failed) == (2, 1, 0)
    assert job.purpose == "local acceptance testing of ICH triage v2"
    assert json.loads(job.report)["summary"]["jobs"] == 2
    assert set(job.report_data()["files"][0]) >= {"source", "source_ref", "output"}
    entries = AuditEntry.objects.filter(object_type="compliance.deidjob", object_id=str(job.pk))
    assert {e.channel for e in entries} == {"cli"}
    assert {"create", "import", "update"} <= {e.action for e in entries}
    imported = entries.get(action="import")
    assert imported.detail["files"] == 3 and imported.actor_id is None
    trail = " ".join(e.detail_json + e.changes_json for e in entries)
    assert str(src) not in trail and "CT_small" not in trail
    # compliance oversees console jobs; nobody else sees them, nor may queue them again
    officer = make_user("privacy-officer", role=Role.COMPLIANCE)
    assert [j.pk for j in selectors.jobs_for(officer)] == [job.pk]
    assert not selectors.jobs_for(make_user("informatics", role=Role.INFORMATICS)).exists()
    page = client_for(officer).get(reverse("compliance:deid_job", args=[job.pk]))
    assert page.status_code == 200 and "console operator" in page.content.decode()
    assert "Queue again" not in page.content.decode()
    _, secret = accounts.create_token(officer, name="t")
    api = Client().get(f"/api/compliance/deid/jobs/{job.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.json()["created_by"] == "console operator"
    job.status = DeidJob.Status.FAILED  # as a run that stopped leaves it
    assert "run again with radgov deid" in (requeue_refusal(job) or "")


def test_no_mapping_unless_asked(src, tmp_path, key_file):
    call_command(
        "deid", str(src), str(tmp_path / "dst"), "--key-file", str(key_file), "--no-progress"
    )
    assert not any(p.suffix == ".bin" for p in tmp_path.rglob("*"))


def test_failed_files_give_exit_code_1(src, tmp_path, key_file):
    (src / "junk.dcm").write_text("not dicom")
    with pytest.raises(CommandError) as info:
        call_command(
            "deid", str(src), str(tmp_path / "dst"), "--key-file", str(key_file), "--no-progress"
        )
    assert info.value.returncode == 1
    assert len(list((tmp_path / "dst").rglob("*.dcm"))) == 3  # the run went on


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--option", "retain-everything"], "unknown de-identification option"),
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--config", "/nonexistent/site.yaml"], "cannot read the configuration file"),
    ],
)
def test_usage_errors_give_exit_code_2(src, tmp_path, key_file, extra, message):
    with pytest.raises(CommandError, match=message) as info:
        call_command(
            "deid",
            str(src),
            str(tmp_path / "dst"),
            "--key-file",
            str(key_file),
            "--no-progress",
            *extra,
        )
    assert info.value.returncode == 2


def test_short_key_file_is_refused(src, tmp_path):
    short = tmp_path / "short.key"
    short.write_bytes(b"x" * 31)
    with pytest.raises(CommandError, match="holds 31 bytes; at least 32") as info:
        call_command("deid", str(src), str(tmp_path / "dst"), "--key-file", str(short))
    assert info.value.returncode == 2
    assert not (tmp_path / "dst").exists()
    assert not DeidJob.objects.exists(), "a refused run records no job"


def test_console_script_exit_codes_and_help(src, tmp_path, key_file):
    radgov = Path(sys.executable).with_name("radgov")
    # a database of its own (SQLite in a data folder of its own): the run is recorded there
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["RADGOV_DATA_DIR"] = str(tmp_path / "data")
    help_text = subprocess.run([radgov, "deid", "--help"], capture_output=True, text=True)
    assert help_text.returncode == 0
    assert "quarantined is not a failure" in " ".join(help_text.stdout.split())
    unready = subprocess.run(
        [radgov, "deid", str(src), str(tmp_path / "dst0"), "--key-file", str(key_file)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert unready.returncode == 2 and "run radgov migrate" in unready.stderr
    assert not (tmp_path / "dst0").exists(), "nothing is de-identified unless it is recorded"
    migrate = subprocess.run([radgov, "migrate", "-v0"], capture_output=True, text=True, env=env)
    assert migrate.returncode == 0, migrate.stderr
    ok = subprocess.run(
        [
            radgov,
            "deid",
            str(src),
            str(tmp_path / "dst"),
            "--key-file",
            str(key_file),
            "--jobs",
            "2",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    (src / "junk.dcm").write_text("not dicom")
    failed = subprocess.run(
        [
            radgov,
            "deid",
            str(src),
            str(tmp_path / "dst2"),
            "--key-file",
            str(key_file),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert failed.returncode == 1
    usage = subprocess.run([radgov, "deid", str(src)], capture_output=True, text=True)
    assert usage.returncode == 2


def test_key_comes_from_the_key_store_without_key_file(src, tmp_path, key_file, monkeypatch):
    from radgov.core import keys

    monkeypatch.setenv("RADGOV_KEY_FILE", str(tmp_path / "keys.json"))
    keys.clear_cache()
    try:
        for name in ("a", "b"):
            call_command("deid", str(src), str(tmp_path / name), "--no-progress")
        call_command(
            "deid", str(src), str(tmp_path / "c"), "--key-file", str(key_file), "--no-progress"
        )
    finally:
        keys.clear_cache()
    uids = {name: sorted(p.name for p in (tmp_path / name).rglob("*.dcm")) for name in "abc"}
    assert uids["a"] == uids["b"] != uids["c"]


def test_without_config_the_command_takes_the_site_rules_pages_use(
    src, tmp_path, key_file, monkeypatch
):
    site = tmp_path / "site.yaml"
    site.write_text('replace: {InstitutionName: "RESEARCH SITE"}\n')
    monkeypatch.setenv("RADGOV_DEID_CONFIG", str(site))
    report = tmp_path / "report.json"
    call_command(
        "deid", str(src), str(tmp_path / "dst"), "--key-file", str(key_file),
        "--report", str(report), "--no-progress",
    )  # fmt: skip
    assert json.loads(report.read_text())["summary"]["site_rules"]["replace"] == 1
    names = {pydicom.dcmread(p).get("InstitutionName") for p in (tmp_path / "dst").rglob("*.dcm")}
    assert "RESEARCH SITE" in names

    site.write_text("replace: [not, a, mapping]\n")  # a broken site file stops the run first
    with pytest.raises(CommandError):
        call_command(
            "deid", str(src), str(tmp_path / "dst2"), "--key-file", str(key_file), "--no-progress"
        )
    assert not (tmp_path / "dst2").exists()
