"""A job from a page or the API runs as ``radgov deid`` does: with the site's rules
(``RADGOV_DEID_CONFIG``), ``RADGOV_DEID_JOBS`` processes and the re-identification table kept
encrypted; pydicom's validation modes are given back when the job ends."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pydicom.config
import pytest

from radgov.compliance import selectors, services
from radgov.compliance.deid_options import check_deid_settings
from radgov.compliance.models import DeidJob
from radgov.core.keys import derive_key
from radgov.core.roles import Role
from radgov.dicom.deid.mapping import read_mapping
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PURPOSE = "local acceptance testing of ICH triage v2"

SITE = """
replace: {InstitutionName: "RESEARCH SITE"}
pixel_masks:
  - {manufacturer: "ACME", model: "US-1", rows: 480, columns: 640, regions: [[0, 0, 640, 40]]}
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "deid-site.yaml"
    path.write_text(SITE)
    monkeypatch.setenv("RADGOV_DEID_CONFIG", str(path))
    return path


def _server_job(user, options=()):  # type: ignore[no-untyped-def]
    return services.create_job(
        user, purpose=PURPOSE, source_kind="server_folder", source="study", options=options
    )


def test_a_web_job_takes_the_site_rules_processes_and_keeps_the_mapping(
    root, site, informatics, monkeypatch
) -> None:
    monkeypatch.setenv("RADGOV_DEID_JOBS", "2")
    job = services.run_job(_server_job(informatics).pk)
    assert job is not None and job.status == "done", job and job.error
    report = job.report_data()
    assert report["summary"]["jobs"] == 2
    assert report["summary"]["site_rules"]["replace"] == 1
    outputs = {f["source"]: f["output"] for f in report["files"]}
    ct = pydicom.dcmread(job.output_path / outputs["CT_small.dcm"])
    assert ct.InstitutionName == "RESEARCH SITE"
    table = read_mapping(job.folder / services.MAPPING_NAME, derive_key("deid"))
    assert sorted(table["sources"].values()) == sorted(outputs)
    original = pydicom.dcmread(root / "study" / "CT_small.dcm")
    assert table["uids"][original.SOPInstanceUID] == ct.SOPInstanceUID
    assert (job.folder / services.MAPPING_NAME).stat().st_mode & 0o077 == 0


def test_options_acting_through_site_rules_need_them(root, informatics, monkeypatch) -> None:
    with pytest.raises(services.DeidJobError, match=r"pixel masks.*RADGOV_DEID_CONFIG"):
        _server_job(informatics, options=["clean-pixel-data"])
    (root / "site.yaml").write_text(SITE)
    monkeypatch.setenv("RADGOV_DEID_CONFIG", str(root / "site.yaml"))
    job = _server_job(informatics, options=["clean-pixel-data"])
    assert job.options == ["clean-pixel-data"]
    with pytest.raises(services.DeidJobError, match="safe-private list"):
        _server_job(informatics, options=["retain-safe-private"])


def test_a_broken_site_configuration_refuses_jobs_and_fails_queued_ones(
    root, site, informatics
) -> None:
    queued = _server_job(informatics)
    site.write_text("keep: [NoSuchKeyword]\n")
    with pytest.raises(services.DeidJobError, match=r"RADGOV_DEID_CONFIG\) is not valid"):
        _server_job(informatics)
    failed = services.run_job(queued.pk)
    assert failed is not None and failed.status == "failed"
    assert "NoSuchKeyword" in failed.error
    assert DeidJob.objects.count() == 1


def test_validation_modes_are_restored_after_a_job(root, informatics, monkeypatch) -> None:
    """The worker used to leave pydicom quiet for everything after (highdicom included)."""
    settings = pydicom.config.settings
    monkeypatch.setattr(settings, "reading_validation_mode", pydicom.config.WARN)
    monkeypatch.setattr(settings, "writing_validation_mode", pydicom.config.RAISE)
    job = services.run_job(_server_job(informatics).pk)
    assert job is not None and job.status == "done"
    assert settings.reading_validation_mode == pydicom.config.WARN
    assert settings.writing_validation_mode == pydicom.config.RAISE


def test_job_for_answers_nothing_to_anyone_but_the_owner_sharees_and_compliance(
    root, informatics
) -> None:
    job = _server_job(informatics)
    other = make_user("other-informatics", role=Role.INFORMATICS)
    assert selectors.job_for(other, job.pk) is None
    assert selectors.job_for(None, job.pk) is None
    assert selectors.job_for(informatics, job.pk) == job
    assert selectors.job_for(make_user("officer", role=Role.COMPLIANCE), job.pk) == job
    services.share_job(informatics, job, username=other.username)
    assert selectors.job_for(other, job.pk) == job
    informatics.is_active = False
    assert selectors.job_for(informatics, job.pk) is None
    assert not selectors.jobs_for(informatics).exists()


def test_the_system_check_refuses_a_broken_configuration(tmp_path, monkeypatch) -> None:
    assert check_deid_settings(None) == []
    (tmp_path / "site.yaml").write_text("keep: [NoSuchKeyword]\n")
    monkeypatch.setenv("RADGOV_DEID_CONFIG", str(tmp_path / "site.yaml"))
    monkeypatch.setenv("RADGOV_DEID_JOBS", "0")
    errors = check_deid_settings(None)
    assert [e.id for e in errors] == ["radgov.compliance.E002", "radgov.compliance.E003"]
    assert "NoSuchKeyword" in errors[0].msg
