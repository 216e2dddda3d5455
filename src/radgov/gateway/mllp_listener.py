"""The MLLP listener (``radgov gateway mllp``): reports from the RIS over HL7 v2 (ORU^R01,
MDM^T02) into monitoring (docs/gateway.md, "Reports over MLLP").

* A message is taken only from a registered MLLP peer (``core.Machine`` of kind
  ``mllp_peer``: its address, and MSH-3^MSH-4 when registered with one) holding
  ``gateway.report``, on an approved network (``RADGOV_MLLP_NETWORKS``); any other is answered
  AR, recorded as a Security Alert (110113), and the connection closed.
* Its reports are stored with ``monitoring.intake.record_report`` (all of a message's, or
  none) and answered AA only after that transaction committed; a message that holds no usable
  report is answered AE naming the segment and field; a failure to store, AR (send again).
* Connections only read and parse; one writer thread stores what they received, committing
  the messages waiting at that moment together (one transaction, one audit batch naming
  their control ids, a savepoint each), so that several RIS connections cost one commit
  instead of one each (docs/decisions/0002: the append and commit are the serial step).
* A frame over ``RADGOV_MLLP_MAX_KB`` is refused before the rest is read (AE, then closed).
* Nothing the peer sent is logged: outcomes and counts only.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections, connection

from radgov.compliance import networks
from radgov.core import config, machines, policy
from radgov.core.audit import Action, EventCode, record
from radgov.core.context import ActingContext, acting_as
from radgov.core.models import MachineKind
from radgov.core.services import service
from radgov.gateway import hl7_reports, mllp
from radgov.gateway.models import Hl7Message
from radgov.monitoring import intake

log = logging.getLogger("radgov.gateway")

REPORT = "gateway.report"  # an MLLP peer's grant to send reports to the listener
REPORTS_TASK = "gateway.reports"  # the principal that records them in monitoring
GROUP = 200  # the most messages committed together
LINGER_SECONDS = 2.0  # reading what a refused peer still sends, before closing


@dataclass
class _Message:
    """One usable-headed message on its way to the writer, and its answer once decided."""

    header: hl7_reports.Header
    address: str
    reports: list[hl7_reports.ReportIn]
    unusable: hl7_reports.Unusable | None
    answer: bytes = b""
    keep_open: bool = True
    done: threading.Event = field(default_factory=threading.Event)

    def decide(self, code: str, text: str, error: str = "", *, keep_open: bool = True) -> None:
        self.answer = hl7_reports.ack(self.header, code, text, error)
        self.keep_open = keep_open
        self.done.set()


REPEATED, REUSED = "repeated", "reused"  # a control id stored before: same reports, other


def _digest(message: _Message) -> str:
    """The SHA-256 of what a message reports (each accession and text), to tell a message sent
    again from another that reuses its control id."""
    digest = hashlib.sha256()
    for report in message.reports:
        digest.update(f"{len(report.accession_number)}:{report.accession_number}".encode())
        digest.update(f"{len(report.text)}:{report.text}".encode())
    return digest.hexdigest()


@service
def store_messages(principal: Any, messages: list[_Message]) -> list[list[intake.Stored] | str]:
    """The reports of many messages, each already checked, in one transaction: each
    message's stored reports in turn, or REPEATED for a message whose sender and control id
    (MSH-3^MSH-4, MSH-10) were stored before with the same reports, REUSED with others;
    neither is stored again.  One audit entry for the reports and the messages' records (a
    batch naming the messages' control ids)."""
    keys = [(m.header.application[:255], m.header.control_id) for m in messages]
    known = {
        (application, control_id): sha256
        for application, control_id, sha256 in Hl7Message.objects.filter(
            control_id__in={control_id for _, control_id in keys}
        ).values_list("application", "control_id", "sha256")
    }
    fresh: list[tuple[_Message, tuple[str, str], str]] = []
    seen: list[str | None] = []  # REPEATED or REUSED; None: stored now
    for message, key in zip(messages, keys, strict=True):
        digest = _digest(message)
        if key in known:
            seen.append(REPEATED if known[key] == digest else REUSED)
            continue
        known[key] = digest
        fresh.append((message, key, digest))
        seen.append(None)
    stored = iter(
        intake.store_reports(
            principal,
            [(r.accession_number, r.text) for m, _, _ in fresh for r in m.reports],
            source="hl7",
            detail={"messages": [key[1] for _, key, _ in fresh]},
            also=[
                Hl7Message(application=key[0], control_id=key[1], sha256=digest)
                for _, key, digest in fresh
            ],
        )
    )
    return [
        [next(stored) for _ in m.reports] if why is None else why
        for m, why in zip(messages, seen, strict=True)
    ]


class _Writer:
    """One thread that stores what every connection received, a group at a time: the
    messages waiting when it comes round are committed together (one transaction, one audit
    entry), each answered once that commit is done.  A lone message waits for nothing."""

    def __init__(self, listener: MllpListener) -> None:
        self.listener = listener
        self.queue: queue.Queue[_Message | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True, name="mllp-writer")
        self.thread.start()

    def submit(self, messages: list[_Message]) -> None:
        for message in messages:
            self.queue.put(message)
        for message in messages:
            message.done.wait()

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join()

    def _run(self) -> None:
        try:
            while (first := self.queue.get()) is not None:
                group = [first]
                while len(group) < GROUP and not self.queue.empty():
                    message = self.queue.get()
                    if message is None:
                        self.queue.put(None)  # stop after this group
                        break
                    group.append(message)
                close_old_connections()
                try:
                    self.listener.decide(group)
                except Exception as exc:  # the peer check failed: nothing was stored
                    log.error("HL7 messages were not decided (%s); answered AR", type(exc))
                    for message in group:
                        if not message.done.is_set():
                            message.decide("AR", "not stored (internal error); send again")
        finally:
            connection.close()


def _close_gently(sock: socket.socket) -> None:
    """End a connection whose peer may still be sending (the rest of a frame too long, the
    messages after a refused one): the answer already sent is followed by the end of our
    side, and what the peer still sends is read and dropped for at most LINGER_SECONDS.
    Closed with those bytes unread, the connection would be reset, and a reset can destroy
    the answer before the peer has read it."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(LINGER_SECONDS)
        deadline = time.monotonic() + LINGER_SECONDS
        while time.monotonic() < deadline and sock.recv(65536):
            pass
    except OSError:
        pass  # the peer is gone already


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.listener.converse(self.request, str(self.client_address[0]))  # type: ignore[attr-defined]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class MllpListener:
    port: int
    host: str = "127.0.0.1"
    max_bytes: int = mllp.DEFAULT_MAX_BYTES
    idle_seconds: float = 300.0  # a connection silent this long is closed
    server: Any = field(default=None, repr=False)
    writer: _Writer | None = field(default=None, repr=False)
    principal: Any = field(default=None, repr=False)  # REPORTS_TASK's, looked up once

    @classmethod
    def from_settings(cls, **overrides: Any) -> MllpListener:
        values: dict[str, Any] = {
            "host": config.get("RADGOV_MLLP_HOST") or "127.0.0.1",
            "max_bytes": config.get_int("RADGOV_MLLP_MAX_KB") * 1024,
        }
        return cls(**config.with_overrides(values, overrides, port="RADGOV_MLLP_PORT"))

    def start(self) -> None:
        """Listen (in background threads) until ``stop``."""
        self.writer = _Writer(self)
        self.server = _Server((self.host, self.port), _Handler)
        self.server.listener = self
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.writer is not None:
            self.writer.stop()
            self.writer = None

    def converse(self, sock: socket.socket, address: str) -> None:
        """One connection: each message answered, in order.  A peer that sends several
        before reading the answers (pipelining) has them stored together."""
        sock.settimeout(self.idle_seconds)
        reader = mllp.FrameReader(max_bytes=self.max_bytes)
        try:
            while True:
                data = sock.recv(65536)
                try:
                    if not data and reader.pending:
                        raise mllp.FrameError("the peer closed the connection inside an MLLP frame")
                    raws = reader.feed(data)
                except mllp.FrameError as exc:
                    self._refuse_framing(sock, exc)
                    return
                if not data:
                    return
                answers = self.answer_all(raws, address)
                closing = next((n for n, (_, keep) in enumerate(answers) if not keep), None)
                sock.sendall(b"".join(mllp.frame(answer) for answer, _ in answers[:closing]))
                if closing is not None:
                    sock.sendall(mllp.frame(answers[closing][0]))
                    _close_gently(sock)
                    return
                if reader.refused is not None:  # whole frames, then bytes that are not
                    self._refuse_framing(sock, reader.refused)
                    return
        except OSError:
            return  # the peer went away or fell silent

    @staticmethod
    def _refuse_framing(sock: socket.socket, exc: mllp.FrameError) -> None:
        log.warning("refused an MLLP frame: %s", exc)
        sock.sendall(mllp.frame(hl7_reports.ack(None, "AE", str(exc))))
        _close_gently(sock)

    def answer(self, raw: bytes, address: str) -> tuple[bytes, bool]:
        """The acknowledgement of one message, and whether to keep the connection open."""
        [answer] = self.answer_all([raw], address)
        return answer

    def answer_all(self, raws: list[bytes], address: str) -> list[tuple[bytes, bool]]:
        """The acknowledgements of messages received together, in order.  Stored by the
        writer thread when the listener runs, here when called on its own."""
        received: list[_Message | bytes] = []
        for raw in raws:
            try:
                segments, header = hl7_reports.read_header(raw)
            except hl7_reports.Unusable as exc:
                log.warning("refused an MLLP message: %s", exc)
                received.append(hl7_reports.ack(None, "AE", str(exc), exc.code))
                continue
            try:
                reports = hl7_reports.read_reports(segments, header)
                received.append(_Message(header, address, reports, None))
            except hl7_reports.Unusable as exc:
                received.append(_Message(header, address, [], exc))
        messages = [m for m in received if isinstance(m, _Message)]
        if self.writer is not None:
            self.writer.submit(messages)
        elif messages:
            self.decide(messages)
        return [(m, True) if isinstance(m, bytes) else (m.answer, m.keep_open) for m in received]

    def decide(self, messages: list[_Message]) -> None:
        """Answer each message: AR for a peer that may not send (checked once per peer in
        the group), AE for one without a usable report, else AA once its reports are
        committed (all the group's together; AR, send again, when that commit fails)."""
        refusals: dict[tuple[str, str], str] = {}
        waiting: dict[str, list[_Message]] = {}
        for message in messages:
            peer = (message.address, message.header.application)
            if peer not in refusals:
                refusals[peer] = self._refusal(message.address, message.header)
            if refusals[peer]:
                error = "207^Application internal error"
                message.decide("AR", refusals[peer], error, keep_open=False)
            elif message.unusable is not None:
                log.warning("refused an HL7 message: %s", message.unusable)
                message.decide("AE", str(message.unusable), message.unusable.code)
            elif problems := [
                p for r in message.reports for p in intake.check_report(r.accession_number, r.text)
            ]:
                message.decide("AE", "not stored: " + "; ".join(map(str, problems)))
            else:
                waiting.setdefault(message.address, []).append(message)
        for address, group in waiting.items():
            self._store(address, group)

    def _store(self, address: str, group: list[_Message]) -> None:
        try:
            if self.principal is None:  # a round trip saved on every later group
                self.principal = machines.task_principal(REPORTS_TASK)
            with machines.acting_as(self.principal, channel="mllp", client_address=address):
                outcomes = store_messages(self.principal, group)
        except Exception as exc:  # not committed: the RIS must send them again
            log.error("HL7 reports were not stored (%s); answered AR", type(exc))
            for message in group:
                message.decide("AR", "not stored (internal error); send again")
            return
        for message, stored in zip(group, outcomes, strict=True):
            if stored == REPEATED:
                message.decide("AA", "already stored: this message was received before")
            elif stored == REUSED:
                why = "MSH-10: this control id came before with other reports; not stored"
                message.decide("AE", why, "205^Duplicate key identifier")
            else:
                reports = ", ".join(s.outcome for s in stored)
                message.decide("AA", f"{len(stored)} report(s) {reports}")
        log.info("stored the reports of %d HL7 messages", len(group))

    def _refusal(self, address: str, header: hl7_reports.Header) -> str:
        """Why this peer may not send reports (audited as a security alert); empty: it may."""
        with acting_as(ActingContext(channel="mllp", client_address=address)):
            if networks.refusal("mllp", address):  # audited there
                why = "not on an approved network for MLLP (RADGOV_MLLP_NETWORKS)"
                log.warning("refused an MLLP peer: %s", why)
                return why
            peer = machines.find_peer(
                MachineKind.MLLP_PEER, address=address, application=header.application
            )
            if peer is not None and policy.machine_may(peer, REPORT):
                return ""
            why = "not a registered MLLP peer allowed to send reports (gateway.report)"
            log.warning("refused an MLLP peer: %s", why)
            record(
                action=Action.DENIED,
                object_type="gateway.mllp",
                event_code=EventCode.SECURITY_ALERT,
                outcome="failure",
                detail={"application": header.application[:64], "why": why},
            )
            return why
