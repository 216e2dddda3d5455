"""A stand-in DICOMweb service on localhost for answers a real one does not give (malformed
searches, wrong instances) and for counting what a STOW-RS POST carries: it stores nothing,
answers each POST 200 with an empty STOW response after reading its body in 64 KB pieces,
and each GET with the answer given for a search of the study's series (``.../series``, by
default one SR series ``1.2.3``), of a series' instances (``.../instances``) or for an
instance."""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

Answer = tuple[int, str, bytes]  # status, Content-Type, body
ONE_SR_SERIES = json.dumps(
    [{"0020000E": {"vr": "UI", "Value": ["1.2.3"]}, "00080060": {"vr": "CS", "Value": ["SR"]}}]
).encode()


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up early (a test's refused upload) is no error of the fake's;
        anything else is printed as socketserver does."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def fake_dicomweb(
    *,
    series: Answer = (200, "application/dicom+json", ONE_SR_SERIES),
    search: Answer = (200, "application/dicom+json", b"[]"),
    instance: Answer | None = None,
    posts: list[int] | None = None,
) -> Iterator[str]:
    """The service's studies URL while the block runs; the size of each POST's body read
    is appended to ``posts``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            left = size = int(self.headers.get("Content-Length", "0"))
            while left > 0 and (piece := self.rfile.read(min(left, 65536))):
                left -= len(piece)
            if posts is not None:
                posts.append(size - left)
            self._answer((200, "application/dicom+json", b"{}"))

        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            ends = self.path.endswith
            wanted = series if ends("/series") else search if ends("/instances") else instance
            self._answer(wanted or (404, "text/plain", b""))

        def _answer(self, answer: Answer) -> None:
            status, kind, body = answer
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dicom-web/studies"
    finally:
        server.shutdown()
        server.server_close()
