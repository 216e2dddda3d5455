"""Monitoring test data: a live PE deployment watched with a baseline, and a helper that
records an exam, the AI's call on it and its report in one go."""

from __future__ import annotations

import datetime as dt
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
