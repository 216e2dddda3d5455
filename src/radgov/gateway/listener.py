"""The DICOM listener (``radgov gateway dicom``): C-ECHO and C-STORE over pynetdicom
(docs/gateway.md).

* An association is accepted only from a registered DICOM peer (``core.Machine`` of kind
  ``dicom_peer``, its calling AE title and address) holding ``gateway.store``; any other is
  rejected (calling AE title not recognised) and a Security Alert (110113) is recorded.
* A C-STORE of an image is answered with success once its file is written, fsynced and
  renamed into the spool; its row follows in a group (``groups.Recorder``, at most a
  quarter of a second later, at once when its association ends), and an image acknowledged
  by a listener killed before its group committed is recorded by ``groups.recover`` when
  the listener starts again (docs/decisions/0005-gateway-acknowledges-on-the-spool.md).  A
  model's result (SR, SEG, SC) is answered only after ``services.store_instance`` returned:
  its row committed and matched to its inference.  Anything else is answered with a
  failure status, so the sender keeps the instance and sends it again.
* What pynetdicom is handed from a peer is bounded: the PDU length it proposes, the size of
  a dataset (``RADGOV_DICOM_MAX_DATASET_MB``), and no path is made from peer data.
* ``stop`` drains: no new association is accepted, the running ones may finish for
  ``RADGOV_DICOM_DRAIN_SECONDS`` (a scanner mid-study completes it), and those still running
  then are aborted (A-ABORT: their sender keeps what was not acknowledged and sends it
  again); every image acknowledged is recorded before it returns.
* Nothing the peer sent is logged: statuses and counts only.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import close_old_connections, connection
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.dsutils import encode_file_meta
from pynetdicom.pdu import A_ABORT_RQ
from pynetdicom.pdu_primitives import A_P_ABORT
from pynetdicom.presentation import AllStoragePresentationContexts, PresentationContext
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from radgov.compliance import networks
from radgov.core import config, crypto, machines, policy
from radgov.core.audit import Action, EventCode, record
from radgov.core.context import ActingContext, acting_as
from radgov.core.models import MachineKind
from radgov.exams.services.inference import SOP_UID_NAMESPACE
from radgov.gateway import associations, groups, results, services, spool

log = logging.getLogger("radgov.gateway")

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700  # Refused: out of resources (too large, or not stored)
CANNOT_UNDERSTAND = 0xC000  # Error: cannot understand (no UIDs, undecodable)
NOT_AUTHORIZED = 0x0124  # Refused: not authorized
REAP_EVERY_SECONDS = 0.1
ABORTED_END_SECONDS = 5.0  # how long the aborted associations' threads may take to end, in all
REJECTED_PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNISED = 0x01, 0x01, 0x03
UNDEFINED_LENGTH, DELIMITER_BYTES = 0xFFFFFFFF, 8


def _decoded_size(raw: bytes, transfer_syntax: str) -> int:
    """How many bytes the dataset takes once decoded: a deflated one is inflated first."""
    if UID(transfer_syntax).is_deflated:
        return len(zlib.decompress(raw, -zlib.MAX_WBITS))
    return len(raw)


def _whole(dataset: Dataset, size: int) -> bool:
    """Whether the ``size`` bytes received end where the dataset's last element ends.
    pydicom reads an element cut inside its value as a shorter value and a header cut short
    as nothing, so a truncated dataset would otherwise be stored as whole (found by
    tests/gateway/test_fuzz.py).  A sequence of undefined length is read to its delimiter."""
    if not len(dataset):
        return size == 0
    last = dataset.get_item(max(dataset.keys()))
    if not isinstance(last, RawDataElement):
        return True
    if last.length == UNDEFINED_LENGTH:
        return last.value_tell + len(last.value or b"") + DELIMITER_BYTES == size
    return bool(last.value_tell + last.length == size)


def _calling(event: Any) -> str:
    """The calling AE title of the association request (set before negotiation)."""
    return str(event.assoc.requestor.primitive.calling_ae_title or "").strip()[:16]


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


class _Contexts(list[PresentationContext]):
    """The listener's presentation contexts, which pynetdicom deep-copies for every
    association (so that one negotiation cannot change the server's): here each context and
    its list of transfer syntaxes are copied and the UIDs shared, as strings never changed.
    Making each of the 7,654 UIDs anew, each checked against a regular expression, cost
    38 ms of CPU an association (0.4 ms now): a fifth of the listener's CPU under
    tests/gateway/test_fuzz.py."""

    def __deepcopy__(self, memo: dict[int, Any]) -> list[PresentationContext]:
        copies = []
        for context in self:
            twin = copy.copy(context)
            twin._transfer_syntax = list(context._transfer_syntax)
            copies.append(twin)
        return copies


class _Server(ThreadedAssociationServer):
    """pynetdicom's server with a listen backlog for a burst of connections (its default,
    5, makes the sixth connection in the same instant wait for the kernel's retry, seconds
    later: found by tests/gateway/test_fuzz.py), serving on a socket already bound when
    given one (``inherited``: the listening socket of ``radgov gateway dicom --processes``,
    which every listener process of the port accepts on).

    On an inherited socket every process wakes for a new connection and the first to call
    accept() gets it: four associations arriving together landed 3 and 1 on two processes
    in five of eight turns of benchmarks/bench_gateway.py, and the process with three set
    the pace.  A process holding connections therefore waits ``accept_delay`` seconds for
    each (at most ``max_accept_delay``) before accepting, so a process holding fewer takes
    the connection first."""

    request_queue_size = 128
    accept_delay = 0.01  # a step longer than Python's thread switch interval (5 ms)
    max_accept_delay = 0.25  # a burst of connections delays the next one at most this

    def __init__(self, *args: Any, inherited: socket.socket | None = None, **kwargs: Any):
        self.inherited = inherited
        self.accepted: list[socket.socket] = []  # on an inherited socket; closed ones pruned
        super().__init__(*args, **kwargs)
        self.contexts = _Contexts(self.contexts)

    def held(self) -> int:
        """The connections this server holds: those it accepted and not yet closed, or its
        running associations when more (a TLS connection's accepted socket is closed when
        wrapped; an association's thread starts a moment after its accept)."""
        self.accepted = [s for s in self.accepted if s.fileno() != -1]
        return max(len(self.accepted), len(self.active_associations))

    def get_request(self) -> tuple[socket.socket, Any]:
        if self.inherited is None:
            return super().get_request()
        held = self.held()
        if held:  # a sibling holding fewer accepts first; then accept() finds nothing
            time.sleep(min(self.accept_delay * held, self.max_accept_delay))
        request, address = super().get_request()
        self.accepted.append(request)
        return request, address

    def server_bind(self) -> None:
        if self.inherited is None:
            super().server_bind()
            return
        self.socket.close()  # the one socketserver made, unbound
        self.socket = self.inherited
        # every process wakes for a new connection and one accepts it: the others must find
        # nothing to accept at once, not wait in accept() (where no stop reaches them)
        self.socket.setblocking(False)
        self.server_address = self.socket.getsockname()

    def server_close(self) -> None:
        if self.inherited is None:
            super().server_close()
        else:  # shutdown() would stop the sibling processes' accepting too: only close ours
            self.socket.close()


def _drain(server: Any, seconds: float) -> None:
    """Wait up to ``seconds`` for the server's associations to end, then abort the rest
    and wait (briefly) for their threads, so their ends reach the recorder."""
    deadline = time.monotonic() + seconds
    while server.active_associations and time.monotonic() < deadline:
        time.sleep(0.05)
    running = server.active_associations
    if not running:
        return
    log.warning("%d associations still running after %g s were aborted", len(running), seconds)
    for assoc in running:
        assoc.abort()
    ended_by = time.monotonic() + ABORTED_END_SECONDS  # one wait for all, not one each
    for assoc in running:
        assoc.join(max(0.0, ended_by - time.monotonic()))


class _AE(AE):
    """pynetdicom's AE, serving with ``_Server`` (on ``inherited`` when set)."""

    inherited: socket.socket | None = None

    def make_server(self, *args: Any, **kwargs: Any) -> Any:
        return super().make_server(
            *args, **{**kwargs, "server_class": _Server, "inherited": self.inherited}
        )


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
    drain_seconds: float = 10.0  # on stop, how long running associations may take to end
    tls_cert: str = ""  # PEM files: with both, TLS 1.2 or later only
    tls_key: str = ""
    base: Path | None = None  # the spool's root (default DATA_DIR/spool)
    sock: socket.socket | None = None  # a listening socket bound already (by the parent)
    recover: bool = True  # False: the parent of this listener process recovered the spool
    on_stored: Callable[[str], None] | None = None  # each acknowledged file's place, then
    server: Any = field(default=None, repr=False)
    recorder: groups.Recorder | None = field(default=None, repr=False)
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
            "drain_seconds": config.get_int("RADGOV_DICOM_DRAIN_SECONDS"),
            "tls_cert": config.get("RADGOV_DICOM_TLS_CERT") or "",
            "tls_key": config.get("RADGOV_DICOM_TLS_KEY") or "",
        }
        return cls(**config.with_overrides(values, overrides, port="RADGOV_DICOM_PORT"))

    def application_entity(self) -> AE:
        ae = _AE(ae_title=self.ae_title)
        ae.inherited = self.sock
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
        """Record the spool's images without a row (``groups.recover``, unless ``recover``
        is False), then listen (in background threads) until ``stop``."""
        handlers = [
            (evt.EVT_CONN_OPEN, _abort_on_error),
            (evt.EVT_REQUESTED, self._on_requested),
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_C_ECHO, lambda _event: SUCCESS),
            (evt.EVT_RELEASED, lambda event: self._ended(event, "released")),
            (evt.EVT_ABORTED, lambda event: self._ended(event, "aborted")),
        ]
        spool.prepare(self.base)
        if self.recover:
            groups.recover(self.base, site=self.site)
        self.recorder = groups.Recorder()
        self.server = self.application_entity().start_server(
            (self.host, self.port),
            block=False,
            evt_handlers=handlers,
            ssl_context=self.ssl_context(),
        )
        self._stopping = threading.Event()
        threading.Thread(target=self._reap, args=(self.server, self._stopping), daemon=True).start()

    def stop(self) -> None:
        """Stop accepting associations, let the running ones end (``drain_seconds``, then
        abort them), then record every image acknowledged."""
        if self.server is not None:
            server = self.server
            server.shutdown()  # its listening socket closed: a new association is refused
            self.server = None
            _drain(server, self.drain_seconds)
            self._stopping.set()  # the reaper runs until the drain is over
        if self.recorder is not None:
            self.recorder.stop()
            self.recorder = None

    def settle(self) -> None:
        """Wait until every image acknowledged so far is recorded."""
        if self.recorder is not None:
            self.recorder.settle()

    @staticmethod
    def _reap(server: Any, stopping: threading.Event) -> None:
        """End every association whose connection died before it sent an association
        request (random bytes, a malformed or truncated PDU): pynetdicom's acceptor would
        wait the ACSE timeout for a request that can no longer come, holding one of the
        listener's associations, so a few such connections a minute would lock out the
        scanners (found by tests/gateway/test_fuzz.py).  ``None`` on its queue is what
        pynetdicom reads as "no request": it closes the connection and ends."""
        while not stopping.wait(REAP_EVERY_SECONDS):
            for assoc in list(server.active_associations):
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
            return
        log.warning("refused an association: %s", why)
        try:  # answered once recorded: a peer told it was refused finds the refusal logged
            with acting_as(ActingContext(channel="dicom", client_address=requestor.address)):
                associations.record_refused(
                    calling_ae=_calling(event), address=requestor.address, peer=peer, reason=why
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

    def _ended(self, event: Any, how: str) -> None:
        """Hand the association's end, with what it carried, to the recorder (one that
        outlived ``stop`` is recorded at once), then close its thread's database connection
        (each association has a thread, and so a connection, of its own)."""
        counts = getattr(event.assoc, "radgov_counts", None)
        try:
            if counts is None:
                return
            requestor = event.assoc.requestor
            end = associations.Ended(
                calling_ae=requestor.ae_title,
                address=requestor.address,
                peer=event.assoc.radgov_peer,
                ended=how,
                **counts,
            )
            recorder = self.recorder
            if recorder is not None:
                recorder.add(end)
            else:
                groups.record([end])
        except Exception as exc:
            log.error("an association's end was not logged (%s)", type(exc))
        finally:
            connection.close()

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
            dataset: Dataset = event.dataset
            if not _whole(dataset, _decoded_size(raw, str(event.context.transfer_syntax))):
                log.warning("refused an instance cut short")
                return CANNOT_UNDERSTAND
            study_uid = str(dataset.StudyInstanceUID).strip()
            sop_uid = str(dataset.SOPInstanceUID).strip()
        except Exception:  # a truncated or undecodable dataset, or no UIDs
            log.warning("refused an instance without readable UIDs")
            return CANNOT_UNDERSTAND
        if not (study_uid and sop_uid):
            return CANNOT_UNDERSTAND
        sop_class_uid = str(event.request.AffectedSOPClassUID)
        if results.kind_of(sop_class_uid) is None:
            return self._acknowledge(event, peer, study_uid, sop_uid, sop_class_uid, raw)
        requestor = event.assoc.requestor
        try:
            with machines.acting_as(peer, channel="dicom", client_address=requestor.address):
                received = services.store_instance(
                    peer,
                    calling_ae=requestor.ae_title,
                    study_uid=study_uid,
                    sop_uid=sop_uid,
                    sop_class_uid=sop_class_uid,
                    transfer_syntax_uid=str(event.context.transfer_syntax),
                    meta=encode_file_meta(event.file_meta),
                    dataset=raw,
                    site=self.site,
                    base=self.base,
                )
        except services.NotPermitted:
            return NOT_AUTHORIZED
        except Exception as exc:  # not durable: the sender must keep it and resend
            log.error("an instance was not stored (%s); answered out of resources", type(exc))
            connection.close()  # the next instance starts on a fresh connection
            return OUT_OF_RESOURCES
        if not received.duplicate:
            self._take_result(received, sop_uid, requestor)
        if self.on_stored is not None:
            self.on_stored(received.instance.file_ref)
        return SUCCESS

    def _acknowledge(
        self, event: Any, peer: Any, study_uid: str, sop_uid: str, sop_class_uid: str, raw: bytes
    ) -> int:
        """An image: success once its file is durable in the spool (the same bytes already
        there: nothing written); its row is left to the recorder.  The peer's grant was
        checked when its association was accepted."""
        recorder = self.recorder
        if recorder is None or recorder.full():
            log.error("an instance was refused: too many wait to be recorded")
            return OUT_OF_RESOURCES
        uid_key = crypto.pseudonym(sop_uid, namespace=SOP_UID_NAMESPACE)
        transfer_syntax = str(event.context.transfer_syntax)
        try:
            meta = spool.file_meta(
                sop_class_uid, str(event.request.AffectedSOPInstanceUID or ""), transfer_syntax
            )
            stored = spool.write(uid_key, meta, raw, base=self.base)  # hashed while fsynced
        except Exception as exc:  # not durable: the sender must keep it and resend
            log.error("an instance was not stored (%s); answered out of resources", type(exc))
            return OUT_OF_RESOURCES
        requestor = event.assoc.requestor
        recorder.add(
            groups.Acknowledged(
                peer=peer,
                client_address=requestor.address,
                calling_ae=requestor.ae_title,
                study_uid=study_uid,
                uid_key=uid_key,
                sha256=stored.sha256,
                size=len(raw),
                sop_class_uid=sop_class_uid,
                transfer_syntax_uid=transfer_syntax,
                site=self.site,
            )
        )
        if self.on_stored is not None:
            self.on_stored(stored.file_ref)
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
