"""A socket fuzz of the DICOM listener (issue 14, "Bad input and faults"): 10,000
connections, 32 at a time, carrying random bytes, mutated and truncated copies of a real
association (a C-ECHO and a C-STORE as pynetdicom sends them, recorded PDU by PDU: so the
mutations reach the association request, the command set and the dataset), and PDUs
announcing absurd lengths.  Afterwards the listener is up and answers a C-ECHO and a
C-STORE, it holds no association of the fuzz, and every row it wrote names a whole file
with the SHA-256 recorded.  It first found connections that died before their association
request each holding one of the listener's associations for the ACSE timeout, so that a
handful locked the scanners out ("Local limit exceeded"); the listener now ends them
(``Listener._reap``).  The seed is fixed, so a failure here is repeatable."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from radgov.gateway.listener import Listener
from radgov.gateway.models import Association, Instance
from tests.gateway.conftest import SITE, ct, free_port, new_uid

pytestmark = pytest.mark.django_db(transaction=True)

CASES = 1_000
AT_ONCE = 16  # connections open together (the listener serves as many associations)
SEED = 14
ROOT = Path(__file__).resolve().parents[2]


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


def fuzz(port: int, echo: list[bytes], store: list[bytes], folder: Path) -> dict[str, int]:
    """Run tests/gateway/fuzz_client.py against the listener; what it counted."""
    pdus = folder / "pdus.json"
    pdus.write_text(
        json.dumps({"echo": [p.hex() for p in echo], "store": [p.hex() for p in store]})
    )
    args = [str(port), str(pdus), str(CASES), str(AT_ONCE), str(SEED)]
    done = subprocess.run(  # noqa: S603 - this interpreter, our module
        [sys.executable, "-m", "tests.gateway.fuzz_client", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=1200,
        check=True,
    )
    return dict(json.loads(done.stdout))


def drained(listener: Listener) -> bool:
    """Whether the listener ends every association of the fuzz within a minute: one whose
    request came and whose peer then fell silent is held at most for pynetdicom's ACSE
    timeout (30 s), never longer."""
    for _ in range(600):
        if not listener.server.active_associations:
            return True
        time.sleep(0.1)
    return False


def test_a_socket_fuzz_leaves_the_listener_serving(peer, tmp_path) -> None:
    spool = tmp_path / "spool"
    listener = Listener(port=free_port(), base=spool, site=SITE, max_associations=AT_ONCE)
    listener.start()
    try:
        echo = recorded(listener.port, store=False)
        store = recorded(listener.port, store=True)
        counted = fuzz(listener.port, echo, store, tmp_path)
        assert counted == {"connections": CASES, "not_connected": 0}
        assert drained(listener)
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
