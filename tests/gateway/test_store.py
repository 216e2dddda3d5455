"""Storing what the listener receives: durable before success, once per instance, a changed
instance kept beside the first, nothing for a peer without the grant; the listener's own
refusals (no UIDs, over the size limit) without a socket."""

from __future__ import annotations

import copy
import hashlib
import os
import random
import ssl
import subprocess
import threading
import zlib
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pydicom
import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from pydicom.filebase import DicomBytesIO
from pydicom.uid import (
    UID,
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
)
from pynetdicom.dsutils import create_file_meta, decode, encode_file_meta

from radgov.core import machines
from radgov.core.models import AuditEntry
from radgov.gateway import groups, listener, services, spool
from radgov.gateway.models import Instance, Study
from tests.gateway.conftest import MRN, STUDY, as_sent, ct, new_uid, store


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_an_instance_is_in_the_spool_as_sent_and_recorded_before_it_is_acknowledged(
    peer, spool
) -> None:
    ds = ct(new_uid())
    sent = as_sent(ds)
    received = store(peer, ds, spool)
    row = received.instance
    assert (received.duplicate, received.conflict) == (False, False)
    assert row.sha256 == hashlib.sha256(sent).hexdigest() and row.size == len(sent)
    on_disk = spool / row.file_ref
    assert files(spool) == [on_disk]  # nothing left in incoming/
    assert on_disk.read_bytes().endswith(sent)
    assert pydicom.dcmread(on_disk).SOPInstanceUID == ds.SOPInstanceUID
    assert MRN not in row.file_ref and str(ds.SOPInstanceUID) not in row.file_ref
    study = Study.objects.get()
    assert (study.instance_count, study.site, study.completed_at) == (1, "Main Hospital CT", None)
    entry = AuditEntry.objects.get(object_type="gateway.instance")
    assert (entry.event_code, entry.actor_name, entry.actor_role) == (
        "110104",
        "dicom:CT_MAIN",
        "machine:dicom_peer",
    )
    assert entry.detail["batch"]["count"] == 2  # the instance and its study
    assert MRN not in entry.detail_json


def test_a_resent_instance_is_acknowledged_once_and_a_changed_one_kept_beside_it(
    peer, spool
) -> None:
    uid = new_uid()
    first = store(peer, ct(uid), spool)
    again = store(peer, ct(uid), spool)
    assert again.duplicate and again.instance.pk == first.instance.pk
    before = (spool / first.instance.file_ref).read_bytes()
    changed = store(peer, ct(uid, SeriesDescription="edited"), spool)
    assert changed.conflict and not changed.duplicate
    assert Instance.objects.filter(conflict=True).get().pk == changed.instance.pk
    assert (spool / first.instance.file_ref).read_bytes() == before  # never overwritten
    assert len(files(spool)) == 2 and Study.objects.get().instance_count == 2


def statements(captured: CaptureQueriesContext) -> list[str]:
    """The statements run, without the savepoints of the test's own transaction."""
    return [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"].upper()]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite's writers queue at BEGIN and never meet"
)
def test_associations_bringing_a_new_study_at_once_make_one_study(spool) -> None:
    """Eight associations each store a first image of the same new study at the same moment
    (the race that made a unique-key error and an out-of-resources answer on PostgreSQL):
    every image is stored, under one study."""
    peer = machines.register(
        None, kind="dicom_peer", name="dicom:CT_MAIN", ae_title="CT_MAIN",
        address="127.0.0.1", grants=["gateway.store"],
    )  # fmt: skip

    def send(ds: Any, start: threading.Barrier, failures: list[BaseException]) -> None:
        try:
            start.wait()
            store(peer, ds, spool)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    for _ in range(3):
        study, start, failures = new_uid(), threading.Barrier(8), []
        threads = [
            threading.Thread(target=send, args=(ct(new_uid(), study=study), start, failures))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
    assert sorted(Study.objects.values_list("instance_count", flat=True)) == [8, 8, 8]
    assert Instance.objects.count() == 24


def test_storing_an_instance_runs_a_fixed_handful_of_statements(peer, spool) -> None:
    """Per C-STORE: the rows of its UID (one read for a retransmission and a conflict), the
    study's row locked and updated (or made), the instance's row, and the audit append
    (three statements on SQLite, two on PostgreSQL).  Pinned so that it cannot grow unseen."""
    first = ct(new_uid())
    with CaptureQueriesContext(connection) as made:
        store(peer, first, spool)
    with CaptureQueriesContext(connection) as next_one:
        store(peer, ct(new_uid()), spool)
    with CaptureQueriesContext(connection) as again:
        assert store(peer, first, spool).duplicate
    assert len(statements(made)) <= 7, statements(made)
    assert len(statements(next_one)) <= 7, statements(next_one)
    assert len(statements(again)) == 1, statements(again)  # no row, no audit entry
    inserts = [sql for sql in statements(next_one) if sql.startswith("INSERT")]
    assert inserts[0].startswith('INSERT INTO "gateway_instance"')
    assert sum("core_auditentry" in sql for sql in statements(next_one)) == 1
    assert AuditEntry.objects.filter(object_type="gateway.instance").count() == 2


def test_an_instance_whose_file_cannot_be_written_is_not_recorded(peer, spool) -> None:
    """The file is written while the row is recorded; a write that fails rolls the row back
    (the listener then answers out of resources and the sender sends it again)."""
    spool.mkdir()
    (spool / "incoming").write_text("not a folder")
    with pytest.raises(OSError):
        store(peer, ct(new_uid()), spool)
    assert not Instance.objects.exists() and not Study.objects.exists()
    assert not AuditEntry.objects.filter(object_type="gateway.instance").exists()


def test_a_peer_without_the_store_grant_stores_nothing(peer, spool) -> None:
    machines.set_grants(None, peer, [])
    peer.refresh_from_db()
    with pytest.raises(services.NotPermitted, match="gateway.store"):
        store(peer, ct(new_uid()), spool)
    assert not Instance.objects.exists() and not spool.exists()


def test_the_spool_encodes_file_meta_as_pynetdicom_does() -> None:
    for sop_uid in ("1.2.3", "1.2.34", new_uid()):  # odd and even lengths: padded alike
        for syntax in (ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian):
            made = create_file_meta(
                sop_class_uid=CTImageStorage, sop_instance_uid=sop_uid, transfer_syntax=syntax
            )
            expected = encode_file_meta(made)
            assert spool.file_meta(CTImageStorage, sop_uid, syntax) == expected


def test_each_association_gets_a_copy_of_the_contexts_no_negotiation_can_change() -> None:
    """pynetdicom deep-copies the server's presentation contexts for every association; the
    listener's copy shares the UIDs (immutable) but copies every context and its list of
    transfer syntaxes, and holds what a full deep copy holds."""
    server = (
        listener.Listener(port=0).application_entity().start_server(("127.0.0.1", 0), block=False)
    )
    try:
        ours, full = copy.deepcopy(server.contexts), copy.deepcopy(list(server.contexts))
    finally:
        server.shutdown()
    assert len(ours) == len(full) > 150
    assert [vars(c) for c in ours] == [vars(c) for c in full]
    for mine, theirs in zip(ours, server.contexts, strict=True):
        assert mine is not theirs and mine.transfer_syntax is not theirs.transfer_syntax
        assert mine.abstract_syntax is theirs.abstract_syntax  # shared, not made again
    ours[0].transfer_syntax.clear()
    ours[0].context_id, ours[0].result = 1, 0
    assert server.contexts[0].transfer_syntax and server.contexts[0].context_id is None


def test_the_spool_hashes_an_instance_while_fsyncing_it_and_writes_it_once(tmp_path) -> None:
    ds = ct(new_uid())
    meta, raw = encode_file_meta(ds.file_meta), as_sent(ds)
    first = spool.write("a" * 64, meta, raw, base=tmp_path)  # no folder made beforehand
    again = spool.write("a" * 64, meta, raw, base=tmp_path)
    assert first.written and not again.written and first == replace(again, written=True)
    assert first.sha256 == hashlib.sha256(raw).hexdigest()
    assert (tmp_path / first.file_ref).read_bytes() == spool.PREAMBLE + meta + raw
    assert not list((tmp_path / "incoming").iterdir())  # the second copy was removed


def test_spool_paths_are_made_of_digests_and_stay_inside_the_spool(tmp_path) -> None:
    with pytest.raises(ValueError, match="two SHA-256"):
        spool.place("../../etc", "0" * 64)
    with pytest.raises(ValueError, match="outside the spool"):
        spool.path_of("../escape.dcm", base=tmp_path)


class _Event:
    """What pynetdicom hands the C-STORE handler, for the refusals that need no socket."""

    def __init__(self, peer, data: bytes, syntax: str = ExplicitVRLittleEndian) -> None:  # type: ignore[no-untyped-def]
        self.data = data
        self.assoc = SimpleNamespace(
            radgov_peer=peer, requestor=SimpleNamespace(ae_title="CT_MAIN", address="127.0.0.1")
        )
        self.request = SimpleNamespace(
            AffectedSOPClassUID=CTImageStorage, AffectedSOPInstanceUID="1.2.3"
        )
        self.context = SimpleNamespace(transfer_syntax=syntax)
        self.file_meta = ct("1.2.3").file_meta

    def encoded_dataset(self, include_meta: bool = True) -> bytes:
        return self.data

    @property
    def dataset(self):  # type: ignore[no-untyped-def]
        data = self.data
        if UID(self.context.transfer_syntax).is_deflated:
            data = zlib.decompress(data, -zlib.MAX_WBITS)
        return decode(DicomBytesIO(data), False, True)


class _RecordingAtOnce:
    """The listener's recorder, recording each image as it is added, in the test's own
    transaction (the real one records from a thread and connection of its own)."""

    def full(self) -> bool:
        return False

    def add(self, item: groups.Acknowledged) -> None:
        groups.record([item])


def test_the_listener_refuses_an_instance_without_uids_or_over_the_limit(
    peer, spool, monkeypatch
) -> None:
    # the handler runs in an association's thread; here in the test's transaction
    monkeypatch.setattr(listener, "close_old_connections", lambda: None)
    server = listener.Listener(port=0, base=spool, max_dataset_bytes=4096)
    server.recorder = _RecordingAtOnce()  # type: ignore[assignment]
    no_uid = ct(new_uid())
    del no_uid.SOPInstanceUID
    assert server._on_store(_Event(peer, as_sent(no_uid))) == listener.CANNOT_UNDERSTAND
    assert server._on_store(_Event(peer, b"\x08\x00\x16")) == listener.CANNOT_UNDERSTAND
    whole = as_sent(ct(new_uid(), PixelData=b"\x00" * 512))
    for cut in (1, 6, 300):  # inside the pixels' value, inside their header, an element lost
        assert server._on_store(_Event(peer, whole[:-cut])) == listener.CANNOT_UNDERSTAND
    big = ct(new_uid(), PixelData=b"\x00" * 8192)
    assert server._on_store(_Event(peer, as_sent(big))) == listener.OUT_OF_RESOURCES
    assert server._on_store(_Event(None, as_sent(ct(new_uid())))) == listener.NOT_AUTHORIZED
    assert not Instance.objects.exists() and not spool.exists()
    assert server._on_store(_Event(peer, as_sent(ct(new_uid(), study=STUDY)))) == listener.SUCCESS
    assert Instance.objects.count() == 1
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)  # deflated: whole once inflated
    deflated = packer.compress(whole) + packer.flush()
    sent = _Event(peer, deflated, DeflatedExplicitVRLittleEndian)
    assert server._on_store(sent) == listener.SUCCESS
    assert Instance.objects.count() == 2


@pytest.mark.peer("openssl")
def test_the_listener_speaks_tls_1_2_or_later_when_given_a_certificate(tmp_path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603 - openssl, our arguments
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=radgov"],
        check=True,
        capture_output=True,
    )
    assert listener.Listener(port=0).ssl_context() is None
    context = listener.Listener(port=0, tls_cert=str(cert), tls_key=str(key)).ssl_context()
    assert context is not None and context.minimum_version == ssl.TLSVersion.TLSv1_2
    with pytest.raises(ValueError, match="both"):
        listener.Listener(port=0, tls_cert=str(cert)).ssl_context()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_mutated_datasets_get_a_status_and_never_a_crash(peer, spool, monkeypatch) -> None:
    """120 seeded mutations of a real instance (bytes flipped, cut, repeated): each answered
    with a DIMSE status, and whatever was stored is whole (a small fuzz; the 10,000-case
    socket fuzz of issue 14 is not done)."""
    monkeypatch.setattr(listener, "close_old_connections", lambda: None)
    server = listener.Listener(port=0, base=spool, max_dataset_bytes=1 << 20)
    original = as_sent(ct(new_uid()))
    rng = random.Random(14)
    statuses = set()
    for _ in range(120):
        data = bytearray(original)
        kind = rng.randrange(3)
        if kind == 0:
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 1:
            del data[rng.randrange(len(data)) :]
        else:
            start = rng.randrange(len(data))
            data[start:start] = data[start : start + rng.randint(1, 64)]
        statuses.add(server._on_store(_Event(peer, bytes(data))))
    assert statuses <= {listener.SUCCESS, listener.CANNOT_UNDERSTAND, listener.OUT_OF_RESOURCES}
    assert listener.CANNOT_UNDERSTAND in statuses
    for row in Instance.objects.all():
        assert hashlib.sha256(dataset_of(spool / row.file_ref)).hexdigest() == row.sha256


def dataset_of(path: Path) -> bytes:
    data = path.read_bytes()
    return data[144 + int.from_bytes(data[140:144], "little") :]


def test_a_forked_process_writes_to_the_spool_with_threads_of_its_own(tmp_path) -> None:
    """A child forked after the parent wrote has none of the parent's spool threads; with
    the parent's pool its write would wait forever."""
    key = "b" * 64
    spool.writing(key, b"", b"parent", sha256=spool.digest(b"parent"), base=tmp_path).result()
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if its write ran
        try:
            data = b"child"
            spool.writing(key, b"", data, sha256=spool.digest(data), base=tmp_path).result(10)
        finally:
            os._exit(0 if len(files(tmp_path)) == 2 else 1)
    assert os.waitpid(pid, 0)[1] == 0
