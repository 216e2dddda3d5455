"""An uploaded cases file, held in a private file (0600 in a 0700 folder) until its run is done.

The cases file is not kept after the run (its name, SHA-256 and size are): acceptance-test
data stays with the practice's own stores, not in radgov (section V, minimum necessary).  A
run on a page or the API is a background job: the upload is held under a random token until
the worker has run it (its name beside it, never in the job's parameters or the audit trail).
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from radgov.core import config
from radgov.evaluation.services import EvaluationError

SUFFIXES = (".csv", ".parquet")


def private_folder() -> Path:
    """The 0700 folder in the data folder for files that live only during one request."""
    folder = config.data_dir() / "evaluation" / "incoming"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _checked_suffix(upload: Any) -> str:
    name = upload.name or ""
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise EvaluationError(
            f"the cases file must be CSV (.csv) or Parquet (.parquet); got {name!r}"
        )
    if upload.size > config.max_upload_bytes():
        raise EvaluationError(
            f"the cases file is {upload.size / 1048576:.1f} MB, over the "
            f"{config.get_int('RADGOV_MAX_UPLOAD_MB')} MB limit "
            "(RADGOV_MAX_UPLOAD_MB); use `radgov evaluate` for larger files"
        )
    return suffix


@contextmanager
def saved_upload(upload: Any) -> Iterator[Path]:
    """Write ``upload`` (a Django ``UploadedFile``) to a 0600 file; delete it afterwards."""
    suffix = _checked_suffix(upload)
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=private_folder())
    path = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        yield path
    finally:
        path.unlink(missing_ok=True)


_TOKEN = re.compile(r"\Aheld-[0-9a-f]{32}\.(csv|parquet)\Z")


def hold_upload(upload: Any) -> str:
    """Keep ``upload`` (checked as :func:`saved_upload` checks it) until a job runs it;
    returns its token for the job's parameters."""
    suffix = _checked_suffix(upload)
    token = f"held-{secrets.token_hex(16)}{suffix}"
    path = private_folder() / token
    with path.open("xb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    (private_folder() / f"{token}.name").write_text(upload.name or "", encoding="utf-8")
    return token


@contextmanager
def held_upload(token: str) -> Iterator[tuple[Path, str]]:
    """The held file and the name it was uploaded under; both are deleted afterwards, whatever
    happens (a failed run asks for the file again)."""
    if not _TOKEN.match(token):
        raise EvaluationError("the job names no uploaded cases file")
    path, name_file = private_folder() / token, private_folder() / f"{token}.name"
    try:
        if not path.is_file():
            raise EvaluationError("the uploaded cases file is gone; upload it again")
        yield path, name_file.read_text(encoding="utf-8") if name_file.is_file() else ""
    finally:
        path.unlink(missing_ok=True)
        name_file.unlink(missing_ok=True)


def start_run(user: Any, protocol: Any, upload: Any) -> Any:
    """Queue an acceptance-test run over ``upload`` as a background job (radgov.core.jobs)
    after the checks that need no reading of the file; returns the job."""
    from radgov.core import jobs
    from radgov.evaluation import services

    services.check_may_run(user, protocol)
    token = hold_upload(upload)
    try:
        return jobs.submit(user, "evaluation.run", {"protocol": protocol.pk, "upload": token})
    except BaseException:
        with held_upload(token):
            pass  # not queued: the file goes
        raise
