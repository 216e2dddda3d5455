"""Fixtures for de-identification jobs: a private data folder, an allowed root holding a few
of pydicom's test files, and Huey in immediate mode (tasks run when they are queued)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from pydicom.data import get_testdata_file

from radgov.core.roles import Role
from tests.factories import make_user

# Two images that pass, one ultrasound image that is quarantined for burned-in text.
TEST_FILES = {"CT_small.dcm": "ok", "MR_small.dcm": "ok", "US1_UNCR.dcm": "quarantined"}


def job_pages(pk: int) -> list[tuple[str, str]]:
    """The pages of one de-identification job: (method, url)."""
    return [
        ("get", reverse("compliance:deid_job", args=[pk])),
        ("get", reverse("compliance:deid_job_status", args=[pk])),
        ("get", reverse("compliance:deid_report", args=[pk])),
        ("get", reverse("compliance:deid_report_json", args=[pk])),
        ("get", reverse("compliance:deid_output", args=[pk])),
        ("post", reverse("compliance:deid_requeue", args=[pk])),
    ]


def dicom_bytes(name: str) -> bytes:
    return Path(get_testdata_file(name)).read_bytes()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("RADGOV_DATA_DIR", str(folder))
    # one process per job: a pool for three files only slows the suite on a shared machine
    # (test_deid_site_work runs a job with the default pool)
    monkeypatch.setenv("RADGOV_DEID_JOBS", "1")
    return folder


@pytest.fixture
def root(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The one allowed root (RADGOV_DEID_ROOTS), holding study/ with the test files."""
    folder = tmp_path / "pacs-export"
    (folder / "study").mkdir(parents=True)
    for name in TEST_FILES:
        (folder / "study" / name).write_bytes(dicom_bytes(name))
    monkeypatch.setenv("RADGOV_DEID_ROOTS", str(folder))
    return folder


@pytest.fixture
def huey_immediate() -> Iterator[None]:
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    try:
        yield
    finally:
        HUEY.immediate = before


@pytest.fixture
def informatics(db):  # type: ignore[no-untyped-def]
    return make_user("deid-informatics", role=Role.INFORMATICS)


@pytest.fixture
def quick_passwords(settings: Any) -> None:
    """Accounts here are made by the handful; their password hashing is not under test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def officer(db: Any, quick_passwords: None) -> Any:
    """The privacy officer: the compliance role."""
    return make_user("privacy-officer", role=Role.COMPLIANCE)


def lost_laptop(officer: Any, discovered_on: dt.date) -> Any:
    """An incident with no one's reads behind it, discovered on ``discovered_on``."""
    from radgov.compliance.incident_services import open_incident

    now = timezone.now()
    return open_incident(
        officer, title="A lost laptop", what="an unencrypted laptop", discovered_on=discovered_on,
        discovered_by="it", actor_names=["nobody"], window_start=now, window_end=now,
    )  # fmt: skip
