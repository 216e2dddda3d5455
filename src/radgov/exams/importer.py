"""Bulk import of exams and inference events from a CSV or Parquet file (docs/exams.md,
"Bulk import").  The file is checked whole first: its columns, its shape, the types of a
Parquet file's columns; then every row through the bulk service, which lists every problem
of every row.  Nothing is stored unless all of it is.  Messages name the row and the
column, never a cell's value (a misplaced identifier would be echoed), and never repeat
the reading library's own words (which quote cells).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import polars as pl

from radgov.evaluation.cases import row_label
from radgov.exams.errors import BatchError, Problem
from radgov.exams.metadata import IDENTIFIER_LIMITS, StudyMetadata, as_number
from radgov.exams.outputs import Outputs
from radgov.exams.services import BatchResult, Event, record_events
from radgov.exams.statuses import Source

STUDY_COLUMNS = StudyMetadata.names()
EVENT_COLUMNS = (
    "deployment_id",
    "status",
    "status_at",
    "reason_code",
    "reason",
    "vendor_status",
    "vendor_reason",
    "event_id",
)
OUTPUT_COLUMNS = ("score", "call", "confidence", "findings", "model_version")
COLUMNS = (*STUDY_COLUMNS, *EVENT_COLUMNS, *OUTPUT_COLUMNS)
REQUIRED = ("study_instance_uid",)
IDENTIFIERS = ("study_instance_uid", *IDENTIFIER_LIMITS)
# what a Parquet column may be besides text (String); every other column must be text
NUMBER_COLUMNS = (
    "slice_thickness_mm",
    "kvp",
    "pixel_spacing_mm",
    "patient_age",
    "score",
    "confidence",
)
TIME_COLUMNS = ("study_datetime", "status_at")
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


Progress = Callable[[int], None]


def import_file(
    actor: Any,
    path: str | Path,
    *,
    on_start: Progress | None = None,
    on_row: Progress | None = None,
) -> BatchResult:
    """Import the file at ``path``; ``on_start(rows)`` once it is read and checked,
    ``on_row(index)`` after each row is stored."""
    path = Path(path)
    return _import(actor, path.read_bytes(), path.name, on_start, on_row)


def import_upload(actor: Any, upload: IO[bytes], *, name: str) -> BatchResult:
    """Import an uploaded file (its ``name`` says CSV or Parquet)."""
    return _import(actor, upload.read(), name, None, None)


def _import(
    actor: Any,
    data: bytes,
    name: str,
    on_start: Progress | None,
    on_row: Progress | None,
) -> BatchResult:
    fmt = _format(name)
    frame = _frame(data, fmt)
    events = [_event(row) for row in frame.iter_rows(named=True)]
    if on_start is not None:
        on_start(len(events))
    return record_events(
        actor,
        events,
        source=Source.FILE,
        what=f"file import ({fmt})",
        sha256=hashlib.sha256(data).hexdigest(),
        place=_placer(csv_rows=fmt == "csv"),
        on_event=on_row,
    )


def _refuse(message: str) -> BatchError:
    return BatchError([Problem("", message)])


def _format(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in FORMATS:
        raise _refuse(f"the file must be .csv or .parquet, not {suffix[:16] or 'without a suffix'}")
    return FORMATS[suffix]


def _frame(data: bytes, fmt: str) -> pl.DataFrame:
    if fmt == "csv":
        text = _csv_shape(data)
        frame = pl.read_csv(io.BytesIO(text.encode("utf-8")), infer_schema=False, null_values=[""])
    else:
        try:
            frame = pl.read_parquet(io.BytesIO(data))
        except (pl.exceptions.PolarsError, OSError):
            raise _refuse("the file cannot be read as Parquet") from None
        _check_columns(list(frame.columns))
        _check_types(frame)
    if frame.height == 0:
        raise _refuse("the file has no data rows")
    return frame


def _csv_shape(data: bytes) -> str:
    """The text of a CSV whose header names known columns and whose rows all have as many
    fields as the header; otherwise ``BatchError`` saying where it is not."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse("the file is not UTF-8 text (save it as CSV UTF-8)") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if not header:
        raise _refuse("the file has no data rows (and no header)")
    _check_columns(header)
    for index, row in enumerate(rows):
        if row and len(row) != len(header):
            fields = "field" if len(row) == 1 else "fields"
            raise _refuse(
                f"{row_label(index)} has {len(row)} {fields} but the header has {len(header)}; "
                "check for a stray comma or an unquoted value"
            )
    return text


_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _check_columns(header: list[str]) -> None:
    problems = []
    seen: set[str] = set()
    for number, raw in enumerate(header, start=1):
        name = raw.strip()
        if name in seen:
            problems.append(Problem("", f"column {name!r} appears twice"))
        seen.add(name)
        if name in COLUMNS:
            continue
        # only radgov's own names are quoted: a header cell may be data (no header row)
        close = (
            difflib.get_close_matches(name.lower(), COLUMNS, n=1)
            if _NAME.match(name.lower())
            else []
        )
        hint = f"; did you mean {close[0]!r}?" if close else " (see docs/exams.md for the columns)"
        problems.append(Problem("", f"column {number}'s header is not a known column{hint}"))
    for name in REQUIRED:
        if name not in seen:
            problems.append(Problem("", f"the column {name!r} is missing"))
    if problems:
        raise BatchError(problems)


def _check_types(frame: pl.DataFrame) -> None:
    problems = []
    for name, dtype in frame.schema.items():
        if dtype in (pl.String, pl.Null):
            continue
        if name in NUMBER_COLUMNS and dtype.is_numeric():
            continue
        if name == "deployment_id" and dtype.is_integer():
            continue
        if name in TIME_COLUMNS and isinstance(dtype, pl.Datetime):
            continue
        hint = "; numbers lose leading zeros" if name in IDENTIFIERS else ""
        want = "text (String)"
        if name in NUMBER_COLUMNS:
            want = "a number or text"
        elif name == "deployment_id":
            want = "an integer or text"
        elif name in TIME_COLUMNS:
            want = "a timestamp or ISO 8601 text"
        problems.append(
            Problem("", f"column {name!r} must be {want} in a Parquet file, not {dtype}{hint}")
        )
    if problems:
        raise BatchError(problems)


def _number(value: Any) -> Any:
    """A float for numeric text; anything else as given, for the services to name."""
    number = as_number(value)
    return value if number is None else number


def _whole(value: Any) -> Any:
    number = as_number(value)
    return int(number) if number is not None and number.is_integer() else value


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _event(row: dict[str, Any]) -> Event:
    study = StudyMetadata(**{k: row[k] for k in STUDY_COLUMNS if row.get(k) is not None})
    outputs = None
    if any(row.get(k) not in (None, "") for k in OUTPUT_COLUMNS):
        outputs = Outputs(
            score=_number(row.get("score")),
            call=_text(row.get("call")).lower(),
            confidence=_number(row.get("confidence")),
            findings=row.get("findings"),
            model_version=_text(row.get("model_version")),
        )
    deployment = row.get("deployment_id")
    return Event(
        study=study,
        deployment_id=None if deployment in (None, "") else _whole(deployment),
        status=_text(row.get("status")).lower(),
        status_at=row.get("status_at"),
        reason_code=_text(row.get("reason_code")),
        reason=_text(row.get("reason")),
        outputs=outputs,
        event_id=_text(row.get("event_id")),
        vendor_status=_text(row.get("vendor_status")),
        vendor_reason=_text(row.get("vendor_reason")),
    )


def _placer(*, csv_rows: bool) -> Callable[[int, str], str]:
    def place(index: int, field: str) -> str:
        row = row_label(index, csv=csv_rows)
        column = re.split(r"[.\[]", field, maxsplit=1)[0]
        if column not in COLUMNS:
            return f"{row}, {field}" if field else row
        where = f"{row}, column {column!r}"
        return f"{where} ({field})" if field != column else where

    return place
