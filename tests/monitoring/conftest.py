"""Monitoring test data: a live PE deployment watched with a baseline, and a helper that
records an exam, the AI's call on it and its report in one go."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from radgov.accounts.models import User
from radgov.core.roles import Role
from radgov.exams import services as exams
from radgov.exams.outputs import Outputs
from radgov.inventory.models import Deployment
from radgov.monitoring import configure, intake
from tests.exams.conftest import head_ct, make_deployment
from tests.factories import make_user

BASELINE = (dt.date(2026, 1, 1), dt.date(2026, 1, 31))
POSITIVE = "IMPRESSION: Acute pulmonary embolism in the right lower lobe segmental arteries."
NEGATIVE = "IMPRESSION: No pulmonary embolism."


@pytest.fixture(autouse=True)
def _quick_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def writer(db: Any) -> User:
    return make_user("mon-informatics", role=Role.INFORMATICS)


@pytest.fixture
def chair(db: Any) -> User:
    return make_user("mon-chair", role=Role.PHYSICIAN, is_governance_member=True)


@pytest.fixture
def pe(writer: User) -> Deployment:
    return make_deployment(writer, "PE Finder", "Main Hospital CT")


@pytest.fixture
def watched(pe: Deployment, chair: User) -> Deployment:
    configure.set_watch(
        chair, pe, finding="pulmonary_embolism", baseline_start=BASELINE[0],
        baseline_end=BASELINE[1], run_length=7, arl0=200,
    )  # fmt: skip
    return pe


def exam_with_call(
    writer: User, deployment: Deployment, n: int, day: dt.date, *, ai: bool, truth: bool | None
) -> Any:
    """Exam ``n`` on ``day``: the AI's call (``ai``) and, unless ``truth`` is None, its report."""
    when = dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC)
    meta = head_ct(
        uid=f"1.2.826.0.1.3680043.10.99.{n}", patient_id=f"P{n}", accession_number=f"A{n}",
        study_datetime=when, body_part="CHEST",
    )  # fmt: skip
    exam = exams.record_exam(writer, meta, source="api").exam
    inference = exams.record_inference(writer, exam, deployment)
    exams.record_outputs(
        writer, inference, Outputs(score=0.9 if ai else 0.1, call="positive" if ai else "negative")
    )
    if truth is not None:
        intake.record_report(writer, accession_number=f"A{n}", text=POSITIVE if truth else NEGATIVE)
    return inference


@pytest.fixture
def no_guards() -> Iterator[None]:
    """The lifecycle without other apps' guards: these tests are about what follows a move."""
    from radgov.inventory.lifecycle import LIFECYCLE

    with LIFECYCLE.override(guards={}):
        yield


def drifting(days: int) -> list[tuple[dt.date, str]]:
    """Outcomes that set the alarms off: the baseline month at 1 false positive in 20 cases a
    day, then ``days`` days of February at 5 in 20."""
    steady = [
        (BASELINE[0] + dt.timedelta(d), "fp" if i < 1 else "tn")
        for d in range(31)
        for i in range(20)
    ]
    worse = [
        (dt.date(2026, 2, 1) + dt.timedelta(d), "fp" if i < 5 else "tn")
        for d in range(days)
        for i in range(20)
    ]
    return steady + worse


def synthetic(deployment: Deployment, outcomes: list[tuple[dt.date, str]]) -> None:
    """Exams, inferences, reports and their comparisons in bulk (the intake path is tested on
    its own in test_intake): one per ``(day, outcome)``, outcome in tp/fp/fn/tn."""
    from django.utils import timezone

    from radgov.core.services import service
    from radgov.exams.models import Exam, Inference
    from radgov.monitoring.models import Concordance, Report

    @service
    def write() -> None:
        now = timezone.now()
        base = Exam.objects.count()
        exams = Exam.objects.bulk_create(
            Exam(
                study_uid_hash=f"{base + i:064x}", study_uid_encrypted=f"1.2.3.{base + i}",
                source="api", site="Main Hospital CT", study_datetime=dt.datetime.combine(
                    day, dt.time(9), tzinfo=dt.UTC), manufacturer=("GE", "SIEMENS")[i % 2],
                sex="FM"[i % 2],
            )
            for i, (day, _) in enumerate(outcomes)
        )  # fmt: skip
        inferences = Inference.objects.bulk_create(
            Inference(
                exam=e, deployment=deployment, status="inferred", status_at=now,
                call="positive" if o in ("tp", "fp") else "negative", inferred_at=now,
            )
            for e, (_, o) in zip(exams, outcomes, strict=True)
        )  # fmt: skip
        reports = Report.objects.bulk_create(
            Report(
                accession_hash=f"{base + i:064x}", exam=e, text="x", text_sha256="0" * 64,
                source="api", labeller_version="test", rules_sha256="0" * 64,
            )
            for i, e in enumerate(exams)
        )  # fmt: skip
        Concordance.objects.bulk_create(
            Concordance(
                inference=inf, deployment=deployment, report=r, finding="pulmonary_embolism",
                day=day, ai=inf.call, outcome=o,
                truth="positive" if o in ("tp", "fn") else "negative",
            )
            for inf, r, (day, o) in zip(inferences, reports, outcomes, strict=True)
        )  # fmt: skip

    write()
