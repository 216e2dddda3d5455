"""Bulk ingest of inference and interaction events for practices whose AI runs elsewhere
(issue 17; docs/monitoring.md, "Bulk ingest").

- **NDJSON** (``POST /api/monitoring/events.ndjson``): one JSON object a line, each with
  ``"type"``: ``"inference"`` (a row of the exams' bulk format, docs/exams.md) or
  ``"interaction"`` (``radgov.monitoring.interactions``).  The whole body is one batch: it is
  read and checked to the end before anything is stored, so a stream that breaks mid-way (a
  line that is not JSON, a cut-off last line) commits nothing and the refusal names the line.
  The inference lines are stored first, so an interaction may name a study reported earlier
  in the same stream.
- **CSV or Parquet** of interactions (``POST /api/monitoring/interactions/import``): refused
  whole at the first bad row, naming the row and the column.

Nothing of a refused batch is stored; messages name the place, never a cell's value.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from radgov.core.collector import collector_paused
from radgov.core.services import service
from radgov.evaluation.cases import row_label
from radgov.exams import services as exams
from radgov.exams.errors import BatchError, Problem
from radgov.exams.schemas import EVENT_LIST
from radgov.exams.statuses import Source
from radgov.monitoring.interactions import COLUMNS, Place, record_interactions

KINDS = ("inference", "interaction")
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def _refuse(place: str, message: str) -> BatchError:
    return BatchError([Problem(place, message)])


def _line(number: int) -> str:
    return f"line {number}"


def read_ndjson(body: bytes) -> tuple[list[tuple[int, Any]], list[tuple[int, dict[str, Any]]]]:
    """(line number, exams ``Event``) and (line number, interaction row) of an NDJSON body,
    or ``BatchError`` naming each bad line."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise _refuse(_line(line), "is not UTF-8 text") from None
    inferences: list[tuple[int, dict[str, Any]]] = []
    interactions: list[tuple[int, dict[str, Any]]] = []
    problems: list[tuple[int, Problem]] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except ValueError:
            raise _refuse(
                _line(number),
                "is not a whole JSON object: the stream broke here; nothing was stored",
            ) from None
        if not isinstance(item, dict):
            problems.append((number, Problem(_line(number), "is not a JSON object")))
            continue
        kind = item.pop("type", None)
        if kind not in KINDS:
            where = f"{_line(number)}, type"
            problems.append((number, Problem(where, f"must be one of {', '.join(KINDS)}")))
        elif kind == "interaction":
            interactions.append((number, item))
        else:
            inferences.append((number, item))
    numbers = [number for number, _ in inferences]
    events: list[Any] = []
    try:  # every inference line at once
        events = [e.as_event() for e in EVENT_LIST.validate_python([i for _, i in inferences])]
    except ValidationError as exc:
        place = _by_line(numbers)
        for e in exc.errors(include_input=False):
            index, field = e["loc"][0], ".".join(map(str, e["loc"][1:]))
            problems.append((numbers[index], Problem(place(index, field), e["msg"])))
    if problems:
        raise BatchError([problem for _, problem in sorted(problems, key=lambda p: p[0])])
    if not inferences and not interactions:
        raise _refuse("", "the stream holds no events")
    return list(zip(numbers, events, strict=True)), interactions


def _by_line(numbers: list[int]) -> Place:
    """A place naming the stream's line of the ``index``-th event of one kind."""

    def place(index: int, name: str) -> str:
        line = _line(numbers[index])
        return f"{line}, {name}" if name else line

    return place


@collector_paused()  # the batch makes many objects: see radgov.core.collector
@service
def record_ndjson(actor: Any, body: bytes) -> dict[str, int]:
    """Store an NDJSON body (see the module's docstring) whole, or nothing."""
    inferences, interactions = read_ndjson(body)
    out = {"inference_events": len(inferences), "interactions": 0}
    if inferences:
        result = exams.record_events(
            actor,
            [event for _, event in inferences],
            source=Source.API,
            what="NDJSON stream",
            sha256=hashlib.sha256(body).hexdigest(),
            place=_by_line([n for n, _ in inferences]),
        )
        out.update({k: v for k, v in result.as_dict().items() if k != "events"})
    if interactions:
        out["interactions"] = record_interactions(
            actor,
            [row for _, row in interactions],
            source=Source.API,
            what="NDJSON stream",
            place=_by_line([n for n, _ in interactions]),
        )
    return out


def _frame(data: bytes, name: str) -> tuple[pl.DataFrame, bool]:
    fmt = FORMATS.get(Path(name).suffix.lower())
    if fmt is None:
        raise _refuse("", "the file must be .csv or .parquet")
    try:
        if fmt == "csv":
            frame = pl.read_csv(io.BytesIO(data), infer_schema=False, null_values=[""])
        else:
            frame = pl.read_parquet(io.BytesIO(data))
    except (pl.exceptions.PolarsError, OSError):
        # the library's own words quote cells; say only where
        raise _refuse("", f"the file cannot be read as {fmt.upper()}") from None
    unknown = [c for c in frame.columns if c not in COLUMNS]
    if unknown:
        numbers = ", ".join(str(frame.columns.index(c) + 1) for c in unknown)
        raise _refuse("", f"column(s) {numbers} of the header are not interaction columns")
    if frame.height == 0:
        raise _refuse("", "the file has no data rows")
    return frame, fmt == "csv"


def record_interaction_file(actor: Any, data: bytes, *, name: str) -> int:
    """Store a CSV or Parquet file of interactions whole, or nothing; how many were stored."""
    frame, is_csv = _frame(data, name)
    rows: list[Mapping[str, Any]] = [
        {k: v for k, v in row.items() if v is not None} for row in frame.iter_rows(named=True)
    ]

    def place(index: int, column: str) -> str:
        row = row_label(index, csv=is_csv)
        return f"{row}, column {column!r}" if column else row

    return record_interactions(
        actor, rows, source=Source.FILE, what=f"file import ({Path(name).suffix[1:]})", place=place
    )
