"""Reading an acceptance-test cases file (CSV or Parquet) and checking it against the protocol.

Nothing partial: either every row is valid and a typed table comes back, or a
:class:`CasesError` lists what is wrong, each problem naming the column, the row and the
value.  Rows are counted the way a person counts them in a spreadsheet: **data row 1 is the
first row after the header** (in a spreadsheet that shows the header as row 1 it is row 2;
messages give both).  Case identifiers are never echoed in messages (they may be PHI).
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from .protocol import Protocol

__all__ = ["Cases", "CasesError", "file_sha256", "load_cases", "read_sample", "row_label"]

SYNTHETIC_COLUMN = "synthetic"
SYNTHETIC_METADATA_KEY = "radgov.synthetic"
MISSING_LEVEL = "(missing)"
MAX_LEVELS = 50  # a categorical subgroup column with more distinct values is a mistake
_MAX_ROWS_LISTED = 5


class CasesError(ValueError):
    """The cases file cannot be used; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Cases:
    """A validated cases table: one row per case, columns renamed to their protocol roles.

    ``frame`` holds ``case_id`` (String) and the task's data roles (``truth`` Int8 and
    ``score`` Float64 for binary); ``groups`` maps each subgroup column to its values (String,
    missing values as ``(missing)``; Float64 for binned columns).
    """

    path: Path
    format: str
    sha256: str
    n_rows: int
    file_columns: list[str]
    frame: pl.DataFrame
    groups: dict[str, pl.Series]
    synthetic: bool
    notes: list[str] = field(default_factory=list)

    def array(self, role: str) -> np.ndarray:
        return self.frame.get_column(role).to_numpy()


def row_label(index: int, *, csv: bool = True) -> str:
    """Human row number for a 0-based data index (see the module docstring)."""
    if csv:
        return f"data row {index + 1} (spreadsheet row {index + 2})"
    return f"data row {index + 1}"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    if suffix in {".csv", ".txt"}:
        return "csv"
    raise CasesError([f"{path.name!r}: unknown file type {suffix!r}; use .csv or .parquet"])


def _file_columns(path: Path, fmt: str) -> list[str]:
    try:
        if fmt == "parquet":
            return list(pl.read_parquet_schema(path).keys())
        return list(pl.read_csv(path, n_rows=0, infer_schema=False).columns)
    except (OSError, pl.exceptions.PolarsError) as err:
        raise CasesError([f"cannot read {path.name} as {fmt}: {err}"]) from None


def _ragged_row(path: Path) -> str | None:
    """The first data row whose number of fields differs from the header's, in words."""
    import csv

    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        rows = csv.reader(f)
        header = next(rows, [])
        for i, row in enumerate(rows):
            if row and len(row) != len(header):
                return (
                    f"{path.name}: {row_label(i)} has {len(row)} fields but the header has "
                    f"{len(header)}; check for a stray comma or an unquoted value"
                )
    return None


def _read(path: Path, fmt: str, columns: list[str], n_rows: int | None = None) -> pl.DataFrame:
    try:
        if fmt == "parquet":
            return pl.read_parquet(path, columns=columns, n_rows=n_rows)
        return pl.read_csv(
            path,
            columns=columns,
            infer_schema=False,  # every value as text: the checks below say what is wrong
            n_rows=n_rows,
            null_values=[""],
        )
    except (OSError, pl.exceptions.PolarsError) as err:
        ragged = _ragged_row(path) if fmt == "csv" and not isinstance(err, OSError) else None
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CasesError([ragged or f"cannot read {path.name} as {fmt}: {first_line}"]) from None


def read_sample(path: str | Path, n: int = 2000) -> pl.DataFrame:
    """The first ``n`` rows of every column, as text (for the identifier check)."""
    p = Path(path)
    fmt = _format_of(p)
    cols = _file_columns(p, fmt)
    df = _read(p, fmt, cols, n_rows=n)
    return df.select(pl.all().cast(pl.String, strict=False))


def _is_synthetic(path: Path, fmt: str, frame: pl.DataFrame) -> bool:
    if SYNTHETIC_COLUMN in frame.columns:
        col = frame.get_column(SYNTHETIC_COLUMN).cast(pl.String).str.to_lowercase()
        return bool(col.is_in(["true", "1", "yes"]).all())
    if fmt == "parquet":
        meta = pl.read_parquet_metadata(path)
        return meta.get(SYNTHETIC_METADATA_KEY, "").lower() == "true"
    return False


class _Checker:
    def __init__(self, csv: bool) -> None:
        self.csv = csv
        self.problems: list[str] = []

    def report(self, column: str, bad: np.ndarray, values: pl.Series | None, what: str) -> None:
        """``bad``: 0-based indices of offending rows.  One message per column and problem."""
        if bad.size == 0:
            return
        first = int(bad[0])
        shown = "" if values is None else f": {values[first]!r}"
        more = ""
        if bad.size > 1:
            listed = ", ".join(str(int(i) + 1) for i in bad[:_MAX_ROWS_LISTED])
            tail = ", ..." if bad.size > _MAX_ROWS_LISTED else ""
            more = f" ({bad.size} rows in all; data rows {listed}{tail})"
        self.problems.append(
            f"column {column!r}, {row_label(first, csv=self.csv)}{shown} {what}{more}"
        )

    def numeric(self, column: str, raw: pl.Series, *, what: str = "a number") -> pl.Series:
        """Float64 copy of ``raw``; reports missing, non-numeric, NaN and infinite values."""
        if raw.dtype.is_numeric():
            values = raw.cast(pl.Float64)
            text = raw.cast(pl.String)
        else:
            text = raw.cast(pl.String).str.strip_chars()
            values = text.cast(pl.Float64, strict=False)
        missing = raw.is_null().to_numpy()
        not_number = (values.is_null() & ~raw.is_null()).to_numpy()
        arr = values.fill_null(0.0).to_numpy()
        self.report(column, np.flatnonzero(missing), None, "is empty (a value is required)")
        self.report(column, np.flatnonzero(not_number), text, f"is not {what}")
        self.report(column, np.flatnonzero(np.isnan(arr) & ~missing), text, "is NaN (not a number)")
        self.report(
            column,
            np.flatnonzero(np.isinf(arr)),
            text,
            "is infinite (a finite number is required)",
        )
        return values


def _missing_columns(needed: dict[str, str], present: list[str]) -> list[str]:
    if len(present) == 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if sep in present[0]:
                return [
                    f"the file's header is one column that contains {name}: save it as a CSV "
                    "with commas between the values (radgov reads comma-separated files)"
                ]
    problems = []
    for what, column in needed.items():
        if column in present:
            continue
        close = difflib.get_close_matches(column, present, n=1, cutoff=0.6)
        lowered = [c for c in present if c.strip().lower() == column.strip().lower()]
        hint = lowered or close
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        problems.append(
            f"column {column!r} ({what}) is not in the cases file{suggestion} "
            f"(columns found: {present})"
        )
    return problems


def _check_binary_task(chk: _Checker, protocol: Protocol, df: pl.DataFrame) -> pl.DataFrame:
    cols = protocol.columns
    assert cols.truth is not None and cols.score is not None
    truth_raw = df.get_column(cols.truth)
    truth = chk.numeric(cols.truth, truth_raw, what="0 or 1")
    arr = truth.to_numpy()
    not_binary = ~np.isnan(arr) & (arr != 0) & (arr != 1) & ~truth.is_null().to_numpy()
    chk.report(
        cols.truth,
        np.flatnonzero(not_binary),
        truth_raw.cast(pl.String),
        "is not a valid label; labels must be 0 (negative) or 1 (positive)",
    )
    score = chk.numeric(cols.score, df.get_column(cols.score))
    if {"brier", "ece"} & set(protocol.metrics):
        v = score.fill_null(0.5).fill_nan(0.5).to_numpy()
        chk.report(
            cols.score,
            np.flatnonzero((v < 0) | (v > 1)),
            score.cast(pl.String),
            "is outside [0, 1]; the protocol's calibration metrics (brier, ece) need "
            "scores that are probabilities",
        )
    if chk.problems:
        return df
    n_pos = int(np.count_nonzero(arr == 1))
    if n_pos == 0 or n_pos == arr.shape[0]:
        only = "0 (negative)" if n_pos == 0 else "1 (positive)"
        chk.problems.append(
            f"column {cols.truth!r}: every case has label {only}; acceptance testing needs "
            "both positive and negative cases"
        )
    return pl.DataFrame({"truth": truth.cast(pl.Int8), "score": score})


def _check_quantification(chk: _Checker, protocol: Protocol, df: pl.DataFrame) -> pl.DataFrame:
    cols = protocol.columns
    assert cols.truth is not None and cols.score is not None
    truth = chk.numeric(cols.truth, df.get_column(cols.truth))
    score = chk.numeric(cols.score, df.get_column(cols.score))
    return pl.DataFrame({"truth": truth, "score": score})


def _check_segmentation(chk: _Checker, protocol: Protocol, df: pl.DataFrame) -> pl.DataFrame:
    cols = protocol.columns
    out = {}
    assert cols.dice is not None
    dice = chk.numeric(cols.dice, df.get_column(cols.dice))
    d = dice.fill_null(0.0).fill_nan(0.0).to_numpy()
    chk.report(
        cols.dice,
        np.flatnonzero((d < 0) | (d > 1)),
        dice.cast(pl.String),
        "is outside [0, 1]; a Dice coefficient is",
    )
    out["dice"] = dice
    if cols.hd95 is not None:
        hd = chk.numeric(cols.hd95, df.get_column(cols.hd95))
        h = hd.fill_null(0.0).fill_nan(0.0).to_numpy()
        chk.report(cols.hd95, np.flatnonzero(h < 0), hd.cast(pl.String), "is negative")
        out["hd95"] = hd
    return pl.DataFrame(out)


def _check_detection(chk: _Checker, protocol: Protocol, df: pl.DataFrame) -> pl.DataFrame:
    cols = protocol.columns
    out = {}
    for role in ("lesions", "detected", "false_positives"):
        name = getattr(cols, role)
        values = chk.numeric(name, df.get_column(name), what="a count")
        v = values.fill_null(0.0).fill_nan(0.0).to_numpy()
        chk.report(
            name,
            np.flatnonzero((v < 0) | (v != np.floor(v))),
            values.cast(pl.String),
            "is not a whole number of 0 or more",
        )
        out[role] = values
    if not chk.problems:
        lesions = out["lesions"].to_numpy()
        detected = out["detected"].to_numpy()
        chk.report(
            cols.detected or "detected",
            np.flatnonzero(detected > lesions),
            out["detected"].cast(pl.String),
            f"is more than the number of lesions in column {cols.lesions!r}",
        )
    return pl.DataFrame({k: v.cast(pl.Int64, strict=False) for k, v in out.items()})


_TASK_CHECKS = {
    "binary": _check_binary_task,
    "quantification": _check_quantification,
    "segmentation": _check_segmentation,
    "detection": _check_detection,
}


def _check_subgroups(chk: _Checker, protocol: Protocol, df: pl.DataFrame) -> dict[str, pl.Series]:
    out: dict[str, pl.Series] = {}
    for spec in protocol.subgroups:
        raw = df.get_column(spec.column)
        if spec.bins is None:
            levels = raw.n_unique()
            if levels > MAX_LEVELS:
                chk.problems.append(
                    f"column {spec.column!r} has {levels} distinct values, too many for "
                    f"subgroups (at most {MAX_LEVELS}); for a numeric column give bins, e.g. "
                    f"{{column: {spec.column}, bins: [0, 18, 65, 200]}}"
                )
            out[spec.column] = raw.cast(pl.String).fill_null(MISSING_LEVEL)
            continue
        values = chk.numeric(spec.column, raw)
        v = values.fill_null(np.nan).to_numpy()
        lo, hi = spec.bins[0], spec.bins[-1]
        outside = np.flatnonzero(~np.isnan(v) & ((v < lo) | (v >= hi)))
        chk.report(
            spec.column,
            outside,
            values.cast(pl.String),
            f"is outside the protocol's bins [{lo:g}, {hi:g})",
        )
        out[spec.column] = values
    return out


def load_cases(path: str | Path, protocol: Protocol) -> Cases:
    """Read and validate the cases file for ``protocol``; raise :class:`CasesError` if bad."""
    p = Path(path)
    if not p.is_file():
        raise CasesError([f"the cases file {p} does not exist"])
    fmt = _format_of(p)
    present = _file_columns(p, fmt)
    needed = {f"columns.{role}": col for role, col in protocol.data_columns.items()}
    needed.update({f"subgroup {i}": s.column for i, s in enumerate(protocol.subgroups, 1)})
    problems = _missing_columns(needed, present)
    if problems:
        raise CasesError(problems)
    read_cols = list(dict.fromkeys(needed.values()))
    if SYNTHETIC_COLUMN in present and SYNTHETIC_COLUMN not in read_cols:
        read_cols.append(SYNTHETIC_COLUMN)
    df = _read(p, fmt, read_cols)
    if df.height == 0:
        raise CasesError([f"{p.name} has a header but no data rows"])
    chk = _Checker(csv=fmt == "csv")

    case_col = protocol.columns.case_id
    ids = df.get_column(case_col).cast(pl.String)
    chk.report(
        case_col, np.flatnonzero(ids.is_null().to_numpy()), None, "is empty (a case id is required)"
    )
    dup = ids.is_duplicated().to_numpy() & ~ids.is_null().to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        listed = ", ".join(str(int(i) + 1) for i in rows[:_MAX_ROWS_LISTED])
        chk.problems.append(
            f"column {case_col!r}: case ids must be unique; {rows.size} rows share an id "
            f"(data rows {listed}{', ...' if rows.size > _MAX_ROWS_LISTED else ''})"
        )

    data = _TASK_CHECKS[protocol.task](chk, protocol, df)
    groups = _check_subgroups(chk, protocol, df)
    if chk.problems:
        raise CasesError(chk.problems)
    frame = data.with_columns(case_id=ids)
    return Cases(
        path=p,
        format=fmt,
        sha256=file_sha256(p),
        n_rows=df.height,
        file_columns=present,
        frame=frame,
        groups=groups,
        synthetic=_is_synthetic(p, fmt, df),
    )
