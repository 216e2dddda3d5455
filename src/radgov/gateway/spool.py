"""The gateway's spool: where a received DICOM instance is made durable before it is
acknowledged (docs/gateway.md, "Never losing an acknowledged instance").

A file is written under ``incoming/`` with a random name, fsynced, renamed to its place and
the folder fsynced, so after a crash a file is either whole in its place or not there at
all.  Its place is made of hashes only, never of anything the peer sent:
``instances/<k[:2]>/<k>.<sha256>.dcm`` (one folder level: fewer folders to create and
fsync per instance) where ``k`` is the keyed hash of the SOP Instance
UID and ``sha256`` the digest of the dataset as the peer sent it.  The same instance sent
again lands on the same path (nothing is written twice); the same UID with other bytes gets
a path of its own (nothing is ever overwritten).

``writing`` runs ``write`` in a thread of the spool's own, so that the listener records the
instance's row while the file is written and fsynced (the two waits overlap); the row is
committed only once the write returned.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import struct
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION

from radgov.core import config

_HEX = re.compile(r"^[0-9a-f]{64}$")
PREAMBLE = b"\x00" * 128 + b"DICM"
WRITERS = 32  # files written at once (a listener serves 10 associations by default)


def _new_writers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="radgov-spool")


_writers = _new_writers()


def _after_fork() -> None:
    """A forked child has none of its parent's threads: it gets writers of its own (the
    parent's pool would take its writes and never run them)."""
    global _writers
    _writers = _new_writers()


os.register_at_fork(after_in_child=_after_fork)


@dataclass(frozen=True)
class Stored:
    file_ref: str  # relative to the spool's root
    sha256: str  # of the dataset as the peer sent it
    size: int  # bytes of the dataset as sent
    written: bool  # False: the same bytes were already in place


def root() -> Path:
    return config.data_dir() / "spool"


def place(uid_key: str, sha256: str) -> str:
    """The relative path of an instance; only hexadecimal digests go into it."""
    if not (_HEX.match(uid_key) and _HEX.match(sha256)):
        raise ValueError("a spool path is made of two SHA-256 hex digests")
    return f"instances/{uid_key[:2]}/{uid_key}.{sha256}.dcm"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _folders(base: Path, relative: Path) -> None:
    """Make the folders of ``relative`` under ``base``; each new one is fsynced into its
    parent, so the rename that follows survives a crash."""
    if not base.is_dir():
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
    current = base
    for part in relative.parts:
        current = current / part
        if not current.is_dir():
            current.mkdir(mode=0o700, exist_ok=True)
            _fsync_dir(current.parent)


def prepare(base: Path | None = None) -> None:
    """Make the spool's folders (``incoming`` and the 256 ``instances`` buckets) durable
    before the first instance, so that storing one creates and fsyncs no folder."""
    base = base or root()
    _folders(base, Path("incoming"))
    _folders(base, Path("instances"))
    buckets = base / "instances"
    made = False
    for n in range(256):
        bucket = buckets / f"{n:02x}"
        if not bucket.is_dir():
            bucket.mkdir(mode=0o700, exist_ok=True)
            made = True
    if made:
        _fsync_dir(buckets)


def _element(element: int, vr: bytes, value: bytes, padding: bytes) -> bytes:
    """One File Meta element, explicit VR little endian, its value padded to even length."""
    if len(value) % 2:
        value += padding
    if vr == b"OB":
        return struct.pack("<HH2sHI", 2, element, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", 2, element, vr, len(value)) + value


def file_meta(sop_class_uid: str, sop_instance_uid: str, transfer_syntax_uid: str) -> bytes:
    """The encoded File Meta Information of a received instance, the same bytes as
    pynetdicom's ``encode_file_meta(event.file_meta)`` (which took a listener more
    time an instance than hashing its 512 KB: a dataset built and written by pydicom)."""
    elements = b"".join(
        [
            _element(0x0001, b"OB", b"\x00\x01", b"\x00"),
            _element(0x0002, b"UI", sop_class_uid.encode("iso8859"), b"\x00"),
            _element(0x0003, b"UI", sop_instance_uid.encode("iso8859"), b"\x00"),
            _element(0x0010, b"UI", transfer_syntax_uid.encode("iso8859"), b"\x00"),
            _element(0x0012, b"UI", PYNETDICOM_IMPLEMENTATION_UID.encode("iso8859"), b"\x00"),
            _element(0x0013, b"SH", PYNETDICOM_IMPLEMENTATION_VERSION.encode("iso8859"), b" "),
        ]
    )
    return struct.pack("<HH2sHI", 2, 0x0000, b"UL", 4, len(elements)) + elements


def digest(dataset: bytes) -> str:
    """The SHA-256 of a dataset as the peer sent it (its identity in the spool)."""
    return hashlib.sha256(dataset).hexdigest()


def write(
    uid_key: str, meta: bytes, dataset: bytes, *, sha256: str = "", base: Path | None = None
) -> Stored:
    """Make ``meta`` (the encoded File Meta Information) and ``dataset`` durable as one
    Part 10 file; returns where, and whether it was written or already there.  ``sha256``:
    the dataset's ``digest`` when known; else it is computed while the file is fsynced
    (both wait outside Python's lock), and the file then found already in place is
    removed from ``incoming``.  The folders (made by ``prepare``) are made only when
    missing."""
    base = base or root()
    if sha256 and (base / place(uid_key, sha256)).is_file():
        return Stored(place(uid_key, sha256), sha256, len(dataset), written=False)
    temporary = base / "incoming" / f"{secrets.token_hex(16)}.part"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileNotFoundError:
        _folders(base, Path("incoming"))
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            _write_all(fd, [PREAMBLE, meta, dataset])
            if sha256:
                os.fsync(fd)
            else:
                sha256 = _synced_digest(fd, dataset)
        finally:
            os.close(fd)
        ref = place(uid_key, sha256)
        target = base / ref
        if target.is_file():  # the same instance again
            temporary.unlink()
            return Stored(ref, sha256, len(dataset), written=False)
        try:
            os.replace(temporary, target)
        except FileNotFoundError:
            _folders(base, Path(ref).parent)
            os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return Stored(ref, sha256, len(dataset), written=True)


def _synced_digest(fd: int, dataset: bytes) -> str:
    """The dataset's ``digest``, computed while ``fd`` is fsynced in a spool thread."""
    synced = _writers.submit(os.fsync, fd)
    try:
        return digest(dataset)
    finally:
        synced.result()


def _write_all(fd: int, parts: list[bytes]) -> None:
    """Write ``parts`` to ``fd`` in one system call when the kernel takes them whole."""
    views = [memoryview(part) for part in parts if part]
    while views:
        done = os.writev(fd, views)
        while views and done >= len(views[0]):
            done -= len(views[0])
            views.pop(0)
        if views:
            views[0] = views[0][done:]


def writing(
    uid_key: str, meta: bytes, dataset: bytes, *, sha256: str, base: Path | None = None
) -> Future[Stored]:
    """``write`` started in one of the spool's threads; its ``result()`` waits for it and
    returns what ``write`` returned, or raises what it raised."""
    return _writers.submit(write, uid_key, meta, dataset, sha256=sha256, base=base or root())


def path_of(file_ref: str, *, base: Path | None = None) -> Path:
    """The file of a recorded ``file_ref`` (refused if it would leave the spool)."""
    base = (base or root()).resolve()
    found = (base / file_ref).resolve()
    if base not in found.parents:
        raise ValueError("file_ref: outside the spool")
    return found
