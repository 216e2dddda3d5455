"""MLLP, the framing HL7 v2 messages travel in over TCP (HL7 v2.5.1 Appendix C, the Minimal
Lower Layer Protocol, release 2): each message is sent as ``<VT> message <FS><CR>``.

This module is the one place radgov frames and unframes: the report listener (inbound
ORU^R01) and the release to the RIS (outbound ORU^R01) both use it.  It knows bytes, not
HL7: a message's content is checked by whoever reads it.

* ``frame(message)`` wraps one message.
* ``FrameReader(max_bytes=...)`` takes bytes as they arrive (in any pieces) and gives back
  each complete message; it refuses, with ``FrameError``, a message larger than the limit
  (before the rest of it is read) and anything but whitespace between frames, so a peer that
  does not speak MLLP is told so instead of being buffered without end.  Bytes that complete
  messages and then go wrong give those messages first and keep the refusal in ``refused``
  (the next ``feed`` raises it), so that no whole message goes unanswered.
* ``exchange(host, port, message, ...)`` sends one framed message and reads one framed answer
  (the ACK), for the outbound side and for tests.
"""

from __future__ import annotations

import socket
import ssl

START = b"\x0b"  # VT: start block
END = b"\x1c\x0d"  # FS CR: end block, then carriage return
DEFAULT_MAX_BYTES = 1024 * 1024


class FrameError(ValueError):
    """Bytes that are not MLLP frames, or a frame over the size limit; the message says which."""


def frame(message: bytes) -> bytes:
    """One message as an MLLP frame.  A message that itself holds the block characters
    cannot be framed (the receiver would cut it short)."""
    if START in message or b"\x1c" in message:
        raise FrameError("an HL7 message may not contain the MLLP block characters (0x0B, 0x1C)")
    return START + message + END


class FrameReader:
    """Unframes a byte stream: ``feed`` returns the messages completed by the bytes given."""

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._inside = False
        self.refused: FrameError | None = None

    @property
    def pending(self) -> bool:
        """True while a frame has begun and not ended (a peer that stops here was cut off)."""
        return self._inside

    def feed(self, data: bytes) -> list[bytes]:
        if self.refused is not None:
            raise self.refused
        messages: list[bytes] = []
        try:
            self._feed(data, messages)
        except FrameError as exc:
            if not messages:
                raise
            self.refused = exc
        return messages

    def _feed(self, data: bytes, messages: list[bytes]) -> None:
        view = memoryview(data)
        while view:
            if not self._inside:
                rest = bytes(view).lstrip(b" \t\r\n")
                if not rest:
                    break
                if rest[:1] != START:
                    raise FrameError(
                        "bytes outside an MLLP frame: each message must start with 0x0B "
                        "(vertical tab) and end with 0x1C 0x0D"
                    )
                self._inside = True
                view = memoryview(rest)[1:]
                continue
            chunk = bytes(view)
            end = chunk.find(b"\x1c")
            body = chunk if end < 0 else chunk[:end]
            if len(self._buffer) + len(body) > self.max_bytes:
                raise FrameError(f"an MLLP message longer than {self.max_bytes} bytes")
            self._buffer += body
            if end < 0:
                break
            trailer = chunk[end + 1 : end + 2]
            if trailer not in (b"\r", b""):
                raise FrameError("an MLLP frame's end (0x1C) must be followed by 0x0D")
            messages.append(bytes(self._buffer))
            self._buffer.clear()
            self._inside = False
            view = memoryview(chunk)[end + 1 + len(trailer) :]


def read_message(sock: socket.socket, reader: FrameReader) -> bytes | None:
    """The next complete message from ``sock``, in MLLP's original mode (one message, then its
    answer); None when the peer closed between frames.  Raises ``FrameError`` on bad framing,
    a peer that closed inside a frame, or one that sent a second message before the answer."""
    while True:
        data = sock.recv(65536)
        if not data:
            if reader.pending:
                raise FrameError("the peer closed the connection inside an MLLP frame")
            return None
        messages = reader.feed(data)
        if messages:
            if len(messages) > 1:
                raise FrameError("the peer sent more than one message before an answer")
            return messages[0]


def exchange(
    host: str,
    port: int,
    message: bytes,
    *,
    timeout: float = 30.0,
    tls: ssl.SSLContext | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> bytes:
    """Send one message and return the peer's one answer (its ACK).  Raises ``OSError`` when
    the peer cannot be reached or does not answer in time, ``FrameError`` when it answers in
    something other than one MLLP frame."""
    with socket.create_connection((host, port), timeout=timeout) as raw:
        sock: socket.socket = tls.wrap_socket(raw, server_hostname=host) if tls else raw
        sock.sendall(frame(message))
        answer = read_message(sock, FrameReader(max_bytes=max_bytes))
        if answer is None:
            raise FrameError("the peer closed the connection without answering")
        return answer
