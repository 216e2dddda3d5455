"""Sending a study to a model's DICOMweb STOW-RS service (PS3.18 10.5), outside any
transaction.

The study's instances, as stored, go in one ``multipart/related; type="application/dicom"``
POST, streamed: its Content-Length is counted from the parts' headers and the files' sizes
and each file is read and sent a chunk at a time (``Body``), so memory does not grow with the
study.  The HTTP status and the STOW response (Failed SOP Sequence with each Failure Reason,
Warning Reasons) say what happened: ``send_files`` answers a ``Stowed`` whose ``problem`` is
None when every instance was stored, or a sentence saying what went wrong; ``warnings`` name
what the service changed or accepted with a warning.  Sentences hold the URL's host, counts
and status codes only: never the credentials (an ``Authorization`` header value kept
encrypted with the endpoint) and never patient data.  Over HTTPS the service's certificate is
checked (``sender.tls_context``: TLS 1.2 or later, the CA file setting or the system's).
"""

from __future__ import annotations

import json
import secrets
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from radgov.gateway import sender

FAILED_SOP_SEQUENCE = "00081198"
REFERENCED_SOP_SEQUENCE = "00081199"
FAILURE_REASON = "00081197"
WARNING_REASON = "00081196"
MAX_ANSWER_BYTES = 4 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024  # read and sent at a time: memory does not grow with the study


@dataclass(frozen=True)
class Stowed:
    problem: str | None
    warnings: tuple[str, ...] = ()


def check_url(url: str) -> str | None:
    """None when ``url`` can be a STOW-RS endpoint, else what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "url: an http:// or https:// address of the STOW-RS studies resource"
    if parts.username or parts.password:
        return "url: no credentials in the address (put them in credentials)"
    if parts.query or parts.fragment or any(c.isspace() for c in url):
        return "url: no query, fragment or spaces"
    return None


def reach(url: str, *, timeout: float) -> str | None:
    """None when the service's host accepts a connection (and, over HTTPS, a TLS 1.2+
    handshake with a certificate valid for it), else what went wrong."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            if parts.scheme == "https":
                sender.tls_context().wrap_socket(raw, server_hostname=host).close()
    except OSError as exc:
        return unreached(host, exc, timeout)
    return None


def unreached(host: str, cause: object, timeout: float) -> str:
    """Why the service at ``host`` could not be used, in words."""
    where = f"the model's STOW-RS service at {host}"
    if isinstance(cause, TimeoutError):
        return f"{where} did not answer within {timeout:g} s"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"{where} has a certificate this gateway does not trust"
    return f"{where} could not be reached ({cause if isinstance(cause, str) else type(cause).__name__})"


@dataclass(frozen=True)
class Body:
    """The multipart/related body of ``files``, each an application/dicom part, sent in
    chunks of ``CHUNK_BYTES``: its length is known from the parts' headers and the files'
    sizes, so no more than one chunk of a study is held in memory."""

    files: tuple[Path, ...]
    sizes: tuple[int, ...]
    boundary: str

    @classmethod
    def of(cls, files: Sequence[Path], boundary: str) -> Body:
        return cls(tuple(files), tuple(path.stat().st_size for path in files), boundary)

    @property
    def head(self) -> bytes:
        return f"--{self.boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()

    @property
    def end(self) -> bytes:
        return f"--{self.boundary}--\r\n".encode()

    def __len__(self) -> int:
        return sum(len(self.head) + size + 2 for size in self.sizes) + len(self.end)

    def __iter__(self) -> Iterator[bytes]:
        for path, size in zip(self.files, self.sizes, strict=True):
            yield self.head
            read = 0
            try:
                with path.open("rb") as fh:
                    while chunk := fh.read(CHUNK_BYTES):
                        read += len(chunk)
                        yield chunk
            except OSError as exc:
                raise Unreadable("a file of the study could not be read while it was sent") from exc
            if read != size:  # the Content-Length sent would be wrong
                raise Unreadable("a file of the study changed size while it was sent")
            yield b"\r\n"
        yield self.end


def exchange(
    url: str, *, headers: dict[str, str], timeout: float, limit: int, body: Body | None = None
) -> tuple[int, str, bytes]:
    """One request to the model's DICOMweb service (a POST of ``body``, else a GET), over
    TLS as ``sender.tls_context`` says for https: (status, Content-Type, at most ``limit``
    bytes of the answer, one more to tell an answer over the limit).  Raises ``Unreached``
    with the reason when no answer came."""
    if body is not None:
        headers = {**headers, "Content-Length": str(len(body))}
    request = urllib.request.Request(  # noqa: S310 - checked http(s) by check_url
        url, data=body, headers=headers, method="POST" if body is not None else "GET"
    )
    context = sender.tls_context() if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:  # noqa: S310
            return answer.status, answer.headers.get("Content-Type", ""), answer.read(limit + 1)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read(limit + 1)
    except OSError as exc:  # refused, reset, timed out, or a certificate not trusted
        cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(cause, Unreadable):  # this machine's fault, not the service's
            raise cause from None
        raise Unreached(unreached(urlsplit(url).hostname or "", cause, timeout)) from None


class Unreached(Exception):
    """No answer from the service; the message says why, in words."""


class Unreadable(OSError):
    """A file of the study could not be read whole while it was sent."""


def send_files(
    files: Sequence[Path], *, url: str, authorization: str = "", timeout: float
) -> Stowed:
    body = Body.of(files, secrets.token_hex(16))
    headers = {
        "Content-Type": f'multipart/related; type="application/dicom"; boundary={body.boundary}',
        "Accept": "application/dicom+json",
    }
    if authorization:
        headers["Authorization"] = authorization
    try:
        status, _, text = exchange(
            url, headers=headers, timeout=timeout, limit=MAX_ANSWER_BYTES, body=body
        )
    except Unreached as exc:
        return Stowed(str(exc))
    return judge(status, text, sent=len(files), host=urlsplit(url).hostname or "")


def judge(status: int, text: bytes, *, sent: int, host: str) -> Stowed:
    """What a STOW-RS answer means: 200 stored; 202 stored with warnings or some failed;
    409 none stored; any other status refused."""
    answer = _json(text)
    failed = [_reason(item, FAILURE_REASON) for item in _sequence(answer, FAILED_SOP_SEQUENCE)]
    warnings = tuple(
        f"instance {n}: warning 0x{code:04X}"
        for n, item in enumerate(_sequence(answer, REFERENCED_SOP_SEQUENCE), start=1)
        if (code := _reason(item, WARNING_REASON)) is not None
    )
    if status in (200, 202) and not failed:
        return Stowed(None, warnings)
    if failed or status == 409:
        codes = sorted({f"0x{code:04X}" for code in failed if code is not None})
        shown = f" (failure reason {', '.join(codes)})" if codes else ""
        count = len(failed) or sent
        return Stowed(
            f"the model's STOW-RS service at {host} did not store {count} of {sent} "
            f"instances (HTTP {status}){shown}",
            warnings,
        )
    return Stowed(f"the model's STOW-RS service at {host} refused the study (HTTP {status})")


def _json(text: bytes) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        return {}


def _sequence(answer: Any, tag: str) -> list[Any]:
    if isinstance(answer, list):  # some services answer a list of one dataset
        answer = answer[0] if answer else {}
    found = answer.get(tag, {}) if isinstance(answer, dict) else {}
    items = found.get("Value", []) if isinstance(found, dict) else []
    return [item for item in items if isinstance(item, dict)]


def _reason(item: dict[str, Any], tag: str) -> int | None:
    value = item.get(tag, {}).get("Value", []) if isinstance(item.get(tag), dict) else []
    return int(value[0]) if value and isinstance(value[0], int) else None
