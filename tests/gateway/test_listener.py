"""The whole loop over real sockets: dcmtk's storescu sends a small CT study from a
registered peer (stored, acknowledged, the SHA-256 of what was sent); it is routed to the
deployment whose criteria admit it and excluded from the other; sent to the simulated model
node, whose SR comes back through the same listener; the study's page shows received ->
queued -> sent -> inferred with the score.  An unregistered calling AE title is rejected
with a security alert.  Free ports (so per xdist worker), servers always shut down."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from pydicom.filereader import read_preamble
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE

from radgov.core import machines, processes
from radgov.core.context import ActingContext, acting_as
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.exams.models import Inference
from radgov.gateway import delivery, endpoints, services
from radgov.gateway.listener import Listener, _Server
from radgov.gateway.models import Association, Instance
from tests.exams.review_world import add_end_user
from tests.factories import client_for, make_user
from tests.gateway.conftest import (
    SITE,
    ct,
    deployment,
    dicom_peers,
    free_port,
    listener_and_model,
    new_uid,
    storescu_args,
)
from tests.integration.serving import wait_until

pytestmark = [pytest.mark.peer("storescu"), pytest.mark.django_db(transaction=True)]


def storescu(port: int, calling: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - dcmtk's storescu, our arguments
        storescu_args(port, calling, files),
        capture_output=True,
        text=True,
        timeout=600,  # above storescu's own 120 s timeouts, which say what went wrong
        check=False,
    )


def dataset_bytes(path: Path) -> bytes:
    """The dataset of a Part 10 file, after its File Meta Information."""
    data = path.read_bytes()
    group_length = int.from_bytes(data[140:144], "little")  # (0002,0000) UL, explicit VR
    return data[144 + group_length :]


def test_storescu_sends_a_study_that_is_stored_acknowledged_and_routed(tmp_path) -> None:
    dicom_peers("CT_MAIN", "DEMO_AI")
    head = deployment("HeadTriage", {"modalities": ["CT"], "body_parts": ["HEAD"]})
    deployment("ChestNodule", {"body_parts": ["CHEST"]})
    files = []
    for n in range(3):
        path = tmp_path / f"ct{n}.dcm"
        ct(new_uid()).save_as(path, enforce_file_format=True)
        with path.open("rb") as fh:
            read_preamble(fh, force=False)  # a Part 10 file, as a modality writes it
        files.append(path)
    spool = tmp_path / "spool"
    with listener_and_model(spool) as (server, node):
        sent = storescu(server.port, "CT_MAIN", files)
        refused = storescu(server.port, "STRANGER", files[:1])
        later = timezone.now() + dt.timedelta(seconds=31)
        [study] = services.complete_quiet_studies(now=later, quiet_seconds=30, base=spool)
        with acting_as(ActingContext(channel="cli")):
            endpoints.set_endpoint(None, head, ae_title="DEMO_AI", host="127.0.0.1", port=node.port)
        [route] = delivery.send_queued(base=spool)
        assert node.answered.acquire(timeout=20), "the simulated node did not answer"
    assert sent.returncode == 0, sent.stderr
    assert refused.returncode != 0 and "Rejected" in refused.stderr + refused.stdout
    stored = {i.sha256 for i in Instance.objects.filter(is_result=False)}
    assert stored == {hashlib.sha256(dataset_bytes(p)).hexdigest() for p in files}
    assert all((spool / i.file_ref).is_file() for i in Instance.objects.all())
    log = {(a.calling_ae, a.accepted): a for a in Association.objects.all()}
    assert (log["CT_MAIN", True].stored, log["CT_MAIN", True].ended) == (3, "released")
    assert log["STRANGER", False].reason.startswith("not a registered DICOM peer")
    # an end is written by the listener's recorder, in a batch entry naming its row; a
    # refusal, before the peer was told, in an entry of its own
    entries = AuditEntry.objects.filter(event_code="110108", object_type="gateway.association")
    batched = [
        pk
        for entry in entries
        if "batch" in entry.detail
        for low, high in entry.detail["batch"]["rows"]["gateway.association"]
        for pk in range(low, high + 1)
    ]
    assert log["CT_MAIN", True].pk in batched
    assert str(log["STRANGER", False].pk) in {e.object_id for e in entries}
    admin = client_for(make_user("gw-admin", role=Role.ADMINISTRATOR))
    listed = admin.get(reverse("gateway:associations")).content.decode()
    assert "STRANGER" in listed and "dicom:CT_MAIN" in listed
    alert = AuditEntry.objects.get(event_code="110113")
    assert (alert.detail["calling_ae"], alert.outcome, alert.channel) == (
        "STRANGER",
        "failure",
        "dicom",
    )
    assert study.instance_count == 3 and route.sent_at is not None
    excluded = Inference.objects.get(status="excluded")
    assert "BodyPartExamined 'HEAD' is not one of CHEST" in excluded.reason
    inferred = Inference.objects.get(deployment=head)
    assert inferred.status == "inferred" and 0 <= inferred.score < 0.5  # dark 8x8 images
    assert [c.to_status for c in inferred.history.all()] == [
        "received",
        "queued",
        "sent",
        "inferred",
    ]
    reader = make_user("gw-reader", role=Role.PHYSICIAN)
    add_end_user(head, reader)  # its reviewer: the policy shows them the output before review
    page = client_for(reader).get(reverse("exams:study", args=[study.exam_id]))
    text = page.content.decode()
    assert page.status_code == 200 and "Inferred" in text and f"{inferred.score:g}"[:4] in text


def test_a_registered_peer_off_the_approved_dicom_networks_is_rejected(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("RADGOV_DICOM_NETWORKS", "10.1.2.0/24")  # 127.0.0.1 is not on it
    machines.register(
        None,
        kind="dicom_peer",
        name="dicom:CT_MAIN",
        ae_title="CT_MAIN",
        address="127.0.0.1",
        grants=["gateway.store"],
    )
    path = tmp_path / "ct.dcm"
    ct(new_uid()).save_as(path, enforce_file_format=True)
    server = Listener(port=free_port(), base=tmp_path / "spool", site=SITE)
    server.start()
    try:
        refused = storescu(server.port, "CT_MAIN", [path])
    finally:
        server.stop()
    assert refused.returncode != 0 and "Rejected" in refused.stderr + refused.stdout
    assert not Instance.objects.exists()
    (logged,) = Association.objects.all()
    assert not logged.accepted and "approved network" in logged.reason
    alert = AuditEntry.objects.get(event_code="110113")
    assert "approved network" in alert.detail["why"]


def _ct_association(port: int) -> Any:
    ae = AE(ae_title="CT_MAIN")
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title="RADGOV")
    assert assoc.is_established
    return assoc


def test_stop_lets_a_running_association_finish_and_refuses_new_ones(tmp_path) -> None:
    """``stop`` drains: the listener accepts no new association, but one already running
    goes on storing (each image answered with success, recorded) until it releases; only
    then does ``stop`` return, with its end logged.  Before the drain, pynetdicom's shutdown
    left it running with nothing to record its images (answered out of resources)."""
    dicom_peers("CT_MAIN")
    server = Listener(port=free_port(), base=tmp_path / "spool", site=SITE, drain_seconds=60)
    server.start()
    assoc = _ct_association(server.port)
    stopping = threading.Thread(target=server.stop)
    try:
        assert assoc.send_c_store(ct(new_uid())).Status == 0x0000
        stopping.start()
        assert wait_until(lambda: server.server is None, timeout=30)  # once the port closed
        late = AE(ae_title="CT_MAIN")
        late.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
        refused = late.associate("127.0.0.1", server.port, ae_title="RADGOV")
        assert not refused.is_established  # the port no longer listens
        assert stopping.is_alive()  # waiting for the running association
        assert assoc.send_c_store(ct(new_uid())).Status == 0x0000
        assert assoc.send_c_store(ct(new_uid())).Status == 0x0000
        assoc.release()
        stopping.join(timeout=30)
        assert not stopping.is_alive()
    finally:
        assoc.abort()
        if stopping.ident is not None:
            stopping.join(timeout=60)
    (logged,) = Association.objects.all()  # recorded before stop returned
    assert (logged.calling_ae, logged.stored, logged.ended) == ("CT_MAIN", 3, "released")
    assert Instance.objects.count() == 3


def test_stop_aborts_an_association_still_running_after_the_drain(tmp_path, caplog) -> None:
    """An association that outlasts ``drain_seconds`` is aborted: its sender learns at once
    (A-ABORT), the image it had acknowledged is recorded and its end logged as aborted."""
    dicom_peers("CT_MAIN")
    server = Listener(port=free_port(), base=tmp_path / "spool", site=SITE, drain_seconds=0.5)
    server.start()
    assoc = _ct_association(server.port)
    try:
        assert assoc.send_c_store(ct(new_uid())).Status == 0x0000
        with caplog.at_level("WARNING", logger="radgov.gateway"):
            server.stop()  # the sender is idle, neither releasing nor sending
        assert wait_until(lambda: assoc.is_aborted, timeout=30)
    finally:
        assoc.abort()
    assert "1 associations still running after 0.5 s were aborted" in caplog.text
    (logged,) = Association.objects.all()
    assert (logged.stored, logged.ended) == (1, "aborted")
    assert Instance.objects.count() == 1


def test_listeners_on_one_socket_share_associations_evenly(tmp_path, monkeypatch) -> None:
    """Two listeners accepting on one socket (as ``--processes 2`` does): four associations,
    each opened once the one before is up, end two and two, because a listener holding more
    connections waits longer before accepting.  Without that wait the first listener to wake
    took each (3 and 1 half the time); released, they are no longer counted."""
    monkeypatch.setattr(_Server, "accept_delay", 0.08)  # a margin a loaded machine keeps
    dicom_peers("CT_MAIN")
    shared = processes.listen("127.0.0.1", 0, who="test listener")
    port = shared.getsockname()[1]
    listeners = [
        Listener(port=port, sock=shared.dup(), base=tmp_path / "spool", recover=recover)
        for recover in (True, False)
    ]
    shared.close()
    for listener in listeners:
        listener.start()
    ae = AE(ae_title="CT_MAIN")
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    opened = []
    try:
        for _ in range(4):
            opened.append(ae.associate("127.0.0.1", port, ae_title="RADGOV"))
            assert opened[-1].is_established
            assert wait_until(
                lambda: sum(len(x.server.active_associations) for x in listeners) == len(opened),
                timeout=30,
            )
        assert sorted(listener.server.held() for listener in listeners) == [2, 2]
        for assoc in opened:
            assoc.release()
        assert wait_until(lambda: all(x.server.held() == 0 for x in listeners), timeout=30)
    finally:
        for assoc in opened:
            assoc.abort()
        for listener in listeners:
            listener.stop()
