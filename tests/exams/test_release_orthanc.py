"""A reviewed AI result reaches a real Orthanc as a DICOM SR TID 1500 (issue 16): stored by
C-STORE, read back through Orthanc's REST API, its content tree checked, dcmtk's dsrdump
reads it, and the audit trail still verifies."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread

from radgov.core.audit.verify import verify_trail
from radgov.core.roles import Role
from radgov.exams.models import Inference
from radgov.exams.services import delivery
from tests.exams.review_world import accepted_by_trained
from tests.integration.serving import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.peer("orthanc", "dsrdump")]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a localhost URL
        return bytes(response.read())


@pytest.fixture
def orthanc(tmp_path: Path) -> Any:
    http, dicom = free_port(), free_port()
    config = {
        "Name": "radgov-test",
        "StorageDirectory": str(tmp_path / "db"),
        "IndexDirectory": str(tmp_path / "db"),
        "HttpPort": http,
        "DicomPort": dicom,
        "DicomAet": "ORTHANC",
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [],
        "SaveJobs": False,
    }
    (tmp_path / "orthanc.json").write_text(json.dumps(config))
    proc = subprocess.Popen(
        ["Orthanc", str(tmp_path / "orthanc.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{http}"
    try:
        deadline = time.monotonic() + 15
        while True:  # Orthanc answers within a fraction of a second
            try:
                _get(f"{base}/system")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield base, dicom
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _items(ds: Any) -> Any:
    for item in ds.get("ContentSequence", []):
        yield item
        yield from _items(item)


def test_orthanc_holds_the_reviewed_sr(people, practice, writer, orthanc, tmp_path) -> None:
    base, port = orthanc
    delivery.set_destination(writer, "dicom_sr", host="127.0.0.1", port=port, called_ae="ORTHANC")
    assert delivery.probe_destination(writer, "dicom_sr").words == "C-ECHO answered"
    inferred = Inference.objects.get(status="inferred")
    accepted_by_trained(people[Role.PHYSICIAN], inferred)
    assert delivery.deliver_pending(writer) == 1  # the SR; the RIS and EMR are not configured

    (instance,) = json.loads(_get(f"{base}/instances"))
    data = _get(f"{base}/instances/{instance}/file")
    sr = dcmread(BytesIO(data))
    sent = inferred.deliveries.get(standard="dicom_sr")
    assert sent.status == "delivered" and sr.SOPInstanceUID == sent.message_id
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    texts = {
        i.ConceptNameCodeSequence[0].CodeMeaning: getattr(i, "TextValue", None) for i in _items(sr)
    }
    assert (
        texts["Algorithm Name"] == "NeuroTriage ICH"
        and "reviewed and accepted" in texts["Comment"].lower()
    )
    assert [str(i.PersonName) for i in _items(sr) if i.ValueType == "PNAME"] == ["exams-physician^"]
    path = tmp_path / "sr.dcm"
    path.write_bytes(data)
    dumped = subprocess.run(["dsrdump", str(path)], capture_output=True, text=True, check=False)
    assert dumped.returncode == 0 and "intracranial hemorrhage" in dumped.stdout
    assert verify_trail(record_use=False).ok
