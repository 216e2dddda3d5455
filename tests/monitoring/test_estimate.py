"""The label-free performance estimate (CBPE) on a deployment (issue 17): checked for
calibration on the reference window's exams compared with their reports, refused with the
reason when the scores are not calibrated, and always shown as an estimate.

The arithmetic (expected confusion matrix, delta-method intervals, Spiegelhalter's Z and the
Hosmer-Lemeshow test) is tested in tests/stats/test_cbpe.py and test_calibration.py; here the
wiring: which exams are the reference's truth, which are the current window, what the page and
the API say."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from radgov.core.services import service
from radgov.exams.models import Inference
from radgov.monitoring import drift, estimate
from radgov.monitoring.models import Concordance, Report
from tests.monitoring.test_drift import AS_OF, START, seed

pytestmark = pytest.mark.django_db
REFERENCE_END = START + dt.timedelta(days=28)


@pytest.fixture
def referenced(pe, chair):  # type: ignore[no-untyped-def]
    """The PE deployment with the drift test's reference window (days 1 to 29)."""
    drift.set_reference(chair, pe, reference_start=START, reference_end=REFERENCE_END)
    return pe


def compare_reference(deployment, truth_of) -> int:  # type: ignore[no-untyped-def]
    """Give every reference-window exam a report whose truth is drawn as ``truth_of(score)``
    says, and its comparison with the AI's call; returns how many were positive."""
    rng = np.random.default_rng(5)
    rows = list(
        Inference.objects.filter(
            deployment=deployment, exam__study_datetime__date__lte=REFERENCE_END
        ).select_related("exam")
    )
    truths = rng.random(len(rows)) < truth_of(np.array([r.score for r in rows]))

    @service
    def write() -> None:
        reports = Report.objects.bulk_create(
            Report(
                accession_hash=f"{r.pk:064x}", exam=r.exam, text="IMPRESSION: see labels.",
                text_sha256="0" * 64, source="api", labeller_version="test", rules_sha256="0" * 64,
            )
            for r in rows
        )  # fmt: skip
        Concordance.objects.bulk_create(
            Concordance(
                inference=r, deployment=deployment, report=rep, finding="pulmonary_embolism",
                day=r.exam.study_datetime.date(), ai=r.call, truth="positive" if t else "negative",
                outcome=("tp" if t else "fp") if r.call == "positive" else ("fn" if t else "tn"),
            )
            for r, rep, t in zip(rows, reports, truths, strict=True)
        )  # fmt: skip

    write()
    return int(truths.sum())


def test_calibrated_scores_give_an_estimate_that_moves_with_the_scores(
    referenced, chair, client: Client
) -> None:
    seed(referenced)
    compare_reference(referenced, lambda p: p)  # the truth is drawn from the score: calibrated

    found = estimate.view(referenced, AS_OF)
    assert found is not None and found["is_estimate"] and found["refused"] is None
    assert found["calibration"]["n"] == 29 * 8
    reference, current = found["periods"]
    assert (reference["start"], reference["end"]) == (START.isoformat(), REFERENCE_END.isoformat())
    assert current["n"] == 11 * 8  # day 30 to day 40: the scores rose
    for period in found["periods"]:
        assert all(m["method"].startswith("estimated") for m in period["metrics"].values())
    # the shifted scores are higher: more of the current window's calls are expected right
    # when positive, fewer when negative
    assert current["metrics"]["ppv"]["estimate"] > reference["metrics"]["ppv"]["estimate"] + 0.1
    assert current["metrics"]["npv"]["estimate"] < reference["metrics"]["npv"]["estimate"] - 0.1

    client.force_login(chair)
    page = client.get(reverse("monitoring:deployment", args=[referenced.pk])).content.decode()
    assert "Label-free performance: an estimate, not a measurement" in page
    assert "Sensitivity (estimated)" in page
    api = client.get(
        f"/api/monitoring/deployments/{referenced.pk}/estimate", {"as_of": AS_OF.isoformat()}
    )
    assert api.status_code == 200
    assert api.json()["is_estimate"] is True
    assert api.json()["periods"][1]["metrics"]["ppv"] == current["metrics"]["ppv"]


def test_uncalibrated_scores_are_refused_saying_why(referenced, chair, client: Client) -> None:
    seed(referenced)
    compare_reference(referenced, lambda p: p / 2)  # the scores overstate the risk twofold

    found = estimate.view(referenced, AS_OF)
    assert found is not None and "periods" not in found
    assert found["refused"].startswith("Spiegelhalter's test rejects calibration")
    assert "against an observed rate of" in found["refused"]
    client.force_login(chair)
    page = client.get(reverse("monitoring:deployment", args=[referenced.pk])).content.decode()
    assert "No estimate:</strong> Spiegelhalter" in page


def test_without_compared_exams_there_is_no_estimate(referenced, chair, client: Client) -> None:
    seed(referenced)
    found = estimate.view(referenced, AS_OF)
    assert found is not None and "periods" not in found
    assert found["refused"].startswith("no exam of the reference window has been compared")
    compare_reference(referenced, lambda p: np.where(p > 0.9, 1.0, 0.0))  # almost no positives
    few = estimate.view(referenced, AS_OF)
    assert few is not None and few["refused"].startswith("too few reference cases")


def test_api_without_reference_says_so(pe, chair, client: Client) -> None:
    client.force_login(chair)
    answer = client.get(f"/api/monitoring/deployments/{pe.pk}/estimate")
    assert answer.status_code == 404
    assert "no drift reference" in answer.json()["detail"]
