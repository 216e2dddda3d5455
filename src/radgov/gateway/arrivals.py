"""The listener's images between the spool and the database (docs/gateway.md, "Never losing
an acknowledged instance").

An image is acknowledged once its file is durable in the spool; its row is written with
the others of its association in batches (``Pending``): when ``BATCH`` are waiting, when the
peer asks to release the association (before the release is answered, so a sender that sees
its association released finds every row written), when the association ends otherwise, and
when none came for ``IDLE_SECONDS``.  The spool is the durable record: a file acknowledged
whose batch a crash lost is recorded when the listener starts again (``reconcile``).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import pydicom
from django.db import connection
from pydicom.dataelem import RawDataElement
from pydicom.filereader import data_element_generator
from pydicom.uid import UID

from radgov.core import machines
from radgov.gateway import services, spool
from radgov.gateway.models import Instance

log = logging.getLogger("radgov.gateway")
BATCH = 64  # rows written in one transaction
IDLE_SECONDS = 0.5  # an association's waiting rows are written after this long without an image
STUDY_UID = 0x0020000D
SOP_UID = 0x00080018
SKIPPED_OVER = 1024  # bytes: a longer value is skipped when reading an image's header
UNDEFINED_LENGTH = 0xFFFFFFFF
RECONCILE_BATCH = 128  # the files reconcile records in one transaction


def header_uids(raw: bytes, transfer_syntax: str) -> tuple[str, str]:
    """The Study and SOP Instance UIDs of an encoded dataset, whose bytes must end where its
    last element ends: pydicom reads an element cut inside its value as a shorter value and a
    header cut short as nothing, so a truncated dataset would otherwise be stored as whole
    (found by tests/gateway/test_fuzz.py).  Values longer than ``SKIPPED_OVER`` bytes (the
    pixels) are skipped, never read.  Raises on bytes that cannot be read or are cut short."""
    syntax = UID(transfer_syntax)
    if syntax.is_deflated:
        raw = zlib.decompress(raw, -zlib.MAX_WBITS)
    stream = io.BytesIO(raw)
    uids: dict[int, str] = {}
    end = 0
    elements = data_element_generator(
        stream, syntax.is_implicit_VR, syntax.is_little_endian, defer_size=SKIPPED_OVER
    )
    for element in elements:
        if element.tag in (STUDY_UID, SOP_UID):
            uids[element.tag] = bytes(element.value or b"").decode("ascii").strip("\0 ")
        defined = isinstance(element, RawDataElement) and element.length != UNDEFINED_LENGTH
        end = element.value_tell + element.length if defined else stream.tell()
    if end != len(raw):
        raise ValueError("the dataset is cut short")
    return uids[STUDY_UID], uids[SOP_UID]


class Pending:
    """The acknowledged images of one association whose rows are not written yet."""

    def __init__(self, peer: Any, *, address: str, site: str) -> None:
        self.peer, self.address, self.site = peer, address, site
        self._items: list[services.Arrival] = []
        self._lock = threading.Lock()  # one flush at a time (the association's, the reaper's)
        self._last = time.monotonic()

    def add(self, arrival: services.Arrival) -> None:
        """Keep ``arrival``; write the batch when ``BATCH`` are waiting."""
        with self._lock:
            self._items.append(arrival)
            self._last = time.monotonic()
            if len(self._items) >= BATCH:
                self._write()

    def flush(self, *, idle_only: bool = False) -> bool:
        """Write what is waiting (only when no image came for ``IDLE_SECONDS`` if
        ``idle_only``); kept for the next flush when the database refuses.  True when the
        database was used."""
        with self._lock:
            if not self._items or (idle_only and time.monotonic() - self._last < IDLE_SECONDS):
                return False
            self._write()
            return True

    def _write(self) -> None:
        if not self._items:
            return
        try:
            with machines.acting_as(self.peer, channel="dicom", client_address=self.address):
                services.record_arrivals(self.peer, self._items, site=self.site)
        except Exception as exc:  # the files are durable; the rows are tried again
            log.error("%d stored images not recorded yet (%s)", len(self._items), type(exc))
            connection.close()
            return
        self._items = []


def _arrival_of(base: Path, file_ref: str) -> services.Arrival:
    """What the spool's file ``file_ref`` says of itself (its header only)."""
    path = spool.path_of(file_ref, base=base)
    uid_key, sha256, _ = path.name.split(".")
    dataset = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=[STUDY_UID])
    meta = dataset.file_meta
    size = path.stat().st_size - 144 - int(meta.FileMetaInformationGroupLength)
    return services.Arrival(
        study_uid=str(dataset.StudyInstanceUID).strip(),
        uid_key=uid_key,
        sop_class_uid=str(meta.MediaStorageSOPClassUID),
        transfer_syntax_uid=str(meta.TransferSyntaxUID),
        calling_ae=str(meta.get("SourceApplicationEntityTitle", "")).strip(),
        stored=spool.Stored(file_ref, sha256, size, written=False),
        received_at=dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC),
    )


def unrecorded(base: Path) -> list[str]:
    """The spool's files that no row names, bucket by bucket."""
    found = []
    instances = base / "instances"
    for bucket in sorted(instances.iterdir()) if instances.is_dir() else []:
        names = [n for n in os.listdir(bucket) if n.endswith(".dcm")]
        if not names:
            continue
        prefix = f"instances/{bucket.name}/"
        known = set(
            Instance.objects.filter(file_ref__startswith=prefix).values_list("file_ref", flat=True)
        )
        found.extend(prefix + n for n in sorted(names) if prefix + n not in known)
    return found


def reconcile(base: Path, *, site: str = "") -> int:
    """Record every file of the spool that has no row: images acknowledged before a crash
    whose batch was never committed.  Acts as the routing task; returns how many."""
    missing = unrecorded(base)
    if not missing:
        return 0
    recorded = 0
    with machines.acting_as(machines.task_principal(services.ROUTE_TASK)):
        for start in range(0, len(missing), RECONCILE_BATCH):
            arrivals = [_arrival_of(base, ref) for ref in missing[start : start + RECONCILE_BATCH]]
            recorded += services.record_arrivals(None, arrivals, site=site)
    log.warning("recorded %d acknowledged images found in the spool without a row", recorded)
    return recorded
