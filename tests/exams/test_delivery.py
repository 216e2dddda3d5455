"""Delivering a release (issue 16): to a real pynetdicom PACS, a small MLLP server and a
local FHIR endpoint over localhost; a NAK or an HTTP 500 leaves the delivery failed with
the peer's words and it is retried; an acknowledged message is never sent again."""

from __future__ import annotations

import http.server
import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.sop_class import Comprehensive3DSRStorage, Verification

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.exams.models import Inference
from radgov.exams.release import fhir, hl7, send
from radgov.exams.services import delivery
from radgov.exams.services import review as gate
from radgov.gateway import mllp
from tests.exams.review_world import accepted_by_trained

pytestmark = pytest.mark.django_db


class Peers:
    """What each peer received, and how it should answer next."""

    def __init__(self) -> None:
        self.stored: list[Any] = []
        self.orus: list[str] = []
        self.bundles: list[dict[str, Any]] = []
        self.ack = "AE"
        self.http_status = 500


def _mllp_server(peers: Peers) -> socketserver.TCPServer:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            text = mllp.read_message(self.request, mllp.FrameReader()).decode()
            control = hl7.read_oru(text).msh.msh_10.value
            peers.orus.append(text)
            ack = f"MSH|^~\\&|RIS|HOSP|RADGOV|X|20260301||ACK^R01|A{len(peers.orus)}|P|2.5.1\rMSA|{peers.ack}|{control}|RIS is busy"
            self.request.sendall(mllp.frame(ack.encode()))

    return socketserver.TCPServer(("127.0.0.1", 0), Handler)


def _fhir_server(peers: Peers) -> http.server.HTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            peers.bundles.append(json.loads(body))
            if peers.http_status == 500:
                answer = {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "error",
                            "code": "exception",
                            "diagnostics": "database offline",
                        }
                    ],
                }
            else:
                answer = {"resourceType": "Bundle", "type": "transaction-response"}
            data = json.dumps(answer).encode()
            self.send_response(peers.http_status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return http.server.HTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def peers() -> Iterator[tuple[Peers, dict[str, int]]]:
    state = Peers()
    ae = AE(ae_title="PACS_TEST")
    ae.add_supported_context(Comprehensive3DSRStorage, ExplicitVRLittleEndian)
    ae.add_supported_context(Verification)

    def on_store(event: Any) -> int:
        state.stored.append(event.dataset)
        return 0x0000

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dicom_port = s.getsockname()[1]
    scp = ae.start_server(
        ("127.0.0.1", dicom_port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)]
    )
    servers = [_mllp_server(state), _fhir_server(state)]
    threads = [threading.Thread(target=srv.serve_forever, daemon=True) for srv in servers]
    for t in threads:
        t.start()
    try:
        yield (
            state,
            {
                "dicom": dicom_port,
                "mllp": servers[0].server_address[1],
                "fhir": servers[1].server_address[1],
            },
        )
    finally:
        scp.shutdown()
        for srv in servers:
            srv.shutdown()
            srv.server_close()


def test_a_release_reaches_all_three_peers_after_a_nak_and_a_500_and_is_sent_once(
    people, practice, writer, peers
) -> None:
    state, ports = peers
    delivery.set_destination(
        writer, "dicom_sr", host="127.0.0.1", port=ports["dicom"], called_ae="PACS_TEST"
    )
    delivery.set_destination(writer, "hl7_oru", host="127.0.0.1", port=ports["mllp"])
    delivery.set_destination(writer, "fhir", base_url=f"http://127.0.0.1:{ports['fhir']}/fhir")
    assert delivery.probe_destination(writer, "dicom_sr").delivered
    inferred = Inference.objects.get(status="inferred")
    accepted_by_trained(people[Role.PHYSICIAN], inferred)

    assert delivery.deliver_pending(writer) == 1  # the PACS stores; the RIS NAKs; the EMR fails
    rows = {d.standard: d for d in inferred.deliveries.all()}
    assert (
        rows["hl7_oru"].status == "failed"
        and "refused the message (AE): RIS is busy" in rows["hl7_oru"].answer
    )
    assert rows["fhir"].status == "failed" and "HTTP 500): database offline" in rows["fhir"].answer

    state.ack, state.http_status = "AA", 201
    assert delivery.deliver_pending(writer) == 2
    assert delivery.deliver_pending(writer) == 0  # nothing is sent twice once acknowledged
    assert (len(state.stored), len(state.orus), len(state.bundles)) == (1, 2, 2)
    assert state.orus[0] == state.orus[1]  # the retry is the same message, same control id
    sr = state.stored[0]
    assert (
        sr.SOPInstanceUID == rows["dicom_sr"].message_id
        and sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    )
    report = fhir.read_bundle(json.dumps(state.bundles[1]))
    assert report.entry[-2].resource.conclusion.startswith("Produced by artificial intelligence")
    exports = AuditEntry.objects.filter(object_type="exams.delivery", action="export")
    assert sorted(e.event_code for e in exports) == [
        "110104",
        "110106",
        "110106",
        "110106",
        "110106",
    ]


def test_garbled_answers_are_recorded_in_words() -> None:
    assert send.read_ack(b"not hl7 at all", "C1") == send.Answer(
        False, "the RIS answered with something that is not an HL7 acknowledgement"
    )
    other = b"MSH|^~\\&|RIS|H|R|X|20260301||ACK|A1|P|2.5.1\rMSA|AA|SOMEONE-ELSE"
    assert "another message" in send.read_ack(other, "C1").words
    assert send.read_outcome(502, b"<html>bad gateway</html>").words == (
        "the FHIR server answered HTTP 502 without an OperationOutcome"
    )


def test_destinations_name_what_is_missing_and_only_informatics_sets_them(people, writer) -> None:
    with pytest.raises(gate.ReviewError) as info:
        delivery.set_destination(writer, "dicom_sr", host="", port=0)
    assert {p.field for p in info.value.problems} == {"host", "port", "called_ae"}
    with pytest.raises(gate.ReviewError, match="base_url: must start with http"):
        delivery.set_destination(writer, "fhir", base_url="ftp://emr")
    with pytest.raises(gate.NotPermitted):
        delivery.set_destination(people[Role.PHYSICIAN], "fhir", base_url="https://emr/fhir")


def test_the_task_tries_as_its_own_principal_and_a_peer_that_is_down_is_said_in_words(
    people, practice, writer
) -> None:
    from radgov.exams.tasks import deliver_releases
    from tests.integration.serving import free_port

    delivery.set_destination(writer, "fhir", base_url=f"http://127.0.0.1:{free_port()}/fhir")
    inferred = Inference.objects.get(status="inferred")
    accepted_by_trained(people[Role.PHYSICIAN], inferred)
    assert deliver_releases.call_local() == 0
    fhir_row = inferred.deliveries.get(standard="fhir")
    assert fhir_row.status == "failed" and fhir_row.attempts == 1
    assert fhir_row.answer == "the FHIR server could not be reached (URLError)"
    assert inferred.deliveries.get(standard="hl7_oru").answer.startswith("waiting: no active")
    tried = AuditEntry.objects.get(object_type="exams.delivery", action="export")
    assert tried.actor_name == "task:exams.deliver_releases" and tried.outcome == "failure"
    with pytest.raises(gate.NotPermitted, match="release task deliver"):
        delivery.deliver_pending(people[Role.PHYSICIAN])
