"""The MLLP listener (``radgov gateway mllp``): reports from the RIS over HL7 v2 (ORU^R01,
MDM^T02) into monitoring (docs/gateway.md, "Reports over MLLP").

* A message is taken only from a registered MLLP peer (``core.Machine`` of kind
  ``mllp_peer``: its address, and MSH-3^MSH-4 when registered with one) holding
  ``gateway.report``, on an approved network (``RADGOV_MLLP_NETWORKS``); any other is answered
  AR, recorded as a Security Alert (110113), and the connection closed.
* Its reports are stored with ``monitoring.intake.record_report`` (all of a message's, or
  none) and answered AA only after that transaction committed; a message that holds no usable
  report is answered AE naming the segment and field; a failure to store, AR (send again).
* A frame over ``RADGOV_MLLP_MAX_KB`` is refused before the rest is read (AE, then closed).
* Nothing the peer sent is logged: outcomes and counts only.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections, connection

from radgov.compliance import networks
from radgov.core import config, machines, policy
from radgov.core.audit import Action, EventCode, record
from radgov.core.context import ActingContext, acting_as
from radgov.core.models import MachineKind
from radgov.core.services import service
from radgov.exams.errors import ExamError
from radgov.gateway import hl7_reports, mllp
from radgov.monitoring import intake

log = logging.getLogger("radgov.gateway")

REPORT = "gateway.report"  # an MLLP peer's grant to send reports to the listener
REPORTS_TASK = "gateway.reports"  # the principal that records them in monitoring


@service
def store_reports(reports: list[hl7_reports.ReportIn]) -> list[intake.Stored]:
    """Every report of one message, or none (one transaction)."""
    principal = machines.task_principal(REPORTS_TASK)
    return [
        intake.record_report(
            principal, accession_number=r.accession_number, text=r.text, source="hl7"
        )
        for r in reports
    ]


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

    @classmethod
    def from_settings(cls, **overrides: Any) -> MllpListener:
        values: dict[str, Any] = {
            "host": config.get("RADGOV_MLLP_HOST") or "127.0.0.1",
            "max_bytes": config.get_int("RADGOV_MLLP_MAX_KB") * 1024,
        }
        return cls(**config.with_overrides(values, overrides, port="RADGOV_MLLP_PORT"))

    def start(self) -> None:
        """Listen (in background threads) until ``stop``."""
        self.server = _Server((self.host, self.port), _Handler)
        self.server.listener = self
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def converse(self, sock: socket.socket, address: str) -> None:
        """One connection: each message answered before the next is read."""
        sock.settimeout(self.idle_seconds)
        reader = mllp.FrameReader(max_bytes=self.max_bytes)
        try:
            while True:
                try:
                    raw = mllp.read_message(sock, reader)
                except mllp.FrameError as exc:
                    log.warning("refused an MLLP frame: %s", exc)
                    sock.sendall(mllp.frame(hl7_reports.ack(None, "AE", str(exc))))
                    return
                if raw is None:
                    return
                close_old_connections()
                answer, keep_open = self.answer(raw, address)
                sock.sendall(mllp.frame(answer))
                if not keep_open:
                    return
        except OSError:
            return  # the peer went away or fell silent
        finally:
            connection.close()  # each connection has a thread, and so a connection, of its own

    def answer(self, raw: bytes, address: str) -> tuple[bytes, bool]:
        """The acknowledgement of one message, and whether to keep the connection open."""
        try:
            message, header = hl7_reports.read_header(raw)
        except hl7_reports.Unusable as exc:
            log.warning("refused an MLLP message: %s", exc)
            return hl7_reports.ack(None, "AE", str(exc), exc.code), True
        why = self._refusal(address, header)
        if why:
            return hl7_reports.ack(header, "AR", why, "207^Application internal error"), False
        try:
            reports = hl7_reports.read_reports(message, header)
        except hl7_reports.Unusable as exc:
            log.warning("refused an HL7 message: %s", exc)
            return hl7_reports.ack(header, "AE", str(exc), exc.code), True
        try:
            with machines.acting_as(
                machines.task_principal(REPORTS_TASK), channel="mllp", client_address=address
            ):
                stored = store_reports(reports)
        except ExamError as exc:  # names the field of record_report
            return hl7_reports.ack(header, "AE", f"not stored: {exc}"), True
        except Exception as exc:  # not committed: the RIS must send it again
            log.error("HL7 reports were not stored (%s); answered AR", type(exc))
            return hl7_reports.ack(header, "AR", "not stored (internal error); send again"), True
        outcomes = ", ".join(s.outcome for s in stored)
        log.info("stored %d HL7 reports", len(stored))
        return hl7_reports.ack(header, "AA", f"{len(stored)} report(s) {outcomes}"), True

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
