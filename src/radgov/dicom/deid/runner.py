"""Batch de-identification: a file or folder in, a study/series/instance tree out, one record
per file.

* Sources are only read, never written.  Outputs are written under DST only: every output path
  is checked (no ``..``, no absolute part, its folder resolves inside DST, it is not a symbolic
  link) and written through a temporary file in the same folder, then renamed.
* Output paths are built from the de-identified dataset, never from the source's names (a
  folder named ``DOE^JANE_MRN0012345`` is PHI): ``DST/<Study Instance UID>/<Series Instance
  UID>/<SOP Instance UID>.dcm`` with the replaced UIDs.  Two source files with the same SOP
  Instance UID in one run are both kept, the second under a numbered name.
* Quarantined files (burned-in text to review, see :mod:`radgov.dicom.deid.burnedin`) are
  written, de-identified in their headers, under ``DST/_quarantine/<same layout>``.
* The report names each source file by a keyed reference (``source_ref``), not by its name;
  :meth:`RunReport.sources` maps the references back for whoever keeps that mapping protected
  (the encrypted mapping table, the job's encrypted record).
* A file that cannot be processed (not DICOM, truncated, broken sequence, unknown transfer
  syntax, unsafe output path, symbolic link) is skipped with its reason; the run goes on.
* Files are streamed one at a time per worker; ``jobs > 1`` uses a process pool
  (``imap_unordered`` with small chunks).
* pydicom's validation is quiet for the run only (:func:`quiet_validation`): its messages would
  print source values (PHI) to the log, and the modes are pydicom's for the whole process, so
  they are given back when the run ends (what runs after, highdicom included, validates again).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import multiprocessing
import os
import re
import struct
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pydicom
import pydicom.config
from pydicom._uid_dict import UID_dictionary
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from radgov.dicom.deid.burnedin import PixelMask
from radgov.dicom.deid.engine import Deidentifier
from radgov.dicom.deid.profile import EDITION, CompiledProfile

QUARANTINE_DIR = "_quarantine"
_KNOWN_TRANSFER_SYNTAXES = frozenset(
    uid for uid, entry in UID_dictionary.items() if entry[1] == "Transfer Syntax"
)


class FileFailure(Exception):
    """A file is skipped; the message is its reason (never an attribute value)."""


@dataclass(frozen=True)
class RunSettings:
    """Everything a worker needs (picklable)."""

    key: bytes
    profile: CompiledProfile
    safe_private: tuple[tuple[int | None, str, int], ...] = ()
    pixel_masks: tuple[PixelMask, ...] = ()
    record_mapping: bool = False
    # outputs DST held before this run (relative POSIX paths): a re-run into the same DST
    # replaces them, while two files of one run never overwrite each other
    existing: frozenset[str] = frozenset()


@dataclass
class RunReport:
    files: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    uids: dict[str, str] = field(default_factory=dict)
    patients: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(1 for f in self.files if f["status"] == "failed")

    def as_json(self) -> dict[str, Any]:
        """The report without the source's names: each file by its ``source_ref``."""
        files = [{k: v for k, v in f.items() if k != "source"} for f in self.files]
        return {"summary": self.summary, "files": files}

    def sources(self) -> dict[str, str]:
        """``source_ref`` -> the source file's relative path (PHI: keep it protected)."""
        return {str(f["source_ref"]): str(f["source"]) for f in self.files}


def source_ref(key: bytes, rel: str) -> str:
    """A keyed reference to a source file: the same for the same key and path, and no way
    back to the name without the key."""
    return hmac.new(key, b"source\0" + rel.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


_UID = re.compile(r"\A[0-9]+(\.[0-9]+)*\Z")


def _uid_part(ds: Dataset, keyword: str, fallback: str) -> str:
    value = str(ds.get(keyword, "") or "").strip()
    return value if len(value) <= 64 and _UID.match(value) else fallback


def output_name(ds: Dataset, ref: str) -> str:
    """Where a de-identified dataset goes under DST: its (replaced) study, series and instance
    UIDs; ``ref`` names an instance without a usable SOP Instance UID."""
    return "/".join(
        (
            _uid_part(ds, "StudyInstanceUID", "unknown-study"),
            _uid_part(ds, "SeriesInstanceUID", "unknown-series"),
            _uid_part(ds, "SOPInstanceUID", f"instance-{ref}") + ".dcm",
        )
    )


# --------------------------------------------------------------------------------- discovery
def discover(src: Path, dst: Path) -> list[str]:
    """Relative paths (POSIX) of the files under ``src`` (or ``src``'s name if a file).

    Folders are not followed through symbolic links; DST is skipped if it lies inside SRC.
    """
    if src.is_file() or src.is_symlink() and not src.is_dir():
        return [src.name]
    dst_real = os.path.realpath(dst)
    found: list[str] = []
    for folder, dirs, files in os.walk(src, followlinks=False):
        if os.path.realpath(folder) == dst_real:
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if os.path.realpath(os.path.join(folder, d)) != dst_real)
        for name in sorted(files):
            found.append(Path(os.path.relpath(os.path.join(folder, name), src)).as_posix())
    return found


# --------------------------------------------------------------------------------- one file
def _check_syntax(ds: Dataset) -> None:
    ts = str(getattr(ds.file_meta, "TransferSyntaxUID", "") or "")
    if not ts:
        raise FileFailure("no Transfer Syntax UID in the file meta information")
    if ts not in _KNOWN_TRANSFER_SYNTAXES:
        raise FileFailure(f"unknown transfer syntax {ts}")


def _check_complete(ds: Dataset, has_pixels: bool) -> None:
    """Refuse datasets that pydicom read only in part (a cut file reads without an error)."""
    if not ds._dict:
        raise FileFailure("truncated or empty dataset (no data elements)")
    last = ds._dict[list(ds._dict)[-1]]
    length = getattr(last, "length", None)
    value = getattr(last, "value", None)
    if (
        isinstance(length, int)
        and length != 0xFFFFFFFF
        and isinstance(value, bytes | bytearray)
        and len(value) < length
    ):
        raise FileFailure("truncated file (the last element is shorter than its length)")
    if not has_pixels:
        if 0x00280010 in ds._dict and 0x00280011 in ds._dict:
            raise FileFailure("truncated file (image attributes but no pixel data)")
        sop = UID_dictionary.get(str(ds.get("SOPClassUID", "")))
        if sop is not None and "Image Storage" in sop[0]:
            raise FileFailure("truncated file (an image object without pixel data)")


def read_dataset(path: Path) -> Dataset:
    """Read a DICOM file, or raise :class:`FileFailure` with a reason."""
    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError:
        try:
            ds = pydicom.dcmread(path, force=True)
        except Exception as exc:
            raise FileFailure("not a DICOM file") from exc
        if 0x00080016 not in ds._dict or 0x00080018 not in ds._dict:
            raise FileFailure(
                "not a DICOM file (no DICM prefix and no SOP Class/Instance UID)"
            ) from None
        implicit = ds.original_encoding[0] if ds.original_encoding else True
        meta = FileMetaDataset()
        meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
        ds.file_meta = meta
    except (EOFError, OSError) as exc:
        raise FileFailure(f"unreadable or truncated file ({type(exc).__name__})") from exc
    except Exception as exc:
        raise FileFailure(f"not a readable DICOM file ({type(exc).__name__})") from exc
    _check_syntax(ds)
    _check_complete(ds, any(tag in ds._dict for tag in _PIXEL_TAGS))
    return ds


_PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
_TRAILING_PADDING = 0xFFFCFFFC


class _NeedFullRead(Exception):
    """The streamed path does not apply to this file; read it whole with pydicom instead."""


@dataclass(frozen=True)
class PixelSpan:
    """Where the pixel data element lies in the source file: copied as raw bytes, never loaded."""

    start: int
    end: int


def _element_header(fp: Any, implicit: bool, endian: str) -> tuple[int, int, int]:
    """(tag, value length, header length) of the element at the file position."""
    raw = fp.read(8)
    if len(raw) < 8:
        raise FileFailure("truncated file (an element header is cut)")
    group, elem = struct.unpack(endian + "HH", raw[:4])
    tag = (group << 16) | elem
    if implicit or group == 0xFFFE:
        return tag, struct.unpack(endian + "L", raw[4:8])[0], 8
    vr = raw[4:6]
    if vr in (
        b"OB",
        b"OW",
        b"OF",
        b"OD",
        b"OL",
        b"OV",
        b"UN",
        b"SQ",
        b"UT",
        b"UC",
        b"UR",
        b"SV",
        b"UV",
    ):
        more = fp.read(4)
        if len(more) < 4:
            raise FileFailure("truncated file (an element header is cut)")
        return tag, struct.unpack(endian + "L", more)[0], 12
    return tag, struct.unpack(endian + "H", raw[6:8])[0], 8


def read_header(path: Path) -> tuple[Dataset, PixelSpan | None]:
    """Parse everything before the pixel data; locate the pixel data without reading it.

    Raises :class:`_NeedFullRead` when the file is better read whole (no DICM prefix, deflated
    transfer syntax, or elements other than trailing padding after the pixel data).
    """
    with path.open("rb") as fp:
        try:
            ds = pydicom.dcmread(fp, stop_before_pixels=True)
        except InvalidDicomError as exc:
            raise _NeedFullRead from exc
        except Exception as exc:
            raise FileFailure(f"not a readable DICOM file ({type(exc).__name__})") from exc
        _check_syntax(ds)
        start = fp.tell()
        size = os.fstat(fp.fileno()).st_size
        _check_complete(ds, start < size)
        if start >= size:
            return ds, None
        ts = ds.file_meta.TransferSyntaxUID
        if ts.is_deflated:
            raise _NeedFullRead
        implicit, endian = ts.is_implicit_VR, "<" if ts.is_little_endian else ">"
        tag, length, _ = _element_header(fp, implicit, endian)
        if tag not in _PIXEL_TAGS:
            # pydicom stops early only at pixel data, so it gave up here: the file is cut.
            raise FileFailure("truncated file (reading stopped before the end of the file)")
        if length == 0xFFFFFFFF:  # encapsulated: walk the item headers, skipping the fragments
            while True:
                item, item_length, _ = _element_header(fp, True, endian)
                if item == 0xFFFEE0DD:
                    break
                if item != 0xFFFEE000:
                    raise FileFailure("broken encapsulated pixel data (not an item)")
                fp.seek(item_length, os.SEEK_CUR)
                if fp.tell() > size:
                    raise FileFailure("truncated file (pixel data shorter than its length)")
            end = fp.tell()
        else:
            end = fp.tell() + length
        if end > size:
            raise FileFailure("truncated file (pixel data shorter than its length)")
        if end < size:
            fp.seek(end)
            trailing, _, _ = _element_header(fp, implicit, endian)
            if trailing != _TRAILING_PADDING:
                raise _NeedFullRead  # data after the pixels: let pydicom and the profile see it
    return ds, PixelSpan(start, end)


def _copy_span(source: Path, span: PixelSpan, out: Any) -> None:
    out.flush()
    with source.open("rb") as fin:
        offset, remaining = span.start, span.end - span.start
        copy = getattr(os, "copy_file_range", None)
        while remaining > 0:
            if copy is not None:
                try:
                    done = copy(fin.fileno(), out.fileno(), remaining, offset)
                except OSError:
                    copy = None
                    continue
            else:
                fin.seek(offset)
                chunk = fin.read(min(remaining, 8 * 1024 * 1024))
                done = len(chunk)
                out.write(chunk)
                out.flush()
            if done <= 0:
                raise FileFailure("truncated file (pixel data shorter than its length)")
            offset += done
            remaining -= done


def safe_output_path(dst_real: str, rel: str) -> Path:
    """The output path for ``rel`` under DST, or :class:`FileFailure` if it would escape."""
    rel_path = Path(rel)
    if rel_path.is_absolute() or ".." in rel_path.parts or not rel_path.parts:
        raise FileFailure("output path would escape the output folder")
    out = Path(dst_real, rel_path)
    parent = os.path.realpath(out.parent)
    if parent != dst_real and not parent.startswith(dst_real + os.sep):
        raise FileFailure("output path would escape the output folder (symbolic link)")
    if out.is_symlink():
        raise FileFailure("output path is a symbolic link")
    return out


def _place(tmp: str, out: Path, replace: bool) -> Path:
    """Move the written file to ``out``; unless ``replace``, never over a file already there
    (another file of this run with the same UIDs): then ``<name>.2.dcm``, ``.3``..."""
    if replace:
        os.replace(tmp, out)
        return out
    candidate, n = out, 1
    while True:
        try:
            os.link(tmp, candidate)
        except FileExistsError:
            n += 1
            candidate = out.with_name(f"{out.stem}.{n}{out.suffix}")
            continue
        os.unlink(tmp)
        return candidate


def write_dataset(
    ds: Dataset,
    out: Path,
    dst_real: str,
    pixels: tuple[Path, PixelSpan] | None = None,
    *,
    replace: bool = True,
) -> Path:
    """Write ``ds`` (and the pixel data copied from the source) to ``out``; returns the path
    written (``out``, or a numbered name beside it when ``replace`` is false and ``out``
    exists)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    parent = os.path.realpath(out.parent)
    if parent != dst_real and not parent.startswith(dst_real + os.sep):
        raise FileFailure("output path would escape the output folder (symbolic link)")
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".radgov-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            ds.save_as(handle, enforce_file_format=True)
            if pixels is not None:
                _copy_span(pixels[0], pixels[1], handle)
        return _place(tmp, out, replace)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class _Worker:
    def __init__(self, settings: RunSettings, src: str, dst: str, src_is_file: bool) -> None:
        self.engine = Deidentifier(
            settings.key,
            settings.profile,
            safe_private=settings.safe_private,
            pixel_masks=settings.pixel_masks,
            record_mapping=settings.record_mapping,
        )
        self.src = src
        self.dst_real = os.path.realpath(dst)
        self.src_is_file = src_is_file
        self.key = settings.key
        self.existing = settings.existing

    def _read(self, source: Path) -> tuple[Dataset, PixelSpan | None]:
        """The header (pixel data left in the file to be copied), or the whole dataset."""
        try:
            ds, pixels = read_header(source)
        except _NeedFullRead:
            return read_dataset(source), None
        if pixels is not None and self.engine.needs_pixels(ds):
            return read_dataset(source), None
        return ds, pixels

    def process(self, rel: str) -> dict[str, Any]:
        ref = source_ref(self.key, rel)
        record: dict[str, Any] = {
            "source": rel,
            "source_ref": ref,
            "output": None,
            "status": "failed",
            "reason": "",
            "actions": {},
        }
        source = Path(self.src) if self.src_is_file else Path(self.src, rel)
        try:
            if source.is_symlink():
                raise FileFailure("symbolic link not followed")
            ds, pixels = self._read(source)
            try:
                outcome = self.engine.deidentify(ds, has_pixels=True if pixels else None)
            except FileFailure:
                raise
            except Exception as exc:
                raise FileFailure(
                    f"cannot parse the dataset (broken sequence or element: {type(exc).__name__})"
                ) from exc
            name = output_name(ds, ref)
            target_rel = name if outcome.status == "ok" else f"{QUARANTINE_DIR}/{name}"
            out = safe_output_path(self.dst_real, target_rel)
            try:
                written = write_dataset(
                    ds,
                    out,
                    self.dst_real,
                    (source, pixels) if pixels is not None else None,
                    replace=target_rel in self.existing,
                )
            except FileFailure:
                raise
            except Exception as exc:
                raise FileFailure(f"cannot write a valid output ({type(exc).__name__})") from exc
            record.update(
                output=Path(written).relative_to(self.dst_real).as_posix(),
                status=outcome.status,
                reason=outcome.reason,
                actions=dict(sorted(outcome.counts.items())),
            )
            if written != out:
                record["reason"] = (
                    f"{outcome.reason}; " if outcome.reason else ""
                ) + "another file of the source has the same SOP Instance UID (a duplicate)"
            options = self.engine.profile.option_names()
            if not outcome.pixel_mask_applied and "clean-pixel-data" in options:
                options.remove("clean-pixel-data")  # claimed only where a mask cleaned pixels
            record["options"] = options
            if outcome.pixel_mask_applied:
                record["pixel_mask_applied"] = True
        except FileFailure as exc:
            record["reason"] = str(exc)
        except Exception as exc:  # one bad file never stops the run
            record["reason"] = f"internal error ({type(exc).__name__})"
        if self.engine.mapper.record:
            uids, patients = self.engine.mapper.drain()
            record["_mapping"] = (uids, patients)
        return record


def _validation_modes(reading: int, writing: int) -> tuple[int, int]:
    """Set pydicom's (process-wide) validation modes; return the ones they replace."""
    settings = pydicom.config.settings
    before = (settings.reading_validation_mode, settings.writing_validation_mode)
    settings.reading_validation_mode, settings.writing_validation_mode = reading, writing
    return before


@contextmanager
def quiet_validation() -> Iterator[None]:
    """pydicom reads and writes without validation messages inside the block (they would
    print source values, PHI, to the log); the modes in force before are restored after it,
    even when the block fails."""
    before = _validation_modes(pydicom.config.IGNORE, pydicom.config.IGNORE)
    try:
        yield
    finally:
        _validation_modes(*before)


_WORKER: _Worker | None = None


def _init_worker(settings: RunSettings, src: str, dst: str, src_is_file: bool) -> None:
    global _WORKER
    _validation_modes(pydicom.config.IGNORE, pydicom.config.IGNORE)  # a pool lives for one run
    _WORKER = _Worker(settings, src, dst, src_is_file)


def _work(rel: str) -> dict[str, Any]:
    assert _WORKER is not None
    return _WORKER.process(rel)


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def iter_records(
    src: Path, dst: Path, settings: RunSettings, files: list[str], jobs: int = 1
) -> Iterator[dict[str, Any]]:
    src_is_file = src.is_file()
    if jobs <= 1 or len(files) <= 1:
        worker = _Worker(settings, str(src), str(dst), src_is_file)
        for rel in files:
            yield worker.process(rel)
        return
    chunk = max(1, min(8, len(files) // (jobs * 8)))
    with worker_context().Pool(
        jobs, initializer=_init_worker, initargs=(settings, str(src), str(dst), src_is_file)
    ) as pool:
        yield from pool.imap_unordered(_work, files, chunksize=chunk)


def worker_context() -> multiprocessing.context.BaseContext:
    """Where ``jobs > 1`` take their workers from: on POSIX a forkserver that has imported
    this module, so workers are forked from a clean single-threaded server, never from the
    caller, whose other threads (a web server's, a test live server's) may hold locks a
    forked child would wait on forever.  The settings travel pickled.  Python 3.14 makes the
    same choice by default on Linux.  A process's first pool starts the server (about a
    quarter of a second: it imports this module); its later pools use it again."""
    context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
    if os.name == "posix":
        context.set_forkserver_preload([__name__])
    return context


def run(
    src: str | Path,
    dst: str | Path,
    settings: RunSettings,
    *,
    jobs: int = 1,
    on_file: Callable[[dict[str, Any]], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> RunReport:
    """De-identify ``src`` (a file or a folder) into ``dst``; return the report."""
    src_path, dst_path = Path(src), Path(dst)
    if not src_path.exists():
        raise FileNotFoundError(f"source {str(src)!r} does not exist")
    if src_path.is_dir() and os.path.realpath(src_path) == os.path.realpath(dst_path):
        raise ValueError("the output folder must differ from the source folder")
    dst_path.mkdir(parents=True, exist_ok=True)
    started = _utc_now()
    files = discover(src_path, dst_path)
    settings = replace(settings, existing=frozenset(discover(dst_path, src_path)))
    if on_start is not None:
        on_start(len(files))
    report = RunReport()
    with quiet_validation():
        for record in iter_records(src_path, dst_path, settings, files, jobs):
            mapping = record.pop("_mapping", None)
            if mapping is not None:
                report.uids.update(mapping[0])
                report.patients.update(mapping[1])
            report.files.append(record)
            if on_file is not None:
                on_file(record)
    report.files.sort(key=lambda r: str(r["source"]))
    statuses = Counter(str(r["status"]) for r in report.files)
    rules = settings.profile
    report.summary = {
        "files": len(report.files),
        "ok": statuses.get("ok", 0),
        "quarantined": statuses.get("quarantined", 0),
        "failed": statuses.get("failed", 0),
        "profile": "basic",
        "standard": f"DICOM PS3.15 {EDITION} Table E.1-1",
        "edition": EDITION,
        "options": rules.option_names(),
        "site_rules": dict(rules.site_rule_counts),
        "jobs": jobs,
        "started_utc": started,
        "finished_utc": _utc_now(),
    }
    return report


def mapping_document(report: RunReport, profile: CompiledProfile) -> dict[str, Any]:
    return {
        "format": "radgov-deid-mapping",
        "version": 1,
        "edition": EDITION,
        "created_utc": _utc_now(),
        "options": profile.option_names(),
        "sources": dict(sorted(report.sources().items())),
        "uids": dict(sorted(report.uids.items())),
        "patients": dict(sorted(report.patients.items())),
    }
