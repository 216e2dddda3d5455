"""A reviewed AI result reaches a real Orthanc as a DICOM SR TID 1500 (issue 16): stored by
C-STORE, read back through Orthanc's REST API, its content tree checked, dcmtk's dsrdump
reads it, and the audit trail still verifies."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from pydicom import dcmread

from radgov.core.audit.verify import verify_trail
from radgov.core.roles import Role
from radgov.exams.models import Inference
from radgov.exams.services import delivery
from tests.exams.peers import get, items, running_orthanc
from tests.exams.review_world import accepted_by_trained

pytestmark = [pytest.mark.django_db, pytest.mark.peer("orthanc", "dsrdump")]


@pytest.fixture
def orthanc(tmp_path: Path) -> Iterator[tuple[str, int]]:
    with running_orthanc(tmp_path) as found:
        yield found


def test_orthanc_holds_the_reviewed_sr(people, practice, writer, orthanc, tmp_path) -> None:
    base, port = orthanc
    delivery.set_destination(writer, "dicom_sr", host="127.0.0.1", port=port, called_ae="ORTHANC")
    assert delivery.probe_destination(writer, "dicom_sr").words == "C-ECHO answered"
    inferred = Inference.objects.get(status="inferred")
    accepted_by_trained(people[Role.PHYSICIAN], inferred)
    assert delivery.deliver_pending(writer) == 1  # the SR; the RIS and EMR are not configured

    (instance,) = json.loads(get(f"{base}/instances"))
    data = get(f"{base}/instances/{instance}/file")
    sr = dcmread(BytesIO(data))
    sent = inferred.deliveries.get(standard="dicom_sr")
    assert sent.status == "delivered" and sr.SOPInstanceUID == sent.message_id
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    texts = {
        i.ConceptNameCodeSequence[0].CodeMeaning: getattr(i, "TextValue", None) for i in items(sr)
    }
    assert (
        texts["Algorithm Name"] == "NeuroTriage ICH"
        and "reviewed and accepted" in texts["Comment"].lower()
    )
    assert [str(i.PersonName) for i in items(sr) if i.ValueType == "PNAME"] == ["exams-physician^"]
    path = tmp_path / "sr.dcm"
    path.write_bytes(data)
    dumped = subprocess.run(["dsrdump", str(path)], capture_output=True, text=True, check=False)
    assert dumped.returncode == 0 and "intracranial hemorrhage" in dumped.stdout
    assert verify_trail(record_use=False).ok
