"""Issue 11 item 9: a refusal message may repeat what the user sent (a file name, a cell
value) to that user, but the audit trail, which cannot be changed afterwards, and the logs
never hold it.  A name that looks like a patient's is uploaded everywhere a file is taken;
it must reach no audit entry and no log line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from tests.evaluation import test_services
from tests.evaluation.test_services import cases_file, locked_protocol
from tests.factories import client_for, make_user, problem

pytestmark = pytest.mark.django_db

world = test_services.world
_quick_passwords = test_services._quick_passwords
CANARY = "DOE_JANE_MRN0012345"


def _trail() -> str:
    return "\n".join(
        f"{e.actor_name} {e.object_id} {e.detail_json} {e.changes_json}"
        for e in AuditEntry.objects.all()
    )


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def test_a_cases_file_name_reaches_the_user_but_not_the_trail(
    world: dict[str, Any],
    tmp_path: Path,
    logs: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "immediate", True)  # the worker runs each job as it is queued
    protocol = locked_protocol(world)
    client = client_for(world["scientist"])
    url = f"/api/evaluation/protocols/{protocol.pk}/runs"
    wrong = SimpleUploadedFile(f"{CANARY}.xlsx", b"not a table")
    assert CANARY in problem(client.post(url, {"cases": wrong}), 422)  # the sender sees it
    bad_cell = tmp_path / f"{CANARY}-cells.csv"
    bad_cell.write_text(
        "case_id,label,ai_score,sex,age,manufacturer\nA,1,0.9,F,40,GE\nB,Q17X,0.1,M,50,GE\n"
    )
    with bad_cell.open("rb") as fh, django_capture_on_commit_callbacks(execute=True):
        queued = client.post(url, {"cases": fh})
    job = client.get(queued["Location"]).json()
    assert job["status"] == "failed" and "Q17X" in job["error"]  # its owner reads why
    good = cases_file(tmp_path, f"{CANARY}.csv")
    with good.open("rb") as fh, django_capture_on_commit_callbacks(execute=True):
        queued = client.post(url, {"cases": fh})
    assert client.get(queued["Location"]).json()["status"] == "done"
    trail = _trail()
    assert AuditEntry.objects.filter(action="denied").count() >= 1
    assert CANARY not in trail and "Q17X" not in trail
    assert CANARY not in logs.text and "Q17X" not in logs.text


def test_an_ifu_file_name_stays_out_of_the_trail(
    world: dict[str, Any], logs: pytest.LogCaptureFixture
) -> None:
    client = client_for(make_user("ifu-informatics", role=Role.INFORMATICS))
    version = world["deployment"].model_version
    url = f"/api/inventory/versions/{version.pk}/documents"
    fake = SimpleUploadedFile(f"{CANARY}.pdf", b"plain text, not a PDF")
    response = client.post(url, {"kind": "ifu", "version_label": "1", "file": fake})
    assert CANARY in problem(response, 422)
    assert CANARY not in _trail() and CANARY not in logs.text


def test_for_the_record_withholds_quoted_values_only() -> None:
    from radgov.core.problems import for_the_record

    said = "the cases file 'DOE, Jane.csv' cannot be used: column \"mrn\" of the protocol's data"
    assert for_the_record(said) == (
        "the cases file '…' cannot be used: column '…' of the protocol's data"
    )
    assert for_the_record("IV.E.2: the protocol must be locked") == (
        "IV.E.2: the protocol must be locked"
    )
