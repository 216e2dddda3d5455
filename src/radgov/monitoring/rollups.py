"""Daily rollups: what the monitoring pages, the report, the stop rules and the drift read
instead of the raw rows (docs/monitoring.md, "Rollups"; ARCHITECTURE.md, "Clinical operation").

Per deployment and day: the comparisons per outcome, in all and per subgroup value
(:class:`OutcomeDay`), the scored comparisons' discordance in arrival order for the CUSUM
(:class:`OrderDay`), and the inferences' value counts (:class:`ValueDay`): exam metadata and
outputs for drift, continuous ones in fixed bins (:data:`BINS`), and the status, turnaround and
reports still waiting for the technical signals, and binned scores with their call and truth
for the label-free estimate.  The periodic task rolls up every day up to
yesterday (:func:`roll_up`); a reader takes the rollups up to ``RollupState.through`` and counts
the later days (today) from the raw rows in the same way, so a figure is the same whether its
days were rolled up or not.  Days whose rows changed since the last build (a late report, an
amended exam, a late result) are rebuilt by the next one.  The counts the retention purge kept
of removed comparisons (``ConcordanceDay``) join the all-exams outcome counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import polars as pl
from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from numpy.typing import NDArray

from radgov.exams.models import Exam, Inference
from radgov.monitoring.models import (
    Concordance,
    ConcordanceDay,
    OrderDay,
    Outcome,
    OutcomeDay,
    Report,
    RollupState,
    ValueDay,
)

SUBGROUPS = {
    "site": "inference__exam__site",
    "manufacturer": "inference__exam__manufacturer",
    "model": "inference__exam__manufacturer_model",
    "protocol": "inference__exam__protocol_name",
    "age_band": "inference__exam__age_band",
    "sex": "inference__exam__sex",
}
CATEGORICAL = {
    "manufacturer": "exam__manufacturer",
    "model": "exam__manufacturer_model",
    "software_version": "exam__software_versions",
    "station": "exam__station_name",
    "protocol": "exam__protocol_name",
    "body_part": "exam__body_part",
    "contrast": "exam__contrast",
}
CONTINUOUS = {
    "slice_thickness": "exam__slice_thickness_mm",
    "kvp": "exam__kvp",
    "pixel_spacing": "exam__pixel_spacing_mm",
    "age_band": "exam__age_band",
    "score": "score",
    "confidence": "confidence",
}
BINS = {  # decimals kept: the fixed bins of each continuous column
    "slice_thickness": 1,
    "kvp": 0,
    "pixel_spacing": 2,
    "age_band": 0,
    "score": 2,
    "confidence": 2,
}
FINISHED = ("inferred", "released", "withdrawn", "rejected")
DONE = ("inferred", "released", "withdrawn")  # intake.DONE: results a report is compared with
CHUNK_DAYS = 31  # a build reads this many days of raw rows at a time
MARGIN = dt.timedelta(minutes=10)  # writes in flight when a build started
DAY = TruncDate(Coalesce(F("exam__study_datetime"), F("created_at")))


# --- counting raw rows ------------------------------------------------------------------------


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def inferences(deployment_id: int, start: dt.date | None, end: dt.date | None) -> QuerySet[Any]:
    """The deployment's inferences whose study day (else the day recorded) is in
    ``start..end`` (open where None), with that ``day``; filtered on the stored times so
    the database can use its indexes."""
    if start is None and end is None:
        return Inference.objects.filter(deployment_id=deployment_id).annotate(day=DAY)
    study, made = Q(), Q()
    if start is not None:
        study &= Q(study_datetime__gte=_midnight(start))
        made &= Q(created_at__gte=_midnight(start))
    if end is not None:
        after = _midnight(end + dt.timedelta(days=1))
        study &= Q(study_datetime__lt=after)
        made &= Q(created_at__lt=after)
    # the window's exams (by the study-time index) lead to their inferences (by the exam
    # index); the deployment is compared as an expression so that SQLite does not read every
    # inference of the deployment by its index instead (a day of a 1,000,000-inference
    # deployment: 7.6 s that way, 0.1 s this way)
    undated = Exam.objects.filter(study_datetime__isnull=True)
    return (
        Inference.objects.alias(of=F("deployment_id") + Value(0))
        .filter(of=deployment_id)
        .filter(Q(exam__in=Exam.objects.filter(study)) | (Q(exam__in=undated) & made))
        .annotate(day=DAY)
    )


def _days(field: str, start: dt.date | None, end: dt.date | None) -> dict[str, dt.date]:
    return {
        **({f"{field}__gte": start} if start else {}),
        **({f"{field}__lte": end} if end else {}),
    }


def _frame(rows: Iterable[tuple[Any, ...]], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=schema, orient="row")


def outcome_days(
    deployment_id: int, start: dt.date | None, end: dt.date | None
) -> tuple[list[OutcomeDay], list[OrderDay]]:
    """The outcome counts and the arrival-order discordance of ``start..end``, from the raw
    comparisons (and the purge's kept counts), as unsaved rows."""
    schema: dict[str, Any] = {"day": pl.Date, "outcome": pl.String}
    schema |= {name: pl.Int64 if name == "age_band" else pl.String for name in SUBGROUPS}
    rows = (
        Concordance.objects.filter(deployment_id=deployment_id, **_days("day", start, end))
        .order_by("day", "id")
        .values_list("day", "outcome", *SUBGROUPS.values())
    )
    frame = _frame(rows, schema).with_columns(
        pl.col(name).cast(pl.String).fill_null("") for name in SUBGROUPS
    )
    made: dict[tuple[Any, ...], OutcomeDay] = {}
    for dimension in ("", *SUBGROUPS):
        keys = ["day", "outcome", *([dimension] if dimension else [])]
        for day, outcome, *value, n in frame.group_by(keys).len().iter_rows():
            found = OutcomeDay(
                deployment_id=deployment_id, day=day, outcome=outcome, dimension=dimension,
                value=value[0] if value else "", count=n,
            )  # fmt: skip
            made[(dimension, day, outcome, found.value)] = found
    kept = (
        ConcordanceDay.objects.filter(deployment_id=deployment_id, **_days("day", start, end))
        .values_list("day", "outcome")
        .annotate(n=Sum("count"))
    )
    for day, outcome, n in kept:
        key = ("", day, outcome, "")
        made.setdefault(key, OutcomeDay(deployment_id=deployment_id, day=day, outcome=outcome,
                                        dimension="", value="", count=0)).count += n  # fmt: skip
    scored = frame.filter(pl.col("outcome") != Outcome.UNSCORED).select(
        "day", pl.col("outcome").is_in([Outcome.FP, Outcome.FN]).alias("discordant")
    )
    orders = [
        OrderDay(
            deployment_id=deployment_id,
            day=day,
            n=len(bits),
            discordant=np.packbits(np.array(bits, dtype=np.uint8)).tobytes(),
        )  # fmt: skip
        for day, bits in scored.group_by("day", maintain_order=True).agg("discordant").iter_rows()
    ]
    return list(made.values()), orders


def _value_columns() -> dict[str, pl.Expr]:
    """Each rolled-up column of an inference as a polars expression (null: not counted)."""
    status, call = pl.col("status"), pl.col("call")
    minutes = (pl.col("inferred_at") - pl.col("created_at")).dt.total_seconds() / 60
    called = status.is_in(FINISHED) & call.is_in(["positive", "negative"])
    score = pl.col("score").round(BINS["score"]).cast(pl.String)
    truth = pl.when(pl.col("outcome").is_in(["tp", "fn"])).then(pl.lit("1")).otherwise(pl.lit("0"))
    compared = pl.col("outcome").is_in(["tp", "fp", "fn", "tn"])
    return {
        **{name: pl.col(name).fill_null("") for name in CATEGORICAL},
        **{
            name: pl.col(name).round(BINS[name]).cast(pl.String).fill_null("")
            for name in CONTINUOUS
        },
        "positive_rate": pl.when(call.is_in(["positive", "negative"])).then(call),
        "rejection_rate": pl.when(status.is_in(FINISHED)).then(
            pl.when(status == "rejected").then(pl.lit("rejected")).otherwise(pl.lit("accepted"))
        ),
        "status": status,
        "turnaround": pl.when(minutes >= 0).then(minutes.round(0).cast(pl.Int64).cast(pl.String)),
        "report": pl.when(status.is_in(DONE)).then(
            pl.when(pl.col("reported")).then(pl.lit("reported")).otherwise(pl.lit("waiting"))
        ),
        # the label-free estimate's inputs: the binned score with the call, and with the
        # report's truth where the exam was compared (1: the finding is present)
        "score_call": pl.when(called).then(pl.concat_str([score, pl.lit("|"), call])),
        "score_truth": pl.when(called & compared).then(pl.concat_str([score, pl.lit("|"), truth])),
    }


def value_days(deployment_id: int, start: dt.date | None, end: dt.date | None) -> list[ValueDay]:
    """The inferences' value counts of ``start..end`` from the raw rows, as unsaved rows."""
    reported = Exists(Report.objects.filter(exam_id=OuterRef("exam_id")))
    fields = {**CATEGORICAL, **CONTINUOUS, "status": "status", "call": "call"}
    rows = (
        inferences(deployment_id, start, end)
        .annotate(reported=reported)
        .values_list(
            "day", *fields.values(), "created_at", "inferred_at", "reported", "concordance__outcome"
        )
    )
    schema: dict[str, Any] = {"day": pl.Date}
    schema |= {name: pl.Float64 if name in CONTINUOUS else pl.String for name in fields}
    schema |= {"created_at": pl.Datetime("us", "UTC"), "inferred_at": pl.Datetime("us", "UTC")}
    frame = _frame(rows, schema | {"reported": pl.Boolean, "outcome": pl.String})
    made = []
    for column, expression in _value_columns().items():
        counted = (
            frame.select("day", expression.alias("value"))
            .drop_nulls()
            .group_by("day", "value")
            .len()
        )
        made += [
            ValueDay(deployment_id=deployment_id, day=day, column=column, value=value, count=n)
            for day, value, n in counted.iter_rows()
        ]
    return made


# --- building ---------------------------------------------------------------------------------


def _chunks(start: dt.date, end: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    while start <= end:
        last = min(end, start + dt.timedelta(days=CHUNK_DAYS - 1))
        yield start, last
        start = last + dt.timedelta(days=1)


def _spans(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as runs of consecutive days."""
    spans: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if spans and day == spans[-1][1] + dt.timedelta(days=1):
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


def rebuild(deployment_id: int, start: dt.date, end: dt.date) -> None:
    """Replace the rollups of ``start..end`` by the raw rows' counts (inside a transaction)."""
    for first, last in _chunks(start, end):
        for model in (OutcomeDay, OrderDay, ValueDay):
            model.objects.filter(deployment_id=deployment_id, day__range=(first, last)).delete()
        outcomes, orders = outcome_days(deployment_id, first, last)
        OutcomeDay.objects.bulk_create(outcomes, batch_size=2000)
        OrderDay.objects.bulk_create(orders, batch_size=500)
        ValueDay.objects.bulk_create(value_days(deployment_id, first, last), batch_size=2000)


def first_day(deployment_id: int) -> dt.date | None:
    """The deployment's earliest day with a comparison, a kept count or an inference."""
    found = [
        Concordance.objects.filter(deployment_id=deployment_id).aggregate(d=Min("day"))["d"],
        ConcordanceDay.objects.filter(deployment_id=deployment_id).aggregate(d=Min("day"))["d"],
    ]
    made = Inference.objects.filter(deployment_id=deployment_id).aggregate(
        at=Min(Coalesce(F("exam__study_datetime"), F("created_at")))
    )["at"]
    if made is not None:
        found.append(timezone.localtime(made).date())
    days = [d for d in found if d is not None]
    return min(days) if days else None


def changed_days(deployment_id: int, since: dt.datetime) -> set[dt.date]:
    """Days whose comparisons, inferences, exams or reports were written at or after ``since``."""
    compared = Concordance.objects.filter(deployment_id=deployment_id, compared_at__gte=since)
    written = inferences(deployment_id, None, None).filter(
        Q(created_at__gte=since)
        | Q(status_at__gte=since)
        | Q(exam__updated_at__gte=since)
        | Q(exam__reports__updated_at__gte=since)
    )
    return set(compared.values_list("day", flat=True).distinct()) | set(
        written.values_list("day", flat=True).distinct()
    )


def roll_up(deployment_id: int, *, today: dt.date) -> dict[str, int]:
    """Roll up every day before ``today`` not rolled up yet, and rebuild the rolled-up days
    whose rows changed since the last build.  Running it again changes nothing."""
    end = today - dt.timedelta(days=1)
    with transaction.atomic():
        state, _ = RollupState.objects.select_for_update().get_or_create(
            deployment_id=deployment_id
        )
        started = timezone.now()
        spans = []
        if state.built_at is not None and state.through is not None:
            last = min(end, state.through)
            changed = changed_days(deployment_id, state.built_at - MARGIN)
            spans = _spans(d for d in changed if d <= last)
        first = state.through + dt.timedelta(days=1) if state.through else first_day(deployment_id)
        if first is not None and first <= end:
            spans.append((first, end))
        for start, stop in spans:
            rebuild(deployment_id, start, stop)
        state.through = max(end, state.through or end)
        state.built_at = started
        state.save()
    return {"days": sum((stop - start).days + 1 for start, stop in spans)}


# --- reading ----------------------------------------------------------------------------------


def through(deployment_id: int) -> dt.date | None:
    return (
        RollupState.objects.filter(deployment_id=deployment_id)
        .values_list("through", flat=True)
        .first()
    )


def _after(day: dt.date | None) -> dt.date | None:
    return None if day is None else day + dt.timedelta(days=1)


def outcomes(
    deployment_id: int, dimension: str = "", *, since: dt.date | None = None
) -> list[tuple[dt.date, str, str, int]]:
    """(day, outcome, subgroup value, count) of every day (from ``since``): rolled up, then
    the later days'."""
    last = through(deployment_id)
    rolled: list[tuple[dt.date, str, str, int]] = []
    if last is not None:
        found = OutcomeDay.objects.filter(
            deployment_id=deployment_id, dimension=dimension, day__lte=last
        )
        if since is not None:
            found = found.filter(day__gte=since)
        rolled = list(found.values_list("day", "outcome", "value", "count"))
    start = _after(last)
    if since is not None and (start is None or since > start):
        start = since
    fresh, _ = outcome_days(deployment_id, start, None)
    return rolled + [
        (r.day, r.outcome, r.value, r.count) for r in fresh if r.dimension == dimension
    ]


def discordance_in_order(
    deployment_id: int, after: dt.date
) -> tuple[NDArray[np.datetime64], NDArray[np.int8]]:
    """Each scored comparison after ``after`` in time order (day, then arrival): its day and
    1 when AI and report disagree."""
    last = through(deployment_id)
    rolled: list[OrderDay] = []
    if last is not None and last > after:
        rolled = list(
            OrderDay.objects.filter(deployment_id=deployment_id, day__gt=after, day__lte=last)
            .order_by("day")
            .only("day", "n", "discordant")
        )
    start = after if last is None or last < after else last
    _, fresh = outcome_days(deployment_id, start + dt.timedelta(days=1), None)
    days = rolled + fresh
    bits = [np.unpackbits(np.frombuffer(bytes(o.discordant), np.uint8), count=o.n) for o in days]
    return (
        np.repeat(np.array([o.day for o in days], dtype="datetime64[D]"), [o.n for o in days]),
        (np.concatenate(bits) if bits else np.zeros(0, np.uint8)).astype(np.int8),
    )


def values(
    deployment_id: int, start: dt.date, end: dt.date, columns: Iterable[str] | None = None
) -> dict[str, list[tuple[dt.date, str, int]]]:
    """(day, value, count) per column over ``start..end``, sorted (so that sums over them add
    in the same order whichever days were rolled up)."""
    wanted = None if columns is None else set(columns)
    last = through(deployment_id)
    out: dict[str, list[tuple[dt.date, str, int]]] = {}
    if last is not None and start <= last:
        rolled = ValueDay.objects.filter(
            deployment_id=deployment_id, day__gte=start, day__lte=min(end, last)
        )
        if wanted is not None:
            rolled = rolled.filter(column__in=wanted)
        for column, day, value, n in rolled.values_list("column", "day", "value", "count"):
            out.setdefault(column, []).append((day, value, n))
    if last is None or end > last:
        first = start if last is None else max(start, last + dt.timedelta(days=1))
        for row in value_days(deployment_id, first, end):
            if wanted is None or row.column in wanted:
                out.setdefault(row.column, []).append((row.day, row.value, row.count))
    return {column: sorted(rows) for column, rows in out.items()}  # one order, one sum
