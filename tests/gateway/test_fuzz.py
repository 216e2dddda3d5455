"""A socket fuzz of the DICOM listener (issue 14, "Bad input and faults"): a few hundred
connections carrying random bytes, mutated and truncated copies of a real association (a
C-ECHO and a C-STORE as pynetdicom sends them, recorded PDU by PDU), and PDUs announcing
absurd lengths.  Afterwards the listener is up and answers a C-ECHO and a C-STORE, and every
row it wrote names a whole file with the SHA-256 recorded.  It first found connections that
died before their association request each holding one of the listener's associations for
the ACSE timeout, so that a handful locked the scanners out ("Local limit exceeded"); the
listener now ends them (``Listener._reap``).  ``benchmarks`` may run more;
the seed is fixed, so a failure here is repeatable."""

from __future__ import annotations

import hashlib
import random
import socket
import struct

import pytest
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from radgov.gateway.listener import Listener
from radgov.gateway.models import Association, Instance
from tests.gateway.conftest import SITE, ct, free_port, new_uid

pytestmark = pytest.mark.django_db(transaction=True)

CASES = 300
SEED = 14


def recorded(port: int, *, store: bool) -> list[bytes]:
    """The PDUs a real SCU sends in one association (a C-ECHO, or a C-STORE of a CT)."""
    pdus: list[bytes] = []
    ae = AE(ae_title="CT_MAIN")
    ae.add_requested_context(Verification)
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    handlers = [(evt.EVT_DATA_SENT, lambda event: pdus.append(bytes(event.data)))]
    assoc = ae.associate("127.0.0.1", port, ae_title="RADGOV", evt_handlers=handlers)
    assert assoc.is_established
    status = assoc.send_c_store(ct(new_uid())) if store else assoc.send_c_echo()
    assert status.Status == 0x0000
    assoc.release()
    return pdus


def mutate(rng: random.Random, pdus: list[bytes]) -> bytes:
    stream = bytearray(b"".join(pdus))
    how = rng.choice(["flip", "truncate", "length", "insert", "shuffle"])
    if how == "flip":
        for _ in range(rng.randint(1, 8)):
            stream[rng.randrange(len(stream))] = rng.randrange(256)
    elif how == "truncate":
        del stream[rng.randrange(1, len(stream)) :]
    elif how == "length":  # a PDU announcing a length it does not carry, or an absurd one
        first = bytearray(rng.choice(pdus))
        first[2:6] = struct.pack(">I", rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, len(first)]))
        stream = first + stream
    elif how == "insert":
        at = rng.randrange(len(stream))
        stream[at:at] = rng.randbytes(rng.randint(1, 64))
    else:
        parts = list(pdus)
        rng.shuffle(parts)
        stream = bytearray(b"".join(parts))
    return bytes(stream)


def throw(port: int, data: bytes) -> None:
    """Send ``data`` on a fresh connection, say it is all, and read what comes back until
    the listener closes or falls silent."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.settimeout(0.5)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
        except OSError:  # reset or silent: either is an answer
            pass


def test_a_socket_fuzz_leaves_the_listener_serving(peer, tmp_path) -> None:
    spool = tmp_path / "spool"
    listener = Listener(port=free_port(), base=spool, site=SITE)
    listener.start()
    try:
        echo = recorded(listener.port, store=False)
        store = recorded(listener.port, store=True)
        rng = random.Random(SEED)
        for n in range(CASES):
            if n % 3 == 0:
                data = rng.randbytes(rng.randint(0, 2048))
                if data and rng.random() < 0.5:  # a plausible PDU type, then noise
                    data = bytes([rng.randint(1, 7), 0]) + data
            else:
                data = mutate(rng, echo if n % 3 == 1 else store)
            throw(listener.port, data)
        after_echo = recorded(listener.port, store=False)  # still serving: C-ECHO
        after_store = recorded(listener.port, store=True)  # and C-STORE
    finally:
        listener.stop()
    assert after_echo and after_store
    assert Association.objects.filter(accepted=True, ended="released").count() >= 4
    for row in Instance.objects.all():  # whatever the fuzz got stored is whole
        data = (spool / row.file_ref).read_bytes()
        assert hashlib.sha256(data[-row.size :]).hexdigest() == row.sha256
    assert not list((spool / "incoming").glob("*.part"))
