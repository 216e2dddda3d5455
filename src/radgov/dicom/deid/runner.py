"""Batch de-identification: a file or folder in, a mirrored tree out, one record per file.

* Sources are only read, never written.  Outputs are written under DST only: every output path
  is checked (no ``..``, no absolute part, its folder resolves inside DST, it is not a symbolic
  link) and written through a temporary file in the same folder, then renamed.
* Quarantined files (burned-in text to review, see :mod:`radgov.dicom.deid.burnedin`) are
  written, de-identified in their headers, under ``DST/_quarantine/<same relative path>``.
* A file that cannot be processed (not DICOM, truncated, broken sequence, unknown transfer
  syntax, unsafe output path, symbolic link) is skipped with its reason; the run goes on.
* Files are streamed one at a time per worker; ``jobs > 1`` uses a process pool
  (``imap_unordered`` with small chunks).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
        return {"summary": self.summary, "files": self.files}


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
    ts = str(getattr(ds.file_meta, "TransferSyntaxUID", "") or "")
    if not ts:
        raise FileFailure("no Transfer Syntax UID in the file meta information")
    if ts not in _KNOWN_TRANSFER_SYNTAXES:
        raise FileFailure(f"unknown transfer syntax {ts}")
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
    return ds


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


def write_dataset(ds: Dataset, out: Path, dst_real: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    parent = os.path.realpath(out.parent)
    if parent != dst_real and not parent.startswith(dst_real + os.sep):
        raise FileFailure("output path would escape the output folder (symbolic link)")
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".radgov-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            ds.save_as(handle, enforce_file_format=True)
        os.replace(tmp, out)
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
        # Validation messages would print source values (PHI) to the log: read and write quietly.
        pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
        pydicom.config.settings.writing_validation_mode = pydicom.config.IGNORE
        self.src = src
        self.dst_real = os.path.realpath(dst)
        self.src_is_file = src_is_file

    def process(self, rel: str) -> dict[str, Any]:
        record: dict[str, Any] = {
            "source": rel,
            "output": None,
            "status": "failed",
            "reason": "",
            "actions": {},
        }
        source = Path(self.src) if self.src_is_file else Path(self.src, rel)
        try:
            if source.is_symlink():
                raise FileFailure("symbolic link not followed")
            if not self.src_is_file:
                safe_output_path(self.dst_real, rel)  # refuse early, before reading
            ds = read_dataset(source)
            try:
                outcome = self.engine.deidentify(ds)
            except FileFailure:
                raise
            except Exception as exc:
                raise FileFailure(
                    f"cannot parse the dataset (broken sequence or element: {type(exc).__name__})"
                ) from exc
            target_rel = rel if outcome.status == "ok" else f"{QUARANTINE_DIR}/{rel}"
            out = safe_output_path(self.dst_real, target_rel)
            try:
                write_dataset(ds, out, self.dst_real)
            except FileFailure:
                raise
            except Exception as exc:
                raise FileFailure(f"cannot write a valid output ({type(exc).__name__})") from exc
            record.update(
                output=target_rel,
                status=outcome.status,
                reason=outcome.reason,
                actions=dict(sorted(outcome.counts.items())),
            )
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


_WORKER: _Worker | None = None


def _init_worker(settings: RunSettings, src: str, dst: str, src_is_file: bool) -> None:
    global _WORKER
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
    # fork: workers inherit the compiled profile and need no importable __main__ (works from a
    # notebook or ``python -``).  Callers must not run threads while the pool starts; the
    # ``radgov deid`` progress bar refreshes without a thread for that reason.
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with context.Pool(
        jobs, initializer=_init_worker, initargs=(settings, str(src), str(dst), src_is_file)
    ) as pool:
        yield from pool.imap_unordered(_work, files, chunksize=chunk)


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
    if on_start is not None:
        on_start(len(files))
    report = RunReport()
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
        "uids": dict(sorted(report.uids.items())),
        "patients": dict(sorted(report.patients.items())),
    }
