"""The daily rollups give the figures the raw rows give (issue 15, "Rollups"; issue 17,
"Dashboards at scale"): the performance table by period and subgroup, the stop rules' charts
(the CUSUM's exams in arrival order), the drift report, the technical signals and the results
waiting for a report, whether every day is rolled up, none is, or only some; building twice
changes nothing, and a late report's day is rebuilt by the next build.  The drift figures are
also checked against ``radgov.stats`` on the raw values (which lie on the rollups' bins)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from radgov.monitoring import (
    analysis,
    configure,
    drift,
    estimate,
    intake,
    rollups,
    selectors,
    tasks,
    technical,
)
from radgov.monitoring.models import (
    Concordance,
    DriftReference,
    OrderDay,
    OutcomeDay,
    RollupState,
    ValueDay,
)
from radgov.stats import drift as stats
from radgov.stats import periods
from radgov.stats.control_charts import bernoulli_cusum
from radgov.stats.proportions import proportion_ci
from radgov.stats.run_length import bernoulli_cusum_design
from tests.monitoring.conftest import BASELINE, exam_with_call

pytestmark = pytest.mark.django_db
START = BASELINE[0]
DAYS = 60
PER_DAY = 12
TODAY = START + dt.timedelta(days=DAYS + 2)
AS_OF = START + dt.timedelta(days=DAYS - 1)
REFERENCE = (START, START + dt.timedelta(days=29))


def seed(deployment: Any) -> None:
    """60 days of exams with varied metadata, scores on the rollups' 0.01 bins, a software
    version first seen on day 40, some results rejected or failed, some without a report, some
    reports uncertain; the comparisons written as ``synthetic`` writes them."""
    from django.utils import timezone

    from radgov.core.services import service
    from radgov.exams.models import Exam, Inference
    from radgov.monitoring.models import Report

    rng = np.random.default_rng(1517)
    n = DAYS * PER_DAY
    days = [START + dt.timedelta(days=i // PER_DAY) for i in range(n)]
    late = np.array([d >= START + dt.timedelta(days=40) for d in days])
    truth = rng.random(n) < 0.2
    scores = np.clip(np.where(truth, rng.normal(0.7, 0.15, n), rng.normal(0.3, 0.15, n)), 0, 1)
    scores = np.round(scores + np.where(late, 0.1, 0.0), 2).clip(0, 1)
    status = rng.choice(["inferred", "released", "rejected", "failed"], n, p=[0.6, 0.3, 0.07, 0.03])

    @service
    def write() -> None:
        now = timezone.now()
        exams = Exam.objects.bulk_create(
            Exam(
                study_uid_hash=f"{i:064x}", study_uid_encrypted=f"1.2.3.{i}", source="api",
                site=("Main Hospital CT", "North Clinic")[i % 2], body_part="CHEST",
                study_datetime=dt.datetime.combine(day, dt.time(8 + i % 9), tzinfo=dt.UTC),
                manufacturer=("GE", "SIEMENS", "")[i % 3], manufacturer_model=("A", "B")[i % 2],
                protocol_name=("PE", "CHEST")[i % 5 == 0],
                software_versions="VE11" if late[i] else "VE10",
                slice_thickness_mm=(1.0, 2.5)[i % 2], kvp=(100.0, 120.0)[i % 4 == 0],
                pixel_spacing_mm=(0.7, 0.78)[i % 3 == 0], age_band=int(rng.integers(4, 17)) * 5,
                sex="FM "[i % 3].strip(),
            )
            for i, day in enumerate(days)
        )  # fmt: skip
        inferences = Inference.objects.bulk_create(
            Inference(
                exam=e, deployment=deployment, status=s, status_at=now,
                score=float(p) if s != "failed" else None,
                confidence=float(p) if s != "failed" else None,
                call=("positive" if p >= 0.5 else "negative") if s != "failed" else "",
                inferred_at=now + dt.timedelta(minutes=int(rng.integers(1, 40))),
            )
            for e, s, p in zip(exams, status, scores, strict=True)
        )  # fmt: skip
        for i, (exam, inference) in enumerate(zip(exams, inferences, strict=True)):
            if i % 7 == 0 or inference.status not in rollups.DONE:
                continue  # no report yet
            report = Report.objects.create(
                accession_hash=f"{i:064x}", exam=exam, text="x", text_sha256="0" * 64,
                source="api", labeller_version="test", rules_sha256="0" * 64,
            )  # fmt: skip
            ai = inference.call == "positive"
            outcome = ("tn", "fp", "fn", "tp")[2 * truth[i] + ai] if i % 11 else "unscored"
            Concordance.objects.create(
                inference=inference, deployment=deployment, report=report,
                finding="pulmonary_embolism", day=days[i], ai=inference.call, outcome=outcome,
                truth=("positive" if truth[i] else "negative") if i % 11 else "uncertain",
            )  # fmt: skip

    write()


@pytest.fixture
def seeded(watched: Any, chair: Any) -> Any:
    drift.set_reference(chair, watched, reference_start=REFERENCE[0], reference_end=REFERENCE[1])
    seed(watched)
    return watched


def figures(deployment: Any) -> dict[str, Any]:
    """Everything monitoring shows that the rollups feed."""
    watch, reference = deployment.watch, DriftReference.objects.get(deployment=deployment)
    found = analysis.charts(watch)
    return {
        **{f: analysis.performance(deployment.pk, frequency=f) for f in analysis.FREQUENCIES},
        **{s: analysis.performance(deployment.pk, by=s) for s in analysis.SUBGROUPS},
        "charts": (found.days, found.daily_rate, found.signal_days, found.baseline),
        "cusum": found.charts["cusum"].statistic.tolist(),
        "drift": drift.report(reference, AS_OF).to_dict(),
        "estimate": estimate.view(deployment, AS_OF),
        "technical": technical.weekly(deployment, today=TODAY),
        "waiting": selectors.waiting_for_report(deployment),
        "unscored": analysis.outcomes(deployment.pk).unscored,
    }


def stored(deployment: Any) -> dict[str, list[tuple[Any, ...]]]:
    fields = {
        OutcomeDay: ("day", "outcome", "dimension", "value", "count"),
        OrderDay: ("day", "n", "discordant"),
        ValueDay: ("day", "column", "value", "count"),
    }
    return {
        model.__name__: sorted(
            tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
            for row in model.objects.filter(deployment=deployment).values_list(*names)
        )
        for model, names in fields.items()
    }


def test_rolled_up_days_give_the_raw_figures_and_a_second_build_changes_nothing(seeded) -> None:
    raw = figures(seeded)
    assert raw["month"] and raw["charts"][0] and raw["drift"]["columns"]

    middle = START + dt.timedelta(days=35)  # half rolled up, half counted from raw rows
    assert rollups.roll_up(seeded.pk, today=middle)["days"] == 35
    assert RollupState.objects.get(deployment=seeded).through == middle - dt.timedelta(days=1)
    assert figures(seeded) == raw

    rollups.roll_up(seeded.pk, today=TODAY)
    assert OutcomeDay.objects.filter(deployment=seeded).exists()
    assert figures(seeded) == raw
    before = stored(seeded)
    rollups.roll_up(seeded.pk, today=TODAY)  # everything was written in the last minutes
    assert stored(seeded) == before
    assert figures(seeded) == raw


def test_figures_match_the_raw_rows_counted_directly(seeded) -> None:
    rollups.roll_up(seeded.pk, today=TODAY)
    scored = Concordance.objects.filter(deployment=seeded).exclude(outcome="unscored")
    months = {row["group"]: row["n"] for row in analysis.performance(seeded.pk)}
    assert months == {
        "2026-01-01": scored.filter(day__month=1).count(),
        "2026-02-01": scored.filter(day__month=2).count(),
        "2026-03-01": scored.filter(day__month=3).count(),
    }
    sites = {row["group"]: row["n"] for row in analysis.performance(seeded.pk, by="site")}
    assert sites["North Clinic"] == scored.filter(inference__exam__site="North Clinic").count()

    ordered = scored.filter(day__gt=BASELINE[1]).order_by("day", "id")
    days, bits = rollups.discordance_in_order(seeded.pk, BASELINE[1])
    assert bits.tolist() == [
        int(o in ("fp", "fn")) for o in ordered.values_list("outcome", flat=True)
    ]
    assert days.tolist() == list(ordered.values_list("day", flat=True))

    reference = DriftReference.objects.get(deployment=seeded)
    report = drift.report(reference, AS_OF)
    start = drift.current_start(reference, AS_OF)
    window = rollups.inferences(seeded.pk, start, AS_OF).exclude(score=None)
    past = rollups.inferences(seeded.pk, *REFERENCE).exclude(score=None)
    expected = stats.continuous_drift(
        np.array(past.values_list("score", flat=True)),
        np.array(window.values_list("score", flat=True)),
    )
    score = next(c for c in report.columns if c.column == "score")
    assert (score.statistic, score.p_value, score.psi) == (
        pytest.approx(expected.ks.statistic, abs=1e-12),
        pytest.approx(expected.ks.p_value, rel=1e-9),
        pytest.approx(expected.psi.psi, abs=1e-12),
    )
    assert {(v["column"], v["value"]) for v in report.new_values} == {("software_version", "VE11")}
    waiting = rollups.inferences(seeded.pk, START, TODAY).filter(
        status__in=rollups.DONE, exam__reports__isnull=True
    )
    assert selectors.waiting_for_report(seeded) == waiting.count() > 0


def test_a_late_report_on_a_rolled_up_day_is_counted_by_the_next_build(watched, writer) -> None:
    day = START + dt.timedelta(days=3)
    exam_with_call(writer, watched, 1, day, ai=True, truth=True)
    rollups.roll_up(watched.pk, today=TODAY)
    late = exam_with_call(writer, watched, 2, day, ai=True, truth=None)
    assert analysis.outcomes(watched.pk).n == 1
    intake.record_report(writer, accession_number="A2", text="IMPRESSION: No pulmonary embolism.")
    assert Concordance.objects.get(inference=late).outcome == "fp"
    assert analysis.outcomes(watched.pk).n == 1  # the day is rolled up: until the next build
    assert rollups.roll_up(watched.pk, today=TODAY)["days"] == 1
    assert analysis.outcomes(watched.pk).n == 2
    assert rollups.discordance_in_order(watched.pk, START)[1].tolist() == [0, 1]


def test_the_task_rolls_up_every_deployment(seeded) -> None:
    assert tasks.roll_up.call_local()["days"] > 0
    assert RollupState.objects.get(deployment=seeded).through is not None


def per_exam(deployment: Any) -> dict[str, Any]:
    """The performance and the charts computed from the comparisons one row per exam with
    ``radgov.stats``, as monitoring computed them before it read counts."""
    watch = deployment.watch
    rows = list(
        Concordance.objects.filter(deployment=deployment)
        .exclude(outcome="unscored")
        .order_by("day", "id")
        .values_list("day", "outcome", "inference__exam__site")
    )
    day = np.array([r[0] for r in rows], dtype="datetime64[D]")
    ai = np.array([r[1] in ("tp", "fp") for r in rows], np.int8)
    truth = np.array([r[1] in ("tp", "fn") for r in rows], np.int8)
    site = np.array([r[2] or None for r in rows], dtype=object)
    months = periods.metrics_by_group(
        truth, ai, periods.bin_periods(day, frequency="month"), min_cases=analysis.MIN_CASES
    )
    sites = periods.metrics_by_group(truth, ai, site, min_cases=analysis.MIN_CASES)
    discordant = (ai != truth).astype(np.int8)
    inside = (day >= np.datetime64(watch.baseline_start)) & (day <= np.datetime64(BASELINE[1]))
    base = proportion_ci(int(discordant[inside].sum()), int(inside.sum()), method="wilson")
    design = bernoulli_cusum_design(
        base.estimate, min(base.estimate * watch.cusum_shift, 0.95), arl0=watch.arl0
    )
    after = day > np.datetime64(BASELINE[1])
    cusum = bernoulli_cusum(discordant[after], design)
    days = day[after]
    starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])

    def table(found: dict[Any, Any]) -> list[tuple[Any, ...]]:
        return [
            (
                g.isoformat() if isinstance(g, dt.date) else g or "unknown",
                m["concordance"].n,
                *(m[k].to_dict() for k in ("concordance", "sensitivity", "ppv")),
            )
            for g, m in found.items()
        ]

    return {
        "month": table(months),
        "site": table(sites),
        "baseline": base,
        "cusum": np.maximum.reduceat(cusum.statistic, starts).tolist(),
        "cusum_days": [str(d) for d in days[starts]],
        "cusum_first_exam": cusum.first_signal,
    }


def from_counts(deployment: Any) -> dict[str, Any]:
    found = analysis.charts(deployment.watch)

    def table(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        keys = ("concordance", "sensitivity", "ppv")
        return [(r["group"], r["n"], *(r[k] for k in keys)) for r in rows]

    return {
        "month": table(analysis.performance(deployment.pk)),
        "site": table(analysis.performance(deployment.pk, by="site")),
        "baseline": found.baseline,
        "cusum": found.charts["cusum"].statistic.tolist(),
        "cusum_days": list(found.cusum_days),
        "cusum_first_exam": found.cusum_first_exam,
    }


def test_figures_from_counts_and_stored_cusum_states_equal_the_per_exam_computation(
    seeded, chair
) -> None:
    expected = per_exam(seeded)
    assert expected["cusum_first_exam"] is not None  # the chart signals: its day is checked
    assert from_counts(seeded) == expected  # nothing rolled up

    rollups.roll_up(seeded.pk, today=START + dt.timedelta(days=45))
    assert from_counts(seeded) == expected  # rolled up, no state stored yet
    assert analysis.store_cusum(seeded.watch) == 45 - 31
    stored_days = OrderDay.objects.filter(deployment=seeded).exclude(cusum_design="")
    assert stored_days.count() == 45 - 31
    assert analysis.store_cusum(seeded.watch) == 0  # incremental: nothing new to store
    assert from_counts(seeded) == expected  # stored states, then the raw rows of later days

    rollups.roll_up(seeded.pk, today=TODAY)  # the rows were written minutes ago: all rebuilt
    assert not stored_days.exists()
    assert analysis.store_cusum(seeded.watch) == DAYS - 31
    assert from_counts(seeded) == expected

    # the page reads the stored state, not the exams: an edited state shows (until rebuilt)
    last = stored_days.order_by("day").last()
    OrderDay.objects.filter(pk=last.pk).update(cusum_high=0)
    assert from_counts(seeded)["cusum"][-1] == 0.0 != expected["cusum"][-1]
    rollups.rebuild(seeded.pk, last.day, last.day)
    assert analysis.store_cusum(seeded.watch) == 1
    assert from_counts(seeded) == expected

    # a rebuilt past day drops the later days' states; the next store puts them back
    rollups.rebuild(seeded.pk, START + dt.timedelta(days=40), START + dt.timedelta(days=40))
    assert stored_days.count() == 40 - 31
    assert from_counts(seeded) == expected
    assert analysis.store_cusum(seeded.watch) == DAYS - 40
    # another chart (the watch changed) does not use the states stored for the old one
    configure.set_watch(
        chair, seeded, finding="pulmonary_embolism", baseline_start=BASELINE[0],
        baseline_end=BASELINE[1], arl0=2000,
    )  # fmt: skip
    seeded.watch.refresh_from_db()
    assert from_counts(seeded) == per_exam(seeded) != expected


def python_counts(deployment: Any) -> set[tuple[Any, ...]]:
    """Some of the inferences' value counts, counted in Python from the raw rows: bins rounded
    half to even like ``round()`` and written as Python writes the float."""
    from radgov.exams.models import Inference

    counted: dict[tuple[Any, ...], int] = {}
    rows = Inference.objects.filter(deployment=deployment).select_related("exam")
    for row in rows:
        day = row.exam.study_datetime.date()
        reported = row.exam.reports.exists()
        found = {
            "kvp": str(round(row.exam.kvp)) + ".0",
            "age_band": str(float(round(row.exam.age_band))),
            "pixel_spacing": repr(round(row.exam.pixel_spacing_mm * 100) / 100),
            "status": row.status,
            "score": "" if row.score is None else repr(round(row.score * 100) / 100),
        }
        if row.inferred_at is not None:
            seconds = int((row.inferred_at - row.created_at).total_seconds())
            if seconds >= 0:
                found["turnaround"] = str(round(seconds / 60))
        if row.status in rollups.DONE:
            found["report"] = "reported" if reported else "waiting"
        if row.status in rollups.FINISHED and row.call in ("positive", "negative"):
            found["score_call"] = f"{round(row.score * 100) / 100!r}|{row.call}"
        for column, value in found.items():
            counted[(day, column, value)] = counted.get((day, column, value), 0) + 1
    return {(*key, n) for key, n in counted.items()}


def test_value_counts_made_by_the_database_equal_a_count_in_python(seeded) -> None:
    rollups.roll_up(seeded.pk, today=TODAY)
    columns = ("kvp", "age_band", "pixel_spacing", "status", "score", "turnaround", "report")
    stored = set(
        ValueDay.objects.filter(deployment=seeded, column__in=(*columns, "score_call")).values_list(
            "day", "column", "value", "count"
        )
    )
    expected = python_counts(seeded)
    assert stored == expected
    assert {c for _, c, _, _ in stored} == {*columns, "score_call"}
