"""The listener over a real socket: dcmtk's storescu sends a small CT study from a registered
peer (stored, acknowledged, the SHA-256 of what was sent, then routed), and an unregistered
calling AE title is rejected with a security alert.  One association each, a free port per
test (so per xdist worker), the server always shut down."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone
from pydicom.filereader import read_preamble

from radgov.core import machines
from radgov.core.models import AuditEntry
from radgov.exams.models import Inference
from radgov.gateway import services
from radgov.gateway.listener import Listener
from radgov.gateway.models import Instance
from tests.gateway.conftest import SITE, ct, deployment, new_uid

pytestmark = [pytest.mark.peer("storescu"), pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def storescu(port: int, calling: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - dcmtk's storescu, our arguments
        ["storescu", "-aet", calling, "-aec", "RADGOV", "127.0.0.1", str(port), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def dataset_bytes(path: Path) -> bytes:
    """The dataset of a Part 10 file, after its File Meta Information."""
    data = path.read_bytes()
    group_length = int.from_bytes(data[140:144], "little")  # (0002,0000) UL, explicit VR
    return data[144 + group_length :]


def test_storescu_sends_a_study_that_is_stored_acknowledged_and_routed(tmp_path) -> None:
    machines.register(
        None,
        kind="dicom_peer",
        name="dicom:CT_MAIN",
        ae_title="CT_MAIN",
        address="127.0.0.1",
        grants=["gateway.store"],
    )
    deployment("HeadTriage", {"modalities": ["CT"], "body_parts": ["HEAD"]})
    deployment("ChestNodule", {"body_parts": ["CHEST"]})
    files = []
    for n in range(3):
        path = tmp_path / f"ct{n}.dcm"
        ct(new_uid()).save_as(path, enforce_file_format=True)
        with path.open("rb") as fh:
            read_preamble(fh, force=False)  # a Part 10 file, as a modality writes it
        files.append(path)
    spool = tmp_path / "spool"
    server = Listener(port=free_port(), base=spool, site=SITE)
    server.start()
    try:
        sent = storescu(server.port, "CT_MAIN", files)
        refused = storescu(server.port, "STRANGER", files[:1])
    finally:
        server.stop()
    assert sent.returncode == 0, sent.stderr
    assert refused.returncode != 0 and "Rejected" in refused.stderr + refused.stdout
    stored = {i.sha256 for i in Instance.objects.all()}
    assert stored == {hashlib.sha256(dataset_bytes(p)).hexdigest() for p in files}
    assert all((spool / i.file_ref).is_file() for i in Instance.objects.all())
    alert = AuditEntry.objects.get(event_code="110113")
    assert (alert.detail["calling_ae"], alert.outcome, alert.channel) == (
        "STRANGER",
        "failure",
        "dicom",
    )
    later = timezone.now() + dt.timedelta(seconds=31)
    [study] = services.complete_quiet_studies(now=later, quiet_seconds=30, base=spool)
    assert study.instance_count == 3
    assert sorted(Inference.objects.values_list("status", flat=True)) == ["excluded", "queued"]
