"""Events binned into calendar periods or subgroups, with classification metrics per bin.

``bin_periods``
    Each event time (``datetime64`` or ISO strings) to its period: a day, an ISO week (starting
    Monday) or a calendar month.  The periods run without gaps from the first to the last
    (or from ``start`` to ``end``), so a day with no exams is a period of its own with n = 0,
    which charts and run rules must see.
``counts_by_group``
    AI call against truth (the report label), counted per bin: one
    :class:`~radgov.stats.classification.ConfusionCounts` per period or subgroup.
``metrics_by_group``
    Concordance (agreement of AI and truth: accuracy), sensitivity, specificity, PPV, NPV and
    F1 per bin with the intervals of :func:`radgov.stats.classification.metrics_from_counts`.
    A bin with fewer than ``min_cases`` cases has every metric not estimable, with the reason
    ("too few cases to estimate: 7 < 20"); a bin without positives says so for sensitivity, as
    :mod:`radgov.stats.classification` does.
``events_by_group``
    Events and trials per bin (discordant exams of all assessed exams per day), the input of
    the control charts' rates.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import check_binary, check_same_length
from .classification import ConfusionCounts, metrics_from_counts
from .proportions import ProportionMethod
from .results import Estimate

__all__ = [
    "Periods",
    "bin_periods",
    "counts_by_group",
    "events_by_group",
    "metrics_by_group",
    "metrics_of_counts",
]

Frequency = Literal["day", "week", "month"]
IntArray = NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Periods:
    """``starts[k]`` is the first day of period k; ``index[i]`` the period of event i."""

    starts: NDArray[np.datetime64]
    index: IntArray
    frequency: str

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(str(s) for s in self.starts)


def _floor(days: NDArray[np.datetime64], frequency: Frequency) -> NDArray[np.datetime64]:
    if frequency == "day":
        return days
    if frequency == "week":
        number = days.astype(np.int64)
        # 1970-01-01 was a Thursday: (number + 3) % 7 is the weekday counted from Monday
        out: NDArray[np.datetime64] = (number - (number + 3) % 7).astype("datetime64[D]")
        return out
    if frequency == "month":
        return days.astype("datetime64[M]").astype("datetime64[D]")
    raise ValueError(f"frequency must be 'day', 'week' or 'month'; got {frequency!r}")


def _next(start: np.datetime64, frequency: Frequency) -> np.datetime64:
    if frequency == "month":
        return np.datetime64((start.astype("datetime64[M]") + 1).astype("datetime64[D]"))
    return np.datetime64(start + np.timedelta64(7 if frequency == "week" else 1, "D"))


def _days(values: ArrayLike, name: str) -> NDArray[np.datetime64]:
    raw = np.asarray(values)
    if raw.size == 0:
        return np.array([], dtype="datetime64[D]")
    try:
        days = raw.astype("datetime64[D]")
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name} must be dates or date-times: {error}") from None
    bad = np.flatnonzero(np.isnat(days))
    if bad.size:
        raise ValueError(f"{name} has no date at index {int(bad[0])}")
    return days


def bin_periods(
    times: ArrayLike,
    *,
    frequency: Frequency = "week",
    start: Any = None,
    end: Any = None,
) -> Periods:
    """Assign each time to its period; the periods cover ``start`` (or the first time) to
    ``end`` (or the last time) without gaps.  A time outside ``[start, end]`` is refused."""
    days = _days(times, "times")
    bounds = [
        _days([v], name)[0] if v is not None else None
        for v, name in ((start, "start"), (end, "end"))
    ]
    if days.size == 0 and None in bounds:
        raise ValueError("no times: give start and end to lay out empty periods")
    floored = _floor(days, frequency)
    first = _floor(np.array([bounds[0] if bounds[0] is not None else days.min()]), frequency)[0]
    last = _floor(np.array([bounds[1] if bounds[1] is not None else days.max()]), frequency)[0]
    outside = np.flatnonzero((floored < first) | (floored > last))
    if outside.size:
        i = int(outside[0])
        raise ValueError(f"times[{i}] = {days[i]} lies outside {first} .. {last}")
    if last < first:
        raise ValueError(f"end ({bounds[1]}) is before start ({bounds[0]})")
    starts = [first]
    while starts[-1] < last:
        starts.append(_next(starts[-1], frequency))
    start_array = np.array(starts, dtype="datetime64[D]")
    index = np.searchsorted(start_array, floored).astype(np.intp)
    return Periods(starts=start_array, index=index, frequency=frequency)


def _codes(groups: ArrayLike | Periods) -> tuple[IntArray, tuple[Hashable, ...]]:
    if isinstance(groups, Periods):
        return groups.index, tuple(groups.starts.tolist())
    values = np.asarray(groups)
    if values.dtype.kind != "O":
        labels, codes = np.unique(values, return_inverse=True)
        return codes.astype(np.intp).ravel(), tuple(labels.tolist())
    # mixed objects (a subgroup may be missing: None) sort by text, None last
    found = sorted(set(values.tolist()), key=lambda v: (v is None, str(v)))
    index = {v: i for i, v in enumerate(found)}
    return np.fromiter((index[v] for v in values.tolist()), np.intp, values.size), tuple(found)


def counts_by_group(
    y_true: ArrayLike, y_pred: ArrayLike, groups: ArrayLike | Periods
) -> dict[Hashable, ConfusionCounts]:
    """TP, FP, TN, FN per group (or per period, empty periods included)."""
    truth = check_binary(y_true, "y_true")
    pred = check_binary(y_pred, "y_pred")
    codes, labels = _codes(groups)
    check_same_length(y_true=truth, y_pred=pred, groups=codes)
    cell = 2 * truth.astype(np.intp) + pred  # 0 TN, 1 FP, 2 FN, 3 TP
    table = np.bincount(codes * 4 + cell, minlength=4 * len(labels)).reshape(-1, 4)
    return {
        label: ConfusionCounts(tp=int(tp), fp=int(fp), tn=int(tn), fn=int(fn))
        for label, (tn, fp, fn, tp) in zip(labels, table, strict=True)
    }


def events_by_group(
    events: ArrayLike, groups: ArrayLike | Periods
) -> tuple[tuple[Hashable, ...], NDArray[np.int64], NDArray[np.int64]]:
    """(labels, events, trials) per group: e.g. discordant exams and assessed exams per day."""
    hits = check_binary(events, "events")
    codes, labels = _codes(groups)
    check_same_length(events=hits, groups=codes)
    trials = np.bincount(codes, minlength=len(labels)).astype(np.int64)
    counted = np.bincount(codes, weights=hits, minlength=len(labels)).astype(np.int64)
    return labels, counted, trials


def metrics_by_group(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    groups: ArrayLike | Periods,
    *,
    min_cases: int = 20,
    method: ProportionMethod = "wilson",
    confidence_level: float = 0.95,
) -> dict[Hashable, dict[str, Estimate]]:
    """Concordance, sensitivity, specificity, PPV, NPV and F1 with intervals per group."""
    return metrics_of_counts(
        counts_by_group(y_true, y_pred, groups),
        min_cases=min_cases,
        method=method,
        confidence_level=confidence_level,
    )


def metrics_of_counts(
    table: dict[Hashable, ConfusionCounts],
    *,
    min_cases: int = 20,
    method: ProportionMethod = "wilson",
    confidence_level: float = 0.95,
) -> dict[Hashable, dict[str, Estimate]]:
    """:func:`metrics_by_group` from counts per group already made (e.g. summed from daily
    rollups): a group with fewer than ``min_cases`` says so instead of a number."""
    if min_cases < 1:
        raise ValueError(f"min_cases must be at least 1; got {min_cases}")
    out: dict[Hashable, dict[str, Estimate]] = {}
    for label, counts in table.items():
        metrics = metrics_from_counts(counts, method=method, confidence_level=confidence_level)
        if counts.n < min_cases:
            reason = f"too few cases to estimate: {counts.n} < {min_cases}"
            metrics = {
                name: Estimate.not_estimable(
                    reason, method=e.method, n=counts.n, confidence_level=confidence_level
                )
                for name, e in metrics.items()
            }
        metrics["concordance"] = metrics["accuracy"]
        out[label] = metrics
    return out
