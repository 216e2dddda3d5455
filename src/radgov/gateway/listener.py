"""The DICOM listener (``radgov gateway dicom``): C-ECHO and C-STORE over pynetdicom
(docs/gateway.md).

* An association is accepted only from a registered DICOM peer (``core.Machine`` of kind
  ``dicom_peer``, its calling AE title and address) holding ``gateway.store``; any other is
  rejected (calling AE title not recognised) and a Security Alert (110113) is recorded.
* A C-STORE is answered with success only after its file is durable in the spool: written,
  fsynced, renamed into place and its folder fsynced (``spool.write``).  Its row follows in
  a batch of the association's images (``arrivals.Pending``), written at the latest before
  the association's release is answered; one a crash lost is recorded from the spool when
  the listener starts (``arrivals.reconcile``).  A model's result (SR, SEG, SC) is recorded
  and matched before its answer (``services.store_instance``).  Anything else is answered
  with a failure status, so the sender keeps the instance and sends it again.
* What pynetdicom is handed from a peer is bounded: the PDU length it proposes, the size of
  a dataset (``RADGOV_DICOM_MAX_DATASET_MB``), and no path is made from peer data.
* Nothing the peer sent is logged: statuses and counts only.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import close_old_connections, connection
from django.utils import timezone
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.dsutils import encode_file_meta
from pynetdicom.pdu import A_ABORT_RQ
from pynetdicom.pdu_primitives import A_P_ABORT, A_RELEASE
from pynetdicom.presentation import AllStoragePresentationContexts
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from radgov.compliance import networks
from radgov.core import config, crypto, machines, policy
from radgov.core.audit import Action, EventCode, record
from radgov.core.context import ActingContext, acting_as
from radgov.core.models import MachineKind
from radgov.exams.services.inference import SOP_UID_NAMESPACE
from radgov.gateway import arrivals, associations, results, services, spool

log = logging.getLogger("radgov.gateway")

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700  # Refused: out of resources (too large, or not stored)
CANNOT_UNDERSTAND = 0xC000  # Error: cannot understand (no UIDs, undecodable)
NOT_AUTHORIZED = 0x0124  # Refused: not authorized
REAP_EVERY_SECONDS = 0.1
REJECTED_PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNISED = 0x01, 0x01, 0x03


def _calling(event: Any) -> str:
    """The calling AE title of the association request (set before negotiation)."""
    return str(event.assoc.requestor.primitive.calling_ae_title or "").strip()[:16]


def _flush(assoc: Any, *, idle_only: bool = False) -> bool:
    """Write the rows of the association's acknowledged images that are waiting; True when
    the database was used."""
    pending = getattr(assoc, "radgov_pending", None)
    return pending is not None and pending.flush(idle_only=idle_only)


def _release_requested(event: Any) -> None:
    """The peer asked to release: its images' rows are written before the answer."""
    primitive = event.primitive
    if isinstance(primitive, A_RELEASE) and primitive.result is None:
        _flush(event.assoc)


def _ended(event: Any, how: str) -> None:
    """Write what is waiting and log the association's end with what it carried, then close
    its thread's database connection (each association has a thread, and so a connection,
    of its own)."""
    counts = getattr(event.assoc, "radgov_counts", None)
    try:
        _flush(event.assoc)
        if counts is not None:
            requestor = event.assoc.requestor
            associations.record(
                calling_ae=requestor.ae_title,
                address=requestor.address,
                peer=getattr(event.assoc, "radgov_peer", None),
                accepted=True,
                ended=how,
                **counts,
            )
    except Exception as exc:
        log.error("an association's end was not logged (%s)", type(exc))
    finally:
        connection.close()


def _abort_on_error(event: Any) -> None:
    """pynetdicom's DUL thread runs its state machine outside its own error handling: a PDU
    invalid for the association's state, or a command set it cannot read, ends that thread
    with an exception, and the association then ends without an abort event, so its end
    went unlogged and its thread's database connection stayed open (found by
    tests/gateway/test_fuzz.py).  Such an error now aborts the association the way
    pynetdicom aborts on a transport error, and an established one reaches ``_ended``."""
    assoc, dul = event.assoc, event.assoc.dul
    act = dul.state_machine.do_action

    def do_action(name: str) -> None:
        try:
            act(name)
        except Exception as exc:
            log.error("aborted an association on a message it could not handle (%s)", type(exc))
            abort = A_ABORT_RQ()
            abort.source, abort.reason_diagnostic = 0x02, 0x00
            with contextlib.suppress(Exception):  # the peer may be gone already
                dul.socket.send(abort.encode())
            if assoc.is_established:
                dul.to_user_queue.put(A_P_ABORT())
            dul._kill_thread = True

    dul.state_machine.do_action = do_action


class _Server(ThreadedAssociationServer):
    """pynetdicom's server with a listen backlog for a burst of connections (its default,
    5, makes the sixth connection in the same instant wait for the kernel's retry, seconds
    later: found by tests/gateway/test_fuzz.py)."""

    request_queue_size = 128


class _AE(AE):
    """pynetdicom's AE, serving with ``_Server``."""

    def make_server(self, *args: Any, **kwargs: Any) -> Any:
        return super().make_server(*args, **{**kwargs, "server_class": _Server})


@dataclass
class Listener:
    """The settings of one listener, and the running server once started."""

    port: int
    host: str = "127.0.0.1"
    ae_title: str = "RADGOV"
    site: str = ""
    max_dataset_bytes: int = 512 * 1024 * 1024
    max_pdu: int = 262144
    max_associations: int = 10
    tls_cert: str = ""  # PEM files: with both, TLS 1.2 or later only
    tls_key: str = ""
    base: Path | None = None  # the spool's root (default DATA_DIR/spool)
    on_stored: Callable[[services.Arrival | services.Received], None] | None = None
    server: Any = field(default=None, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False, init=False)

    @classmethod
    def from_settings(cls, **overrides: Any) -> Listener:
        values: dict[str, Any] = {
            "host": config.get("RADGOV_DICOM_HOST") or "127.0.0.1",
            "ae_title": config.get("RADGOV_DICOM_AE_TITLE") or "RADGOV",
            "site": config.get("RADGOV_DICOM_SITE") or "",
            "max_dataset_bytes": config.get_int("RADGOV_DICOM_MAX_DATASET_MB") * 1024 * 1024,
            "max_pdu": config.get_int("RADGOV_DICOM_MAX_PDU"),
            "max_associations": config.get_int("RADGOV_DICOM_MAX_ASSOCIATIONS"),
            "tls_cert": config.get("RADGOV_DICOM_TLS_CERT") or "",
            "tls_key": config.get("RADGOV_DICOM_TLS_KEY") or "",
        }
        return cls(**config.with_overrides(values, overrides, port="RADGOV_DICOM_PORT"))

    def application_entity(self) -> AE:
        ae = _AE(ae_title=self.ae_title)
        ae.maximum_pdu_size = self.max_pdu
        ae.maximum_associations = self.max_associations
        ae.require_called_aet = True
        for context in AllStoragePresentationContexts:
            ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        return ae

    def ssl_context(self) -> ssl.SSLContext | None:
        """TLS 1.2 or later when a certificate and key are given; None: plain DICOM."""
        if not (self.tls_cert or self.tls_key):
            return None
        if not (self.tls_cert and self.tls_key):
            raise ValueError("TLS needs both RADGOV_DICOM_TLS_CERT and RADGOV_DICOM_TLS_KEY")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.tls_cert, self.tls_key)
        return context

    def start(self) -> None:
        """Listen (in background threads) until ``stop``."""
        handlers = [
            (evt.EVT_CONN_OPEN, _abort_on_error),
            (evt.EVT_REQUESTED, self._on_requested),
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_C_ECHO, lambda _event: SUCCESS),
            (evt.EVT_ACSE_RECV, _release_requested),
            (evt.EVT_RELEASED, lambda event: _ended(event, "released")),
            (evt.EVT_ABORTED, lambda event: _ended(event, "aborted")),
        ]
        spool.prepare(self.base)
        arrivals.reconcile(self.base or spool.root(), site=self.site)
        connection.close()  # this thread's; the associations have their own
        self.server = self.application_entity().start_server(
            (self.host, self.port),
            block=False,
            evt_handlers=handlers,
            ssl_context=self.ssl_context(),
        )
        self._stopping = threading.Event()
        threading.Thread(target=self._reap, args=(self.server, self._stopping), daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self._stopping.set()
            self.server.shutdown()
            self.server = None

    @staticmethod
    def _reap(server: Any, stopping: threading.Event) -> None:
        """End every association whose connection died before it sent an association
        request (random bytes, a malformed or truncated PDU): pynetdicom's acceptor would
        wait the ACSE timeout for a request that can no longer come, holding one of the
        listener's associations, so a few such connections a minute would lock out the
        scanners (found by tests/gateway/test_fuzz.py).  ``None`` on its queue is what
        pynetdicom reads as "no request": it closes the connection and ends.  And write the
        rows of an open association that sent no image for ``arrivals.IDLE_SECONDS``."""
        while not stopping.wait(REAP_EVERY_SECONDS):
            for assoc in list(server.active_associations):
                if _flush(assoc, idle_only=True):
                    connection.close()  # the reaper's, opened by the flush
                dul = assoc.dul
                waiting = assoc.requestor.primitive is None and dul.ident is not None
                if waiting and not dul.is_alive() and not getattr(assoc, "radgov_reaped", False):
                    assoc.radgov_reaped = True
                    dul.to_user_queue.put(None)

    # --- handlers (each runs in the association's thread) -----------------------------------

    def _peer_of(self, event: Any) -> Any:
        requestor = event.assoc.requestor
        return machines.find_peer(
            MachineKind.DICOM_PEER, address=requestor.address, ae_title=_calling(event)
        )

    def _on_requested(self, event: Any) -> None:
        """Refuse the association of anyone but a registered peer holding gateway.store."""
        close_old_connections()
        requestor = event.assoc.requestor
        peer = self._peer_of(event)
        if not networks.is_approved("dicom", requestor.address):
            why = "not on an approved network for DICOM (RADGOV_DICOM_NETWORKS)"
        elif peer is None or not policy.machine_may(peer, services.STORE):
            why = "not a registered DICOM peer allowed to store"
        else:
            event.assoc.radgov_peer = peer
            event.assoc.radgov_counts = {"stored": 0, "refused": 0}
            event.assoc.radgov_pending = arrivals.Pending(
                peer, address=requestor.address, site=self.site
            )
            return
        log.warning("refused an association: %s", why)
        try:  # answered once recorded: a peer told it was refused finds the refusal logged
            with acting_as(ActingContext(channel="dicom", client_address=requestor.address)):
                associations.record(
                    calling_ae=_calling(event),
                    address=requestor.address,
                    peer=peer,
                    accepted=False,
                    reason=why,
                )
                record(
                    action=Action.DENIED,
                    object_type="gateway.association",
                    event_code=EventCode.SECURITY_ALERT,
                    outcome="failure",
                    detail={"calling_ae": _calling(event), "why": why},
                )
        finally:  # refused even when the record failed
            event.assoc.acse.send_reject(
                REJECTED_PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNISED
            )
            event.assoc.kill()
            connection.close()  # no release or abort follows a reject to close it in _ended

    def _on_store(self, event: Any) -> int:
        status = self._store(event)
        counts = getattr(event.assoc, "radgov_counts", None)
        if counts is not None:
            counts["stored" if status == SUCCESS else "refused"] += 1
        return status

    def _store(self, event: Any) -> int:
        peer = getattr(event.assoc, "radgov_peer", None)
        if peer is None:
            return NOT_AUTHORIZED
        raw = event.encoded_dataset(include_meta=False)
        if len(raw) > self.max_dataset_bytes:
            log.warning("refused an instance over the size limit (%d bytes)", len(raw))
            return OUT_OF_RESOURCES
        try:
            study_uid, sop_uid = arrivals.header_uids(raw, str(event.context.transfer_syntax))
        except Exception:  # a truncated or undecodable dataset, or no UIDs
            log.warning("refused an instance cut short or without readable UIDs")
            return CANNOT_UNDERSTAND
        if not (study_uid and sop_uid):
            return CANNOT_UNDERSTAND
        requestor = event.assoc.requestor
        sop_class_uid = str(event.request.AffectedSOPClassUID)
        file_meta = event.file_meta
        file_meta.SourceApplicationEntityTitle = requestor.ae_title
        fields = {
            "calling_ae": requestor.ae_title,
            "study_uid": study_uid,
            "sop_class_uid": sop_class_uid,
            "transfer_syntax_uid": str(event.context.transfer_syntax),
        }
        meta = encode_file_meta(file_meta)
        try:
            if results.kind_of(sop_class_uid) is not None:
                return self._store_result(event, peer, sop_uid, meta=meta, dataset=raw, **fields)
            uid_key = crypto.pseudonym(sop_uid, namespace=SOP_UID_NAMESPACE)
            stored = spool.write(uid_key, meta, raw, sha256=spool.digest(raw), base=self.base)
        except Exception as exc:  # not durable: the sender must keep it and resend
            log.error("an instance was not stored (%s); answered out of resources", type(exc))
            connection.close()  # the next instance starts on a fresh connection
            return OUT_OF_RESOURCES
        arrival = services.Arrival(
            uid_key=uid_key, stored=stored, received_at=timezone.now(), **fields
        )
        event.assoc.radgov_pending.add(arrival)
        if self.on_stored is not None:
            self.on_stored(arrival)
        return SUCCESS

    def _store_result(self, event: Any, peer: Any, sop_uid: str, **fields: Any) -> int:
        """A model's result: stored and recorded before it is answered, then matched to its
        inference."""
        requestor = event.assoc.requestor
        try:
            with machines.acting_as(peer, channel="dicom", client_address=requestor.address):
                received = services.store_instance(
                    peer, sop_uid=sop_uid, site=self.site, base=self.base, **fields
                )
        except services.NotPermitted:
            return NOT_AUTHORIZED
        if not received.duplicate:
            self._take_result(received, sop_uid, requestor)
        if self.on_stored is not None:
            self.on_stored(received)
        return SUCCESS

    def _take_result(self, received: services.Received, sop_uid: str, requestor: Any) -> None:
        """A model's result: matched to its inference.  The instance is stored whatever
        happens here, so the answer stays success."""
        try:
            principal = machines.task_principal(results.RESULTS_TASK)
            with machines.acting_as(principal, channel="dicom", client_address=requestor.address):
                results.take_result(
                    principal,
                    received.instance,
                    sop_uid=sop_uid,
                    calling_ae=requestor.ae_title,
                    base=self.base,
                )
        except Exception as exc:
            log.error("a stored result was not matched to its inference (%s)", type(exc))
