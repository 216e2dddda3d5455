"""Review before release, end to end (issue 16's "Done when"): dcmtk's storescu sends a head
CT through the gateway to the simulated model node, whose result comes back; in Chromium the
radiologist, an end-user not yet trained, is refused with the reason; after training and
IFU attestation they accept it with a concordant read (their report stating it); the task
delivers the SR to a real Orthanc, the ORU to a small MLLP server and the FHIR bundle to a
local FHIR endpoint, each with the reviewed result; the audit trail has each step and
verifies."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from io import BytesIO, StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from pydicom import dcmread

from radgov.core.context import ActingContext, acting_as
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.exams.models import Inference
from radgov.exams.release import fhir, hl7
from radgov.exams.services import delivery as release
from radgov.gateway import delivery, endpoints, services
from tests.e2e.pages import follow, logged_in_page
from tests.exams.peers import get, items, running_orthanc, running_peers
from tests.exams.review_world import add_end_user, train
from tests.factories import make_user
from tests.gateway.conftest import ct, deployment, dicom_peers, listener_and_model, new_uid
from tests.gateway.test_listener import storescu

pytestmark = [
    pytest.mark.peer("chromium", "storescu", "orthanc"),
    pytest.mark.django_db(transaction=True),
]


def _through_the_gateway(tmp_path: Path) -> Inference:
    """Two CT images from CT_MAIN to the listener, routed to HeadTriage, sent to the
    simulated node, whose SR comes back as the inference's result."""
    dicom_peers("CT_MAIN", "DEMO_AI")
    head = deployment("HeadTriage", {"modalities": ["CT"], "body_parts": ["HEAD"]})
    files = []
    for n in range(2):
        path = tmp_path / f"ct{n}.dcm"
        ct(new_uid()).save_as(path, enforce_file_format=True)
        files.append(path)
    spool = tmp_path / "spool"
    with listener_and_model(spool) as (server, node):
        sent = storescu(server.port, "CT_MAIN", files)
        assert sent.returncode == 0, sent.stderr
        later = timezone.now() + dt.timedelta(seconds=31)
        services.complete_quiet_studies(now=later, quiet_seconds=30, base=spool)
        with acting_as(ActingContext(channel="cli")):
            endpoints.set_endpoint(None, head, ae_title="DEMO_AI", host="127.0.0.1", port=node.port)
        delivery.send_queued(base=spool)
        assert node.answered.acquire(timeout=20), "the simulated node did not answer"
    return Inference.objects.get(deployment=head, status="inferred")


def test_a_study_is_reviewed_in_the_browser_and_reaches_the_pacs_ris_and_emr(
    live_server, browser, shots, tmp_path
) -> None:
    inferred = _through_the_gateway(tmp_path)
    label = f"{inferred.deployment.model_version.product.name} result"  # the node names none

    doctor = make_user("dr.rivera", role=Role.PHYSICIAN, first_name="Ana", last_name="Rivera")
    add_end_user(inferred.deployment, doctor)
    page = logged_in_page(browser, live_server, doctor, width=1366, height=900)
    page.goto(f"{live_server.url}/exams/review/")
    follow(page.get_by_role("link", name=f"Study {inferred.exam_id}"))
    refused = page.locator("main").inner_text()
    assert "You cannot review this result: IV.F: dr.rivera has no current training" in refused
    assert page.get_by_role("button", name="Record the review").count() == 0
    page.screenshot(path=str(shots / "review-untrained.png"), full_page=True)

    train(doctor, inferred.deployment)  # a training record and the IFU attested
    page.reload()
    page.get_by_label("Accept", exact=True).check()
    page.get_by_label("Concordant with my read", exact=True).check()
    page.get_by_label("My report states the AI output").check()
    follow(page.get_by_role("button", name="Record the review"))
    assert "Your review is recorded." in page.locator("body").inner_text()
    inferred.refresh_from_db()
    assert inferred.status == "released"

    informatics = make_user("it-journey", role=Role.INFORMATICS)
    (tmp_path / "orthanc").mkdir()
    with (
        running_orthanc(tmp_path / "orthanc") as (base, dicom_port),
        running_peers() as (
            peers,
            ports,
        ),
    ):
        peers.ack, peers.http_status = "AA", 201
        release.set_destination(
            informatics, "dicom_sr", host="127.0.0.1", port=dicom_port, called_ae="ORTHANC"
        )
        release.set_destination(informatics, "hl7_oru", host="127.0.0.1", port=ports["mllp"])
        release.set_destination(
            informatics, "fhir", base_url=f"http://127.0.0.1:{ports['fhir']}/fhir"
        )
        assert release.deliver_pending(informatics) == 3
        (instance,) = json.loads(get(f"{base}/instances"))
        stored = get(f"{base}/instances/{instance}/file")

    sr = dcmread(BytesIO(stored))
    texts = {
        i.ConceptNameCodeSequence[0].CodeMeaning: getattr(i, "TextValue", None) for i in items(sr)
    }
    assert texts["Algorithm Name"] == "HeadTriage"
    assert "Reviewed and accepted by Ana Rivera" in texts["Comment"]
    assert "concordant with the AI" in texts["Comment"]
    (path := tmp_path / "sr.dcm").write_bytes(stored)
    dumped = subprocess.run(["dsrdump", str(path)], capture_output=True, text=True, check=False)
    assert dumped.returncode == 0 and label in dumped.stdout

    (oru_text,) = peers.orus
    oru = hl7.read_oru(oru_text)
    order = oru.oru_r01_patient_result.oru_r01_order_observation
    assert order.oru_r01_observation[0].obx.obx_3.obx_3_2.value == label
    assert "Reviewed and accepted by Ana Rivera" in order.nte[0].nte_3.value

    (bundle,) = peers.bundles
    resources = {
        e.resource.__resource_type__: e.resource for e in fhir.read_bundle(json.dumps(bundle)).entry
    }
    assert resources["Observation"].code.text == label
    assert resources["DiagnosticReport"].status == "final"
    assert resources["Device"].deviceName[0].name == "HeadTriage"

    page.reload()
    shown = page.locator("main").inner_text()
    assert shown.count("delivered after 1 attempt") == 3
    page.screenshot(path=str(shots / "review-released.png"), full_page=True)

    steps = {
        (e.object_type, e.action, e.event_code)
        for e in AuditEntry.objects.filter(object_type__startswith="exams.")
    }
    assert {
        ("exams.review", "create", "110111"),  # the review, a procedure record
        ("exams.statuschange", "create", "110111"),  # inferred -> released among them
        ("exams.delivery", "export", "110104"),  # the SR: DICOM Instances Transferred
        ("exams.delivery", "export", "110106"),  # the ORU and the bundle: Export
    } <= steps
    assert [c.to_status for c in inferred.history.all()][-2:] == ["inferred", "released"]
    reads = AuditEntry.objects.filter(object_type="exams.exam", action="read")
    assert {"review worklist", "AI result for review"} <= {e.detail["what"] for e in reads}
    out = StringIO()
    call_command("audit", "verify", stdout=out)  # radgov audit verify
    assert out.getvalue().startswith("audit trail intact"), out.getvalue()
