"""Where a de-identification job may read: server folders under ``RADGOV_DEID_ROOTS``, and
uploads (DICOM files or a .zip) staged safely under the data folder.

Messages never echo a path the user gave or a file name from the source (both can carry
PHI); they name the rule, and the configured roots.
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from radgov.core import config

CHUNK = 1 << 20
MAX_ZIP_MEMBERS = 100_000


class SourceError(ValueError):
    """A source a job may not read; the message says which rule."""


class Upload(Protocol):
    """What Django's ``UploadedFile`` offers (and a test's stand-in)."""

    name: str | None
    size: int | None

    def chunks(self, chunk_size: int | None = None) -> Iterable[bytes]: ...


def deid_dir() -> Path:
    return config.data_dir() / "deid"


def _real(path: str | Path) -> str:
    return os.path.realpath(path)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def allowed_roots() -> list[str]:
    """The configured roots, symbolic links resolved (missing ones are skipped)."""
    return [_real(r) for r in config.get_list("RADGOV_DEID_ROOTS") if os.path.isdir(r)]


@dataclass(frozen=True)
class Located:
    root: str  # the root, resolved
    relative: str  # POSIX path below it ("." for the root itself)

    @property
    def path(self) -> Path:
        return Path(self.root, self.relative)


def _refuse_data_dir(real: str) -> None:
    data = _real(config.data_dir())
    if _inside(real, data) or _inside(data, real):
        raise SourceError("the radgov data folder (or a folder holding it) cannot be a source")


def _located(real: str, root: str) -> Located:
    if not os.path.exists(real):
        raise SourceError("the source folder does not exist on the server")
    if not (os.path.isdir(real) or os.path.isfile(real)):
        raise SourceError("the source must be a folder or a file")
    rel = os.path.relpath(real, root)
    return Located(root=root, relative=PurePosixPath(Path(rel)).as_posix())


def locate_server_folder(given: str) -> Located:
    """The server folder (or file) ``given`` inside one of ``RADGOV_DEID_ROOTS``.

    An absolute path must resolve (symbolic links and ``..`` followed) inside a root; a
    relative one is taken relative to each root in turn.  Anything else is refused."""
    given = (given or "").strip()
    if not given:
        raise SourceError("give the server folder to read")
    if "\x00" in given:
        raise SourceError("the source path holds a NUL character")
    configured = config.get_list("RADGOV_DEID_ROOTS")
    if not configured:
        raise SourceError(
            "server folders are disabled: an administrator lists the folders jobs may read "
            "in RADGOV_DEID_ROOTS"
        )
    roots = allowed_roots()
    candidates = [given] if os.path.isabs(given) else [os.path.join(r, given) for r in roots]
    for candidate in candidates:
        real = _real(candidate)
        for root in roots:
            if _inside(real, root) and os.path.exists(real):
                _refuse_data_dir(real)
                return _located(real, root)
    raise SourceError(
        "the source is not inside a folder jobs may read (after resolving symbolic links "
        f"and '..'); the allowed folders are: {', '.join(configured)}"
    )


def recheck(root: str, relative: str, *, app_folder: bool = False) -> Path:
    """At run time: the stored source still lies inside an allowed root (the roots or the
    links may have changed since the job was created)."""
    roots = [_real(config.data_dir())] if app_folder else allowed_roots()
    real_root = _real(root)
    if real_root not in roots:
        raise SourceError("the source's folder is no longer one jobs may read (RADGOV_DEID_ROOTS)")
    real = _real(Path(real_root, relative))
    if not _inside(real, real_root):
        raise SourceError("the source now resolves outside its allowed folder (symbolic link)")
    if not app_folder:
        _refuse_data_dir(real)
    elif _inside(real, _real(deid_dir())) or real == real_root:
        raise SourceError("an app folder must be a folder of its own inside the data folder")
    if not os.path.exists(real):
        raise SourceError("the source folder no longer exists on the server")
    return Path(real)


def locate_app_folder(folder: str | Path) -> Located:
    """A folder another radgov app holds inside the data folder (not the data folder itself,
    not a job's own folder)."""
    data = _real(config.data_dir())
    real = _real(folder)
    if not _inside(real, data) or real == data or _inside(real, _real(deid_dir())):
        raise SourceError("an app folder must be a folder of its own inside the radgov data folder")
    return _located(real, data)


# ------------------------------------------------------------------------------ uploads
def _too_big() -> SourceError:
    return SourceError(
        f"the upload is larger than {config.get_int('RADGOV_MAX_UPLOAD_MB')} MB "
        "(RADGOV_MAX_UPLOAD_MB), packed or unpacked; use a server folder for larger sets"
    )


def _safe_member(name: str) -> PurePosixPath | None:
    """The member's relative path, None for a folder entry; SourceError if unsafe."""
    if "\x00" in name:
        raise SourceError("the zip holds a name with a NUL character")
    unified = name.replace("\\", "/")
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        raise SourceError("the zip holds an absolute path; only relative paths are accepted")
    parts = [p for p in unified.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise SourceError("the zip holds a path with '..'; only paths inside it are accepted")
    if unified.endswith("/"):
        return None
    if not parts:
        raise SourceError("the zip holds an entry without a name")
    return PurePosixPath(*parts)


def _check_zip(
    archive: zipfile.ZipFile, budget: int
) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise SourceError(f"the zip holds more than {MAX_ZIP_MEMBERS} entries")
    members, seen, declared = [], set(), 0
    folders: set[str] = set()  # every folder the members lie in, in lower case
    for info in infos:
        rel = _safe_member(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise SourceError("the zip holds a symbolic link; only files and folders are accepted")
        if info.flag_bits & 0x1:
            raise SourceError("the zip holds an encrypted entry; upload it unencrypted")
        if rel is None or info.is_dir():
            if rel is not None:
                folders.add(rel.as_posix().lower())
            continue
        folders.update(p.as_posix().lower() for p in rel.parents if p.parts)
        if rel.as_posix().lower() in seen:
            raise SourceError(
                "the zip holds the same file name twice (names differing only in case count as one)"
            )
        seen.add(rel.as_posix().lower())
        declared += info.file_size
        if declared > budget:
            raise _too_big()
        members.append((info, rel))
    if seen & folders:
        raise SourceError(
            "the zip holds a file and a folder of the same name (names differing only in case "
            "count as one); rename one of them"
        )
    return members


def _copy(
    blocks: Iterable[bytes], target: Path, budget: list[int], limit: int | None = None
) -> None:
    """Write ``blocks`` to a new file, counting against the upload's byte budget."""
    written = 0
    with target.open("xb") as out:
        for block in blocks:
            written += len(block)
            budget[0] -= len(block)
            if budget[0] < 0 or (limit is not None and written > limit):
                raise _too_big()
            out.write(block)


def _store_zip(upload: Upload, staging: Path, budget: list[int]) -> int:
    packed = staging.parent / f"{staging.name}.zip"
    try:
        with packed.open("xb") as out:
            for block in upload.chunks():
                out.write(block)
        try:
            archive = zipfile.ZipFile(packed)
        except (zipfile.BadZipFile, OSError):
            raise SourceError("an upload named .zip is not a readable zip file") from None
        with archive:
            members = _check_zip(archive, budget[0])
            root = _real(staging)
            for info, rel in members:
                target = staging.joinpath(*rel.parts)
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if not _inside(_real(target.parent), root):
                        raise SourceError("the zip would write outside its folder")
                    with archive.open(info) as member:
                        blocks = iter(lambda m=member: m.read(CHUNK), b"")
                        _copy(blocks, target, budget, limit=info.file_size)
                except FileExistsError:
                    raise SourceError("the zip holds the same file name twice") from None
                except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
                    raise SourceError(
                        f"the zip is damaged ({type(exc).__name__}); nothing was stored"
                    ) from None
                except OSError as exc:  # its message would name the member (PHI)
                    raise SourceError(
                        f"a member of the zip cannot be unpacked ({type(exc).__name__}); "
                        "nothing was stored"
                    ) from None
            return len(members)
    finally:
        packed.unlink(missing_ok=True)


def _store_file(upload: Upload, staging: Path, index: int, budget: list[int]) -> None:
    name = Path((upload.name or "").replace("\\", "/")).name
    if name in ("", ".", "..") or name.startswith(".") or "\x00" in name:
        name = f"upload-{index:04d}.dcm"
    target = staging / name
    if target.exists():
        target = staging / f"{index:04d}-{name}"

    _copy(upload.chunks(), target, budget)


def stage_upload(files: Iterable[Upload]) -> Path:
    """Write the uploaded DICOM files (or unpack .zip uploads) into a fresh staging folder
    under ``DATA_DIR/deid/``; returns it.  On any refusal nothing is left behind."""
    files = list(files)
    if not files:
        raise SourceError("choose one or more DICOM files, or a .zip of them")
    limit = config.max_upload_bytes()
    if sum(f.size or 0 for f in files) > limit:
        raise _too_big()
    deid_dir().mkdir(parents=True, exist_ok=True)
    staging = deid_dir() / f".incoming-{uuid.uuid4().hex}"
    staging.mkdir(mode=0o700)
    budget = [limit]
    try:
        stored = 0
        for index, upload in enumerate(files, start=1):
            if (upload.name or "").lower().endswith(".zip"):
                stored += _store_zip(upload, staging, budget)
            else:
                _store_file(upload, staging, index, budget)
                stored += 1
        if stored == 0:
            raise SourceError("the upload holds no files")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def discard(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)
