"""The peers a release goes to, on localhost, for the tests (issue 16): a pynetdicom PACS, a
small MLLP server that answers as told, a FHIR endpoint that answers as told,
and a real Orthanc whose REST API reads back what it stored; tests/exams/conftest.py makes
fixtures of them (``peers``, ``orthanc``)."""

from __future__ import annotations

import http.server
import json
import socket
import socketserver
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.sop_class import Comprehensive3DSRStorage, Verification

from radgov.exams.release import hl7
from radgov.gateway import mllp
from tests.integration.serving import free_port


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


@contextmanager
def running_peers() -> Iterator[tuple[Peers, dict[str, int]]]:
    """The PACS, the RIS and the EMR on free localhost ports, shut down on leaving."""
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


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a localhost URL
        return bytes(response.read())


@contextmanager
def running_orthanc(tmp_path: Path, **settings: Any) -> Iterator[tuple[str, int]]:
    """A real Orthanc in ``tmp_path``: its REST base URL and DICOM port (AE ``ORTHANC``);
    ``settings`` are added to its configuration."""
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
        **settings,
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
                get(f"{base}/system")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield base, dicom
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def items(ds: Any) -> Any:
    for item in ds.get("ContentSequence", []):
        yield item
        yield from items(item)
