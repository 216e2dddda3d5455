"""An uploaded cases file, held in a private temporary file for the length of one run.

The cases file is not kept after the run (its name, SHA-256 and size are): acceptance-test
data stays with the practice's own stores, not in radgov (section V, minimum necessary).
"""

from __future__ import annotations

import os
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


@contextmanager
def saved_upload(upload: Any) -> Iterator[Path]:
    """Write ``upload`` (a Django ``UploadedFile``) to a 0600 file; delete it afterwards."""
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
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=private_folder())
    path = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        yield path
    finally:
        path.unlink(missing_ok=True)
