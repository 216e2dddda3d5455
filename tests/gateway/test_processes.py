"""Several listener processes on one port (``radgov gateway dicom --processes N``): the
parent binds the socket and the children accept on it; concurrent associations are each
stored exactly once whichever process took them, a retransmission reaching two processes is
recorded once and the same UID with other bytes is kept as a conflict, recovery beside a
recording sibling records each image once, a killed child is started again and beats, and
the children die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE

from radgov.core.audit.verify import verify_trail
from radgov.core.models import AuditEntry, ProcessBeat
from radgov.gateway import groups, services
from radgov.gateway.models import Association, Instance, Study
from tests.gateway.conftest import ct, database_url, free_port, new_uid, storescu_args
from tests.gateway.test_groups import spooled
from tests.integration.serving import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

CHILDREN = ("gateway-dicom-1", "gateway-dicom-2")


def beating() -> dict[str, int]:
    """The pid each gateway process last beat with."""
    return dict(
        ProcessBeat.objects.filter(name__startswith="gateway-dicom").values_list("name", "pid")
    )


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


@dataclass
class Listening:
    proc: subprocess.Popen[str]
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text()


@pytest.fixture
def listening(peer: Any, tmp_path: Path) -> Iterator[Listening]:
    """``radgov gateway dicom --processes 2`` on a free port, against the test database, its
    spool in a data folder of its own; once both children beat."""
    port, log = free_port(), tmp_path / "listener.log"
    env = {**os.environ, "DATABASE_URL": database_url(), "RADGOV_DATA_DIR": str(tmp_path)}
    env["RADGOV_DICOM_QUIET_SECONDS"] = "3600"  # nothing routed: the rows are under test
    with open(log, "w") as out:
        proc = subprocess.Popen(  # noqa: S603 - this interpreter, our command
            [sys.executable, "-m", "radgov.cli", "gateway", "dicom", "--processes", "2"]
            + ["--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    served = Listening(proc, port, log)
    try:
        assert wait_until(lambda: set(CHILDREN) <= set(beating())), served.output()
        yield served
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def send(port: int, datasets: list[Any]) -> list[int]:
    """C-STORE each dataset over one association as CT_MAIN; the status of each."""
    ae = AE(ae_title="CT_MAIN")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 120  # a busy CI machine
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title="RADGOV")
    assert assoc.is_established
    try:
        return [int(assoc.send_c_store(ds).Status) for ds in datasets]
    finally:
        assoc.release()


@pytest.mark.peer("storescu")
def test_two_processes_store_concurrent_associations_each_image_once(listening, tmp_path) -> None:
    """Eight associations at once (dcmtk's storescu, eight processes: pynetdicom as the
    sender, threads in this process, now and then lost a response to its own reactor under
    load, "Received unexpected C-STORE service message"): each brings five images of its
    own, the same resent image, and one of two versions of a changed image; every one is
    answered with success and recorded once, the changed one twice with the second marked
    a conflict."""
    study, resent, changed = new_uid(), new_uid(), new_uid()
    own = [[ct(new_uid(), study=study) for _ in range(5)] for _ in range(8)]
    shared = ct(resent, study=study)
    versions = [ct(changed, study=study), ct(changed, study=study, KVP="140")]
    senders = []
    for n in range(8):
        files = []
        for k, dataset in enumerate([*own[n], shared, versions[n % 2]]):
            files.append(tmp_path / f"{n}-{k}.dcm")
            dataset.save_as(files[-1], enforce_file_format=True)
        senders.append(
            subprocess.Popen(  # noqa: S603 - dcmtk's storescu, our arguments
                storescu_args(listening.port, "CT_MAIN", files),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [sender.communicate(timeout=600)[0] for sender in senders]
    codes = [sender.returncode for sender in senders]
    assert codes == [0] * 8 and not any("E:" in output for output in outputs), outputs
    expected = 8 * 5 + 1 + 2
    assert wait_until(lambda: Instance.objects.count() >= expected), listening.output()
    assert wait_until(lambda: Association.objects.count() == 8), listening.output()
    rows = list(Instance.objects.all())
    assert len(rows) == expected and len({(r.sop_uid_hash, r.sha256) for r in rows}) == expected
    assert sum(r.conflict for r in rows) == 1  # the changed image's second version
    assert Study.objects.get().instance_count == expected
    assert all(r.peer is not None and r.calling_ae == "CT_MAIN" for r in rows)  # none recovered
    assert sorted(Association.objects.values_list("stored", flat=True)) == [7] * 8
    entries = AuditEntry.objects.filter(object_type="gateway.instance")
    assert {e.actor_name for e in entries} == {"dicom:CT_MAIN"}
    # each group's entry counts its instances and their one study
    assert sum(e.detail["batch"]["count"] - 1 for e in entries) == expected
    assert verify_trail(record_use=False).ok


def test_a_killed_listener_process_is_started_again_and_all_die_with_the_parent(
    listening,
) -> None:
    first = beating()
    os.kill(first["gateway-dicom-1"], signal.SIGKILL)
    assert wait_until(
        lambda: beating().get("gateway-dicom-1") not in (None, first["gateway-dicom-1"])
    ), listening.output()
    again = beating()
    assert "gateway-dicom-1 (pid" in listening.output() and "restarting" in listening.output()
    assert again["gateway-dicom-2"] == first["gateway-dicom-2"]  # its sibling kept serving
    # the port still serves, whichever process takes the association
    assert send(listening.port, [ct(new_uid()) for _ in range(3)]) == [0x0000] * 3
    assert wait_until(lambda: Instance.objects.count() == 3)

    children = [again[name] for name in CHILDREN]
    assert all(running(pid) for pid in children)
    os.kill(listening.proc.pid, signal.SIGKILL)  # the parent alone, not its group
    listening.proc.wait(timeout=10)
    assert wait_until(lambda: not any(running(pid) for pid in children), timeout=30)


def test_a_second_listener_on_the_port_refuses(listening, tmp_path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url(), "RADGOV_DATA_DIR": str(tmp_path)}
    for processes in ("1", "2"):
        second = subprocess.run(  # noqa: S603 - this interpreter, our command
            [sys.executable, "-m", "radgov.cli", "gateway", "dicom", "--port", str(listening.port)]
            + ["--processes", processes],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 1
        assert f"cannot listen on 127.0.0.1:{listening.port}" in second.stderr


def record_at_once(*calls: Callable[[], object]) -> None:
    """Run each call in a thread of its own (its own database connection, as a process of
    its own would have), all started together."""
    start, failures = threading.Barrier(len(calls)), []

    def run(call: Callable[[], object]) -> None:
        try:
            start.wait()
            call()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


@pytest.mark.parametrize("again", ["resent", "changed"])
def test_groups_of_two_processes_record_a_resent_image_once_and_mark_a_conflict(
    peer, spool, monkeypatch, again
) -> None:
    """The first group holds its transaction open after it read the rows already recorded;
    the second, for the same study, must wait for it and then read what it recorded: without
    the study's lock it read nothing, and recorded the resent image a second time (refused
    by the unique key, the whole group failed) or the changed one without its conflict."""
    study, uid = new_uid(), new_uid()
    first = [spooled(peer, ct(uid, study=study), spool)]
    if again == "resent":
        second = [spooled(peer, ct(uid, study=study), spool)]
    else:
        second = [spooled(peer, ct(uid, study=study, KVP="140"), spool)]
    opened, release = threading.Event(), threading.Event()
    open_study = services.open_study

    def held_open(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "first":
            opened.set()
            release.wait(30)
        return open_study(*args, **kwargs)

    monkeypatch.setattr(groups, "open_study", held_open)

    def first_group() -> None:
        threading.current_thread().name = "first"
        groups.record(first)

    def second_group() -> None:
        assert opened.wait(30)
        threading.Timer(0.5, release.set).start()  # time for it to reach its read
        groups.record(second)

    record_at_once(first_group, second_group)
    rows = [(r.sha256, r.conflict) for r in Instance.objects.order_by("pk")]
    if again == "resent":
        assert rows == [(first[0].sha256, False)]
    else:
        assert rows == [(first[0].sha256, False), (second[0].sha256, True)]
    assert Study.objects.get().instance_count == len(rows)


def test_recovery_beside_a_recording_process_records_each_image_once(peer, spool) -> None:
    """A listener process started again recovers the spool while its sibling records the
    same images it just acknowledged: each is recorded once, by one or the other."""
    study = new_uid()
    items = [spooled(peer, ct(new_uid(), study=study), spool) for _ in range(40)]
    record_at_once(lambda: groups.record(items), lambda: groups.recover(spool))
    rows = list(Instance.objects.all())
    assert sorted(r.sha256 for r in rows) == sorted(i.sha256 for i in items)
    assert not any(r.conflict for r in rows)
    assert Study.objects.get().instance_count == 40
