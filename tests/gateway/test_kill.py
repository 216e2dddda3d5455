"""SIGKILL of the listener in the middle of a 200-instance association loses nothing it
acknowledged (issue 14, "Bad input and faults"): a listener in a process of its own is
killed right after it made an image durable in the spool and before it answered it, with
rows still waiting in its group (docs/decisions/0005-gateway-acknowledges-on-the-spool.md); every
instance the sender saw acknowledged is then on disk, once, with the SHA-256 of what was
sent.  Restarted, the listener records every spooled file without a row before it serves
(each acknowledged instance is then in the database), and the sender sends the whole study
again: 200 instances, each stored exactly once (the one spooled but never answered is
acknowledged as a duplicate)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE

from radgov.gateway.listener import Listener
from radgov.gateway.models import Instance
from tests.gateway.conftest import SITE, as_sent, ct, database_url, free_port, new_uid

pytestmark = pytest.mark.django_db(transaction=True)

STUDY_SIZE = 200
KILLED_AT = 60  # the listener dies after spooling this instance, before answering it

LISTENER = """
import os, signal, sys, threading, django
django.setup()
from pathlib import Path
from radgov.gateway import groups
from radgov.gateway.listener import Listener
groups.GATHER_SECONDS = 300  # no group commits before the kill: every row is left to recovery
port, spool, site, killed_at = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
stored = []
def on_stored(file_ref):
    stored.append(file_ref)
    if len(stored) == killed_at:
        os.kill(os.getpid(), signal.SIGKILL)
Listener(port=port, base=spool, site=site, on_stored=on_stored).start()
print("ready", flush=True)
threading.Event().wait(300)
"""


def send(port: int, datasets: list) -> list[int | None]:  # type: ignore[type-arg]
    """C-STORE each dataset over one association as CT_MAIN; the status of each (None: no
    answer, the association gone)."""
    ae = AE(ae_title="CT_MAIN")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title="RADGOV")
    assert assoc.is_established
    statuses: list[int | None] = []
    for ds in datasets:
        if not assoc.is_established:
            statuses.append(None)
            continue
        answer = assoc.send_c_store(ds)
        statuses.append(getattr(answer, "Status", None))
    if assoc.is_established:
        assoc.release()
    return statuses


def stored_files(spool: Path) -> list[Path]:
    return sorted((spool / "instances").rglob("*.dcm"))


def test_sigkill_mid_association_loses_nothing_acknowledged(peer, tmp_path) -> None:
    spool = tmp_path / "spool"
    study = [ct(new_uid()) for _ in range(STUDY_SIZE)]
    sent = {str(ds.SOPInstanceUID): hashlib.sha256(as_sent(ds)).hexdigest() for ds in study}
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "radgov.settings"}
    env["DATABASE_URL"] = database_url()
    child = subprocess.Popen(  # noqa: S603 - this interpreter, our script
        [sys.executable, "-c", LISTENER, str(port), str(spool), SITE, str(KILLED_AT)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        statuses = send(port, study)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    acknowledged = [
        str(ds.SOPInstanceUID) for ds, s in zip(study, statuses, strict=True) if s == 0x0000
    ]
    assert len(acknowledged) == KILLED_AT - 1  # the killed one was never answered
    assert all(s is None for s in statuses[KILLED_AT - 1 :])
    spooled = {path.name.split(".")[1]: path for path in stored_files(spool)}
    assert len(spooled) == len(stored_files(spool)) == KILLED_AT  # each instance once
    assert set(spooled) == set(sent.values()) & set(spooled)  # nothing that was not sent
    for uid in acknowledged:  # on disk, whole, with the SHA-256 of what was sent
        on_disk = spooled[sent[uid]].read_bytes()
        assert on_disk.endswith(as_sent(next(ds for ds in study if ds.SOPInstanceUID == uid)))
    assert not Instance.objects.exists()  # the killed listener's group never committed

    restarted = Listener(port=free_port(), base=spool, site=SITE)
    restarted.start()  # records the spooled files without a row first
    rows = {i.sha256: i for i in Instance.objects.all()}
    assert len(rows) == Instance.objects.count() == KILLED_AT
    for uid in acknowledged:
        row = rows[sent[uid]]  # in the database, with the SHA-256 of what was sent
        on_disk = (spool / row.file_ref).read_bytes()
        assert hashlib.sha256(on_disk[-row.size :]).hexdigest() == sent[uid]
    try:
        again = send(restarted.port, study)  # the sender resends the whole study
    finally:
        restarted.stop()
    assert again == [0x0000] * STUDY_SIZE
    assert sorted(Instance.objects.values_list("sha256", flat=True)) == sorted(sent.values())
    assert not Instance.objects.filter(conflict=True).exists()
    assert len(stored_files(spool)) == STUDY_SIZE
