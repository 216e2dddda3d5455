"""The rows of acknowledged images, recorded in groups (docs/decisions/0005-gateway-acknowledges-on-the-spool.md).

The listener answers a C-STORE of an image with success once its file is written, fsynced
and renamed into the spool (``spool.write``): the spool, not the database, is what makes an
acknowledged instance durable.  Its row is then recorded by the listener's ``Recorder``, a
thread of its own that takes every instance waiting (from all of the listener's
associations) and records them in one transaction: one query for the rows already there,
each study touched once, one bulk insert, and one audit entry (``Instances Transferred``,
110104) carrying the count and digest of the rows (``audit.batch``).  A group is committed a
few milliseconds after its first instance was acknowledged.  The rows of the listener's
associations that ended are recorded by the same thread, in a transaction of their own
after the group's images.

``recover`` records every file in the spool that has no row: the instances of a listener
killed between an answer and its group's commit.  The listener runs it before it serves
(with ``--processes``, the parent before its children start, and a child started again).

``settle`` waits for every instance acknowledged so far to be recorded; routing runs it
before it looks for quiet studies, so a study is never seen complete while images of it
wait in a group.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
from django.db import connection
from django.utils import timezone

from radgov.core import machines
from radgov.core.audit import Action, EventCode, batch
from radgov.core.context import ActingContext, acting_as
from radgov.core.services import service
from radgov.gateway import associations, results, spool
from radgov.gateway.models import Instance
from radgov.gateway.services import lock_studies, open_study

log = logging.getLogger("radgov.gateway")
RECOVER_TASK = "gateway.recover"
# how long a group waits for more instances after its first: a group costs a transaction's
# Python beside the associations' threads, so fewer, larger groups let them receive faster
# (bench_gateway, radgov / bare: 0.78x -> 0.94x SQLite, 0.80x -> 0.84x PostgreSQL, at 20 ms
# -> 250 ms); an association's end sends the group at once, and routing hurries the groups
# of its process (``settle``)
GATHER_SECONDS = 0.25
GROUP_LIMIT = 500  # instances recorded in one transaction at most
BACKLOG_LIMIT = 5000  # instances waiting past which the listener answers out of resources
RETRY_SECONDS = 1.0
SETTLE_SECONDS = 60.0  # how long routing waits for the groups of its process
META_LENGTH_AT = len(spool.PREAMBLE) + 8  # (0002,0000) UL's value, explicit VR little endian


@dataclass(frozen=True)
class Acknowledged:
    """An image whose file is durable in the spool, waiting for its row."""

    peer: Any  # the calling ``core.Machine``; None: found by ``recover``
    client_address: str
    calling_ae: str
    study_uid: str
    uid_key: str
    sha256: str
    size: int
    sop_class_uid: str
    transfer_syntax_uid: str
    site: str


@service
def record_group(items: list[Acknowledged], *, detail: dict[str, Any] | None = None) -> int:
    """Record the rows of ``items`` (as the acting principal) in one transaction: the same
    instance again (its UID and digest already recorded, or earlier in the group) gets no
    second row; the same UID with another digest is kept as a conflict.  Their studies are
    locked first (``lock_studies``), so groups of other listener processes, and ``recover``
    running beside them, record each image once.  Returns how many rows were made."""
    lock_studies({item.study_uid for item in items})
    seen: dict[str, list[str]] = defaultdict(list)
    keys = {item.uid_key for item in items}
    for uid_key, sha256 in Instance.objects.filter(sop_uid_hash__in=keys).values_list(
        "sop_uid_hash", "sha256"
    ):
        seen[uid_key].append(sha256)
    new: list[tuple[Acknowledged, bool]] = []
    for item in items:
        if item.sha256 not in seen[item.uid_key]:
            new.append((item, bool(seen[item.uid_key])))
            seen[item.uid_key].append(item.sha256)
    if not new:
        return 0
    now = timezone.now()
    by_study: dict[tuple[str, str], int] = defaultdict(int)
    for item, _ in new:
        by_study[item.study_uid, item.site] += 1
    with batch(
        action=Action.CREATE,
        object_type="gateway.instance",
        event_code=EventCode.INSTANCES_TRANSFERRED,
        detail={
            "calling_ae": sorted({item.calling_ae for item, _ in new}),
            "sop_class_uid": sorted({item.sop_class_uid for item, _ in new}),
            "conflicts": sum(conflict for _, conflict in new),
            **(detail or {}),
        },
    ):
        studies = {
            key: open_study(*key, now, reopen=True, count=count) for key, count in by_study.items()
        }
        Instance.objects.bulk_create(
            Instance(
                study=studies[item.study_uid, item.site],
                sop_uid_hash=item.uid_key,
                sop_class_uid=item.sop_class_uid,
                transfer_syntax_uid=item.transfer_syntax_uid,
                file_ref=spool.place(item.uid_key, item.sha256),
                sha256=item.sha256,
                size=item.size,
                calling_ae=item.calling_ae,
                peer=item.peer,
                conflict=conflict,
            )
            for item, conflict in new
        )
    return len(new)


def record(items: list[Acknowledged | associations.Ended]) -> None:
    """``record_group`` once for each calling peer and address among the images of
    ``items``, acting as that peer; then the ended associations among them, in one
    transaction, as the listener."""
    by_caller: dict[tuple[Any, str], list[Acknowledged]] = defaultdict(list)
    ends: list[associations.Ended] = []
    for item in items:
        if isinstance(item, associations.Ended):
            ends.append(item)
        else:
            by_caller[item.peer, item.client_address].append(item)
    for (peer, address), group in by_caller.items():
        with machines.acting_as(peer, channel="dicom", client_address=address):
            record_group(group)
    if ends:
        with acting_as(ActingContext(channel="dicom")):
            associations.record_ended(ends)


_recorders: weakref.WeakSet[Recorder] = weakref.WeakSet()


class Recorder:
    """A listener's group writer: ``add`` an acknowledged image or an ended association,
    recorded by its thread.  Under a burst, one writer committing groups keeps SQLite's
    lock from being fought over by every association's thread, where one of them waited
    past the lock's timeout and its association's end went unlogged (the socket fuzz,
    tests/gateway/test_fuzz.py)."""

    def __init__(self) -> None:
        self._waiting: list[Acknowledged | associations.Ended] = []
        self._changed = threading.Condition()
        self._added = self._recorded = 0
        self._hurry = self._stopping = self._ended = False
        self._thread = threading.Thread(target=self._run, name="radgov-recorder", daemon=True)
        self._thread.start()
        _recorders.add(self)

    def full(self) -> bool:
        """Whether so many instances wait (the database down or slow) that no more should
        be acknowledged until they are recorded."""
        return len(self._waiting) >= BACKLOG_LIMIT

    def add(self, item: Acknowledged | associations.Ended) -> None:
        with self._changed:
            self._waiting.append(item)
            self._added += 1
            # an association ended: its images wait for nothing more, so its group goes now
            self._ended = self._ended or isinstance(item, associations.Ended)
            self._changed.notify_all()

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until every instance added so far is recorded; False: not within
        ``timeout`` seconds (the database is failing)."""
        with self._changed:
            target = self._added
            self._hurry = True
            self._changed.notify_all()
            return self._changed.wait_for(lambda: self._recorded >= target, timeout)

    def stop(self) -> None:
        """Record what waits, then end the thread; what could not be recorded within
        ``SETTLE_SECONDS`` (the database failing) is left to ``recover`` at the next start."""
        if not self.settle(SETTLE_SECONDS):
            log.error("%d acknowledged instances left to recovery", len(self._waiting))
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._thread.join()
        _recorders.discard(self)

    def _take(self) -> list[Acknowledged | associations.Ended] | None:
        with self._changed:
            self._changed.wait_for(lambda: self._waiting or self._stopping)
            if self._stopping:
                return None
            if not self._go():
                self._changed.wait_for(self._go, GATHER_SECONDS)
            self._ended = self._ended and len(self._waiting) > GROUP_LIMIT
            return self._waiting[:GROUP_LIMIT]

    def _go(self) -> bool:
        """Whether the group waiting goes without gathering more."""
        return self._hurry or self._ended or len(self._waiting) >= GROUP_LIMIT

    def _run(self) -> None:
        try:
            while (group := self._take()) is not None:
                try:
                    record(group)
                except Exception as exc:  # kept waiting: recorded once the database answers
                    log.error(
                        "a group of %d instances and ended associations was not recorded (%s)",
                        len(group),
                        type(exc),
                    )
                    connection.close()
                    with self._changed:
                        self._changed.wait_for(lambda: self._stopping, RETRY_SECONDS)
                    continue
                with self._changed:
                    del self._waiting[: len(group)]
                    self._hurry = self._hurry and bool(self._waiting)
                    self._recorded += len(group)
                    self._changed.notify_all()
        finally:
            connection.close()


def settle(timeout: float = SETTLE_SECONDS) -> bool:
    """Wait until every image acknowledged by this process's listeners is recorded; False
    (logged) when a recorder did not get there within ``timeout`` seconds (its groups keep
    failing): routing then goes on, and images recorded later reopen their study, as late
    images do."""
    settled = all([recorder.settle(timeout) for recorder in list(_recorders)])
    if not settled:
        log.error("instances acknowledged %d s ago or more are still not recorded", timeout)
    return settled


def _unrecorded(base: Path) -> Iterator[Path]:
    """The spool's files without a row, by bucket."""
    for bucket in sorted((base / "instances").glob("??")):
        files = {path.name: path for path in bucket.glob("*.dcm")}
        if not files:
            continue
        known = set(
            Instance.objects.filter(file_ref__startswith=f"instances/{bucket.name}/").values_list(
                "file_ref", flat=True
            )
        )
        for name in sorted(files):
            if f"instances/{bucket.name}/{name}" not in known:
                yield files[name]


def _found(path: Path, site: str) -> Acknowledged | None:
    """What ``recover`` records of a file without a row; None: a model's result (recorded
    before it is answered, so one without a row was never acknowledged) or unreadable."""
    uid_key, sha256, _ = path.name.split(".")
    data = path.read_bytes()
    dataset = data[META_LENGTH_AT + 4 + int.from_bytes(data[META_LENGTH_AT:][:4], "little") :]
    if spool.digest(dataset) != sha256:
        log.error("a spool file does not match its digest; not recorded")
        return None
    header = pydicom.dcmread(path, stop_before_pixels=True)
    sop_class_uid = str(header.file_meta.MediaStorageSOPClassUID)
    if results.kind_of(sop_class_uid) is not None:
        return None
    return Acknowledged(
        peer=None,
        client_address="",
        calling_ae="",
        study_uid=str(header.StudyInstanceUID).strip(),
        uid_key=uid_key,
        sha256=sha256,
        size=len(dataset),
        sop_class_uid=sop_class_uid,
        transfer_syntax_uid=str(header.file_meta.TransferSyntaxUID),
        site=site,
    )


def recover(base: Path | None = None, *, site: str = "") -> int:
    """Record every image in the spool at ``base`` that has no row (acknowledged by a
    listener that died before its group committed), as ``task:gateway.recover``, in groups;
    returns how many rows were made."""
    found: list[Acknowledged] = []
    made = 0
    with machines.acting_as(machines.task_principal(RECOVER_TASK)):
        for path in _unrecorded(base or spool.root()):
            try:
                item = _found(path, site)
            except Exception as exc:  # noqa: BLE001 - one bad file does not stop the others
                log.error("a spool file without a row could not be read (%s)", type(exc))
                continue
            if item is not None:
                found.append(item)
            if len(found) >= GROUP_LIMIT:
                made += record_group(found, detail={"recovered": True})
                found = []
        if found:
            made += record_group(found, detail={"recovered": True})
    return made
