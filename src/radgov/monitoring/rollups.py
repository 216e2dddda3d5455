"""Daily rollups: what the monitoring pages, the report, the stop rules and the drift read
instead of the raw rows (docs/monitoring.md, "Rollups"; ARCHITECTURE.md, "Clinical operation").

Per deployment and day: the comparisons per outcome, in all and per subgroup value
(:class:`OutcomeDay`), the scored comparisons' discordance in arrival order for the CUSUM
(:class:`OrderDay`), and the inferences' value counts (:class:`ValueDay`): exam metadata and
outputs for drift, continuous ones in fixed bins (:data:`BINS`), and the status, turnaround and
reports still waiting for the technical signals, and binned scores with their call and truth
for the label-free estimate.  The periodic task rolls up every day up to
yesterday (:func:`roll_up`), the database counting and writing them (``INSERT ... SELECT``
with ``GROUP BY``: no raw row passes through Python); a reader takes the rollups up to ``RollupState.through`` and counts
the later days (today) from the raw rows with the same SQL, so a figure is the same whether its
days were rolled up or not.  Days whose rows changed since the last build (a late report, an
amended exam, a late result) are rebuilt by the next one.  The counts the retention purge kept
of removed comparisons (``ConcordanceDay``) join the all-exams outcome counts.

Continuous values are counted in fixed bins: rounded half to even at their decimals, like
``round()`` in Python, and written as Python writes such a float (``0.6``, ``120.0``); the
turnaround is whole seconds (truncated) over 60, rounded the same way.  Only the rounding and
the time arithmetic differ between PostgreSQL and SQLite.
"""

# ruff: noqa: S608 - the SQL is this module's constants around the ORM's compiled queries;
# every value from outside is a parameter

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
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
CALLS = ("positive", "negative")
COMPARED = (Outcome.TP, Outcome.FP, Outcome.FN, Outcome.TN)
MARGIN = dt.timedelta(minutes=10)  # writes in flight when a build started
DAY = TruncDate(Coalesce(F("exam__study_datetime"), F("created_at")))


# --- counting raw rows: SQL ------------------------------------------------------------------


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
    # the window's exams and the undated ones (both by the study-time index) lead to their
    # inferences (by the exam index), one IN over both: an OR of two INs makes PostgreSQL read
    # every inference of every deployment (10,000,000: seconds for an empty day); the
    # deployment is compared as an expression so that SQLite does not read every inference of
    # the deployment by its index instead (a day of a 1,000,000-inference deployment: 7.6 s
    # that way, 0.1 s this way)
    exams = Exam.objects.filter(study | Q(study_datetime__isnull=True))
    return (
        Inference.objects.alias(of=F("deployment_id") + Value(0))
        .filter(of=deployment_id, exam__in=exams)
        .filter(Q(exam__study_datetime__isnull=False) | made)
        .annotate(day=DAY)
    )


def _sql(rows: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    query, params = rows.query.sql_with_params()
    return query, tuple(params)


def _date(value: Any) -> dt.date:
    """A day as the database returns it (SQLite: text)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _within(rows: QuerySet[Any], start: dt.date | None, end: dt.date | None) -> QuerySet[Any]:
    if start is not None:
        rows = rows.filter(day__gte=start)
    if end is not None:
        rows = rows.filter(day__lte=end)
    return rows


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def outcome_sql(
    deployment_id: int, start: dt.date | None, end: dt.date | None
) -> tuple[str, tuple[Any, ...]]:
    """(day, outcome, dimension, value, count) of ``start..end``: the comparisons per outcome, in
    all (dimension blank, with the purge's kept counts) and per subgroup value."""
    compared = _within(Concordance.objects.filter(deployment_id=deployment_id), start, end)
    rows, params = _sql(
        compared.order_by().values("day", "outcome", **{k: F(v) for k, v in SUBGROUPS.items()})
    )
    kept, kept_params = _sql(
        _within(ConcordanceDay.objects.filter(deployment_id=deployment_id), start, end)
        .order_by()
        .values("day", "outcome", "count")
    )
    parts = ["SELECT day, outcome, '' AS dimension, '' AS value, 1 AS n FROM r"]
    parts += [
        f"SELECT day, outcome, '{name}', COALESCE(CAST({name} AS TEXT), ''), 1 FROM r"
        for name in SUBGROUPS
    ]
    parts.append(f"SELECT day, outcome, '', '', \"count\" FROM ({kept}) k")
    sql = (
        f"WITH r AS MATERIALIZED ({rows}) SELECT day, outcome, dimension, value, SUM(n) FROM ("
        + " UNION ALL ".join(parts)
        + ") u GROUP BY day, outcome, dimension, value"
    )
    return sql, params + kept_params


def outcome_rows(
    deployment_id: int, start: dt.date | None, end: dt.date | None
) -> list[tuple[dt.date, str, str, str, int]]:
    sql, params = outcome_sql(deployment_id, start, end)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(_date(d), o, dim, v, int(n)) for d, o, dim, v, n in cursor.fetchall()]


def order_rows(
    deployment_id: int, start: dt.date | None, end: dt.date | None
) -> list[tuple[dt.date, int, bytes]]:
    """(day, n, packed discordance) of ``start..end``: the scored comparisons of each day in
    arrival order, one bit each (1: AI and report disagree)."""
    scored = _within(
        Concordance.objects.filter(deployment_id=deployment_id).exclude(outcome=Outcome.UNSCORED),
        start,
        end,
    )
    days, day_params = _sql(scored.order_by().values("day"))
    bits, bit_params = _sql(scored.order_by().values("day", "id", "outcome"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT day, COUNT(*) FROM ({days}) d GROUP BY day ORDER BY day", day_params
        )
        counted = [(_date(d), int(n)) for d, n in cursor.fetchall()]
        cursor.execute(
            f"SELECT CASE WHEN outcome IN {_in((Outcome.FP, Outcome.FN))} THEN 1 ELSE 0 END "
            f"FROM ({bits}) b ORDER BY day, id",
            bit_params,
        )
        flat: NDArray[np.uint8] = np.array([b for (b,) in cursor.fetchall()], dtype=np.uint8)
    out, at = [], 0
    for day, n in counted:
        out.append((day, n, np.packbits(flat[at : at + n]).tobytes()))
        at += n
    return out


def _rounded(column: str, decimals: int) -> str:
    """The integer ``round(column * 10**decimals)``, half to even (NULL stays NULL)."""
    scaled = f"(CAST({column} AS DOUBLE PRECISION) * {10**decimals})"
    if connection.vendor == "postgresql":
        return f"CAST(round({scaled}) AS BIGINT)"  # float8 round: half to even
    size = f"abs({scaled})"
    whole = f"CAST({size} AS INTEGER)"
    up = f"({size} - {whole} > 0.5 OR ({size} - {whole} = 0.5 AND {whole} %% 2 = 1))"
    even = f"({whole} + CASE WHEN {up} THEN 1 ELSE 0 END)"
    return f"(CASE WHEN {scaled} < 0 THEN -{even} ELSE {even} END)"


def _written(k: str, decimals: int) -> str:
    """``k / 10**decimals`` written as Python writes that float: ``120.0``, ``0.6``, ``0.78``."""
    sign = f"CASE WHEN {k} < 0 THEN '-' ELSE '' END"
    size = f"abs({k})"
    if not decimals:
        return f"{sign} || CAST({size} AS TEXT) || '.0'"
    scale = 10**decimals
    part = f"CAST({size} %% {scale} AS TEXT)"
    if connection.vendor == "postgresql":
        padded = f"lpad({part}, {decimals}, '0')"
    else:
        padded = f"substr('{'0' * decimals}' || {part}, -{decimals})"
    digits = f"rtrim({padded}, '0')"
    fraction = f"CASE WHEN {digits} = '' THEN '0' ELSE {digits} END"
    return f"{sign} || CAST({size} / {scale} AS TEXT) || '.' || {fraction}"


def _seconds() -> str:
    """Whole seconds from receipt to result, truncated toward zero (NULL without a result)."""
    if connection.vendor == "postgresql":
        return "trunc(EXTRACT(EPOCH FROM (inferred_at - created_at)))"

    def micros(at: str) -> str:
        fraction = f"CASE WHEN length({at}) > 19 THEN CAST(substr({at} || '000000', 21, 6) AS INTEGER) ELSE 0 END"
        return f"(CAST(strftime('%%s', {at}) AS INTEGER) * 1000000 + {fraction})"

    return f"(({micros('inferred_at')} - {micros('created_at')}) / 1000000)"


def _value_columns() -> dict[str, str]:
    """Each rolled-up column of an inference as an SQL expression over the rows (NULL: not
    counted), from the rows' integer bins (``k_<column>``)."""
    finished, called = f"status IN {_in(FINISHED)}", f'"call" IN {_in(CALLS)}'
    score = _written("k_score", BINS["score"])
    truth = f"CASE WHEN outcome IN {_in((Outcome.TP, Outcome.FN))} THEN '1' ELSE '0' END"
    return {
        **{name: f"COALESCE({name}, '')" for name in CATEGORICAL},
        **{
            name: f"CASE WHEN k_{name} IS NULL THEN '' ELSE {_written(f'k_{name}', BINS[name])} END"
            for name in CONTINUOUS
        },
        "positive_rate": f'CASE WHEN {called} THEN "call" END',
        "rejection_rate": (
            f"CASE WHEN {finished} THEN "
            "CASE WHEN status = 'rejected' THEN 'rejected' ELSE 'accepted' END END"
        ),
        "status": "status",
        "turnaround": "CASE WHEN k_turnaround >= 0 THEN CAST(k_turnaround AS TEXT) END",
        "report": (
            f"CASE WHEN status IN {_in(DONE)} THEN "
            "CASE WHEN reported THEN 'reported' ELSE 'waiting' END END"
        ),
        # the label-free estimate's inputs: the binned score with the call, and with the
        # report's truth where the exam was compared (1: the finding is present)
        "score_call": f"CASE WHEN {finished} AND {called} THEN {score} || '|' || \"call\" END",
        "score_truth": (
            f"CASE WHEN {finished} AND {called} AND outcome IN {_in(COMPARED)} "
            f"THEN {score} || '|' || {truth} END"
        ),
    }


def value_sql(rows: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    """(day, column, value, count) of the inferences ``rows`` (annotated with their ``day``)."""
    reported = Exists(Report.objects.filter(exam_id=OuterRef("exam_id")))
    fields = CATEGORICAL | CONTINUOUS
    picked = rows.annotate(reported=reported).order_by().values(
        "day", "status", "call", "created_at", "inferred_at", "reported",
        *(name for name, path in fields.items() if name == path),
        outcome=F("concordance__outcome"),
        **{name: F(path) for name, path in fields.items() if name != path},
    )  # fmt: skip
    inner, params = _sql(picked)
    binned = ", ".join(f"{_rounded(name, BINS[name])} AS k_{name}" for name in CONTINUOUS)
    minutes = f"CAST({_seconds()} AS DOUBLE PRECISION) / 60"
    turnaround = _rounded(f"({minutes})", 0)
    parts = [
        f"SELECT day, '{column}' AS name, {expression} AS value FROM k"
        for column, expression in _value_columns().items()
    ]
    sql = (
        f"WITH r AS MATERIALIZED ({inner}), "
        f"k AS MATERIALIZED (SELECT r.*, {binned}, {turnaround} AS k_turnaround FROM r) "
        "SELECT day, name, value, COUNT(*) FROM ("
        + " UNION ALL ".join(parts)
        + ") u WHERE value IS NOT NULL GROUP BY day, name, value"
    )
    return sql, params


def value_rows(rows: QuerySet[Inference]) -> list[tuple[dt.date, str, str, int]]:
    sql, params = value_sql(rows)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(_date(d), c, v, int(n)) for d, c, v, n in cursor.fetchall()]


# --- building ---------------------------------------------------------------------------------


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
    """Replace the rollups of ``start..end`` by the raw rows' counts (inside a transaction),
    counted and written by the database.  The CUSUM's stored states of the later days ran
    through the replaced days: they are dropped, to be stored again (``analysis.store_cusum``)."""
    OrderDay.objects.filter(deployment_id=deployment_id, day__gt=end).update(cusum_design="")
    for model in (OutcomeDay, OrderDay, ValueDay):
        model.objects.filter(deployment_id=deployment_id, day__range=(start, end)).delete()
    outcome, outcome_params = outcome_sql(deployment_id, start, end)
    value, value_params = value_sql(inferences(deployment_id, start, end))
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO monitoring_outcomeday (deployment_id, day, outcome, dimension, value, "count") '
            f"SELECT %s, o.* FROM ({outcome}) o",
            (deployment_id, *outcome_params),
        )
        cursor.execute(
            'INSERT INTO monitoring_valueday (deployment_id, day, "column", value, "count") '
            f"SELECT %s, v.* FROM ({value}) v",
            (deployment_id, *value_params),
        )
    OrderDay.objects.bulk_create(
        [
            OrderDay(deployment_id=deployment_id, day=day, n=n, discordant=bits)
            for day, n, bits in order_rows(deployment_id, start, end)
        ],
        batch_size=500,
    )


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
    fresh = outcome_rows(deployment_id, start, None)
    return rolled + [(d, o, v, n) for d, o, name, v, n in fresh if name == dimension]


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
    fresh = order_rows(deployment_id, start + dt.timedelta(days=1), None)
    days = [(o.day, o.n, bytes(o.discordant)) for o in rolled] + fresh
    bits = [np.unpackbits(np.frombuffer(b, np.uint8), count=n) for _, n, b in days]
    return (
        np.repeat(
            np.array([d for d, _, _ in days], dtype="datetime64[D]"), [n for _, n, _ in days]
        ),
        (np.concatenate(bits) if bits else np.zeros(0, np.uint8)).astype(np.int8),
    )


def _week_back(anchor: dt.date, weeks: int) -> Case:
    """A rollup's week counted back from ``anchor`` (0: the 7 days ending on it; ``weeks``: any
    earlier day), as the database computes it."""
    return Case(
        *(
            When(day__gt=anchor - dt.timedelta(days=7 * (k + 1)), then=Value(k))
            for k in range(weeks)
        ),
        default=Value(weeks),
        output_field=IntegerField(),
    )


def totals(
    deployment_id: int, start: dt.date, end: dt.date, columns: Iterable[str], *,
    weeks_to: dt.date | None = None, weeks: int = 0,
) -> dict[str, list[tuple[int, str, int, dt.date]]]:  # fmt: skip
    """(week, value, count, first day) per column over ``start..end``: each value's count summed
    by the database over the days (so that a page reads one row per value, not one per value
    and day) and the first day it was seen; with ``weeks_to``, per week counted back from that
    day (0: the 7 days ending on it, up to ``weeks``: every earlier day), else week 0.  Sorted."""
    wanted = set(columns)
    last = through(deployment_id)
    found: dict[tuple[str, int, str], list[Any]] = {}

    def add(column: str, week: int, value: str, n: int, day: dt.date) -> None:
        seen = found.setdefault((column, week, value), [0, day])
        seen[0] += n
        seen[1] = min(seen[1], day)

    if last is not None and start <= last:
        week = Value(0) if weeks_to is None else _week_back(weeks_to, weeks)
        rolled = (
            ValueDay.objects.filter(
                deployment_id=deployment_id,
                column__in=wanted,
                day__gte=start,
                day__lte=min(end, last),
            )  # fmt: skip
            .annotate(week=week)
            .values_list("column", "week", "value")
            .annotate(n=Sum("count"), first=Min("day"))
            .order_by()
        )
        for column, k, value, n, day in rolled:
            add(column, int(k), value, int(n), _date(day))
    if last is None or end > last:
        first = start if last is None else max(start, last + dt.timedelta(days=1))
        for day, column, value, n in value_rows(inferences(deployment_id, first, end)):
            if column in wanted:
                k = 0 if weeks_to is None else max(0, min((weeks_to - day).days // 7, weeks))
                add(column, k, value, n, day)
    out: dict[str, list[tuple[int, str, int, dt.date]]] = {}
    for (column, k, value), (n, day) in sorted(found.items()):
        out.setdefault(column, []).append((k, value, n, day))
    return out
