"""Issue 11 item 7: the one PDF renderer fetches only data: URIs and radgov's own static
files.  A file of the server or a URL of the network named by the HTML stays out of the PDF."""

from __future__ import annotations

import http.server
import socket
import threading
import zlib

import pytest

from radgov.core import pdf

SECRET = "radgov-canary-8f1c2e"


def _pdf_text(body: bytes) -> bytes:
    """The PDF's bytes with every Flate stream inflated (embedded files are compressed)."""
    out = [body]
    start = 0
    while (start := body.find(b"stream", start)) != -1:
        begin = body.find(b"\n", start) + 1
        end = body.find(b"endstream", begin)
        try:
            out.append(zlib.decompress(body[begin:end].strip()))
        except zlib.error:
            pass
        start = end if end != -1 else len(body)
    return b"\n".join(out)


@pytest.fixture
def secret_file(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "passwd"
    path.write_text(f"root:x:0:0:{SECRET}\n")
    return path


@pytest.fixture
def network():  # type: ignore[no-untyped-def]
    """A web server on 127.0.0.1 that counts the requests it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", hits
    server.shutdown()


def test_a_file_of_the_server_is_not_embedded(secret_file) -> None:  # type: ignore[no-untyped-def]
    html = (
        f'<html><head><link rel="attachment" href="file://{secret_file}">'
        f'<link rel="stylesheet" href="{secret_file}"></head>'
        f'<body><p>report</p><img src="file://{secret_file}"></body></html>'
    )
    body = pdf.render_pdf(html)
    assert body is not None and body.startswith(b"%PDF-")
    assert SECRET.encode() not in _pdf_text(body)
    assert b"/EmbeddedFile" not in body


def test_nothing_is_fetched_from_the_network(network) -> None:  # type: ignore[no-untyped-def]
    url, hits = network
    html = (
        f'<html><head><link rel="stylesheet" href="{url}/style.css"></head><body>'
        f'<img src="{url}/pixel.png"><a rel="attachment" href="{url}/file.txt">x</a></body></html>'
    )
    assert pdf.render_pdf(html) is not None
    assert hits == []


def test_data_uris_and_own_static_files_are_served() -> None:
    svg = b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>"
    import base64

    data = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    fetch = pdf.fetcher()
    response = fetch(data)
    assert response.read() == svg
    response.close()
    css = pdf.PACKAGE / "web" / "static" / "radgov" / "radgov.css"
    response = fetch(css.as_uri())
    assert b"{" in response.read()
    response.close()
    for refused in (
        (pdf.PACKAGE / "settings.py").as_uri(),  # in the package, not static
        (pdf.PACKAGE / "web" / "static" / "radgov").as_uri() + "/../../../settings.py",
        "https://example.invalid/x.png",
        "ftp://example.invalid/x",
    ):
        with pytest.raises(pdf.FetchRefused):
            fetch(refused)
