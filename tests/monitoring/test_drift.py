"""Input and output drift (issue 17, first slice): a scanner's software version changes on day
30 and the model's scores shift; the new version is recorded with its date, the drift alert
joins monitoring's queue, and the page and the API show both.

The statistics are ``radgov.stats.drift``'s (tested there against scipy and the published PSI
examples of Yurdakul & Naranjo 2020); here the score's KS statistic and p-value are checked
once more against ``scipy.stats.ks_2samp`` on the same values, as the Evidently and NannyML
reports compute them."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from scipy import stats as scipy_stats

from radgov.exams.errors import ExamError, NotPermitted
from radgov.monitoring import drift, tasks, views
from radgov.monitoring.models import Alert, DriftReference, FirstSeen, Rule

pytestmark = pytest.mark.django_db
START = dt.date(2026, 1, 1)
CHANGE = START + dt.timedelta(days=29)  # day 30: VE11 arrives, the scores rise
AS_OF = START + dt.timedelta(days=39)
PER_DAY = 8


def seed(deployment) -> dict[str, np.ndarray]:
    """40 days of exams; returns the scores before and after the change."""
    from django.utils import timezone

    from radgov.core.services import service
    from radgov.exams.models import Exam, Inference

    rng = np.random.default_rng(17)
    days = [START + dt.timedelta(d) for d in range(40) for _ in range(PER_DAY)]
    scores = np.where(
        np.array(days) < CHANGE, rng.beta(2, 5, len(days)), rng.beta(5, 2, len(days))
    ).round(4)

    @service
    def write() -> None:
        now = timezone.now()
        exams = Exam.objects.bulk_create(
            Exam(
                study_uid_hash=f"{i:064x}", study_uid_encrypted=f"1.2.3.{i}", source="api",
                site="Main Hospital CT", manufacturer="SIEMENS", body_part="CHEST",
                software_versions="VE11" if day >= CHANGE else "VE10",
                slice_thickness_mm=(1.0, 1.25)[i % 2],
                study_datetime=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
            )
            for i, day in enumerate(days)
        )  # fmt: skip
        Inference.objects.bulk_create(
            Inference(
                exam=e, deployment=deployment, status="inferred", status_at=now, inferred_at=now,
                score=float(s), call="positive" if s >= 0.5 else "negative",
            )
            for e, s in zip(exams, scores, strict=True)
        )  # fmt: skip

    write()
    before = np.array(days) <= START + dt.timedelta(days=28)
    current = np.array(days) >= CHANGE  # the current window starts after the reference
    return {"reference": scores[before], "current": scores[current]}


@pytest.fixture
def referenced(pe, chair):
    drift.set_reference(
        chair, pe, reference_start=START, reference_end=START + dt.timedelta(days=28)
    )
    return pe


def test_version_change_and_score_shift_raise_alerts_shown_on_page_and_api(
    referenced, chair, client: Client
) -> None:
    scores = seed(referenced)
    opened = drift.check(referenced, AS_OF)

    event = FirstSeen.objects.get(deployment=referenced)
    assert (event.column, event.value, event.first_seen) == ("software_version", "VE11", CHANGE)
    rules = {a.rule: a for a in opened}
    assert set(rules) == {Rule.FIRST_SEEN, Rule.DRIFT}
    assert rules[Rule.FIRST_SEEN].signal_day == CHANGE
    assert "software version VE11" in rules[Rule.FIRST_SEEN].summary
    assert "score" in rules[Rule.DRIFT].summary and "positive rate" in rules[Rule.DRIFT].summary
    assert not rules[Rule.DRIFT].suspended
    # stable columns do not drift: manufacturer and slice thickness are the same throughout
    found = drift.report(DriftReference.objects.get(deployment=referenced), AS_OF)
    by_name = {c.column: c for c in found.columns}
    assert not by_name["manufacturer"].drifted and not by_name["slice_thickness"].drifted
    assert by_name["kvp"].note.startswith("fewer than")
    expected = scipy_stats.ks_2samp(scores["reference"], scores["current"])
    assert by_name["score"].statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert by_name["score"].p_value == pytest.approx(expected.pvalue, rel=1e-9)

    # checked again the next day: nothing new, and no second drift alert while one is open
    assert drift.check(referenced, AS_OF + dt.timedelta(days=1)) == []
    assert Alert.objects.filter(deployment=referenced).count() == 2

    client.force_login(chair)
    page = client.get(reverse("monitoring:deployment", args=[referenced.pk]))
    assert page.status_code == 200
    assert f"software_version VE11 first seen on {CHANGE.isoformat()}" in page.content.decode()
    with mock.patch.object(views.timezone, "localdate", return_value=AS_OF):
        table = client.get(reverse("monitoring:deployment", args=[referenced.pk])).content
    assert b"<td>&lt; 0.0001</td>" in table  # the shifted score's p-value (about 1e-30)
    assert b"<td>0.0000</td>" not in table  # never a tiny p-value shown as zero
    api = client.get(
        f"/api/monitoring/deployments/{referenced.pk}/drift", {"as_of": AS_OF.isoformat()}
    )
    assert api.status_code == 200
    body = api.json()
    assert {"score", "software_version", "positive_rate"} <= set(body["drifted"])
    assert body["first_seen"][0]["value"] == "VE11"


def test_task_checks_every_referenced_deployment(referenced) -> None:
    seed(referenced)

    with mock.patch.object(tasks.timezone, "localdate", return_value=AS_OF + dt.timedelta(1)):
        assert tasks.check_drift.call_local() == {"alerts": 2}


def test_bad_reference_is_refused_naming_the_field_and_changes_nothing(
    referenced, chair, writer
) -> None:
    with pytest.raises(ExamError) as refused:
        drift.set_reference(
            chair, referenced, reference_start=START, reference_end=START - dt.timedelta(1),
            window_days=0, colour="red",
        )  # fmt: skip
    assert {p.field for p in refused.value.problems} == {"reference_end", "window_days", "colour"}
    with pytest.raises(NotPermitted):
        drift.set_reference(writer, referenced, reference_start=START, reference_end=START)
    kept = DriftReference.objects.get(deployment=referenced)
    assert (kept.reference_end, kept.window_days) == (START + dt.timedelta(days=28), 30)


def test_api_without_reference_says_so(pe, chair, client: Client) -> None:
    client.force_login(chair)
    answer = client.get(f"/api/monitoring/deployments/{pe.pk}/drift")
    assert answer.status_code == 404
    assert "no drift reference" in answer.json()["detail"]


def test_api_sets_the_reference_and_answers_it(pe, chair, client: Client) -> None:
    client.force_login(chair)
    url = f"/api/monitoring/deployments/{pe.pk}/drift-reference"
    body = {"reference_start": "2026-01-01", "reference_end": "2026-01-29", "alpha": 0.05}
    answer = client.put(url, body, content_type="application/json")
    assert answer.status_code == 200
    assert answer.json() == {
        "reference_start": "2026-01-01",
        "reference_end": "2026-01-29",
        "window_days": 30,
        "psi_threshold": 0.2,
        "alpha": 0.05,
    }
    assert DriftReference.objects.get(deployment=pe).alpha == 0.05
    body["reference_end"] = "2025-12-01"
    refused = client.put(url, body, content_type="application/json")
    assert refused.status_code == 422
    assert "reference_end: is before reference_start" in refused.json()["detail"]


def test_weekly_psi_is_each_weeks_drift_and_is_drawn_on_the_page(
    referenced, chair, client: Client
) -> None:
    seed(referenced)
    found = drift.view(referenced, AS_OF)
    weekly = {(p["week"], p["column"]): p["psi"] for p in found["weekly_psi"]}
    ends = [AS_OF - dt.timedelta(days=7), AS_OF]  # the weeks after the reference's last day
    assert sorted({w for w, c in weekly if c == "score"}) == [d.isoformat() for d in ends]
    assert {c for _, c in weekly} >= {"score", "positive_rate", "software_version"}
    # each week's PSI is the report's over that week: a 7-day current window ending there
    week = drift.set_reference(
        chair, referenced, reference_start=START, reference_end=START + dt.timedelta(days=28),
        window_days=7,
    )  # fmt: skip
    for end in ends:
        by_name = {c.column: c for c in drift.report(week, end).columns}
        for column in ("score", "positive_rate", "software_version"):
            assert weekly[(end.isoformat(), column)] == by_name[column].psi
            assert by_name[column].psi >= week.psi_threshold  # VE11 and the shifted scores
    client.force_login(chair)
    url = reverse("monitoring:deployment", args=[referenced.pk])
    with mock.patch.object(views.timezone, "localdate", return_value=AS_OF):
        page = client.get(url).content.decode()
    chart = page[page.index('id="weekly-psi"') :]
    assert "<svg" in chart[:200] and "Weekly PSI" in chart
    assert "bins of width 0.01" in page  # the score's KS is from the rollup's bins
