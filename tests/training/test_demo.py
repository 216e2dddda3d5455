"""The demo practice's training part: idempotent, with one expired and one
untrained end-user left on purpose for the conformance audit."""

from __future__ import annotations

import io

import pytest

from radgov.core.roles import Role
from radgov.training import demo
from radgov.training.access import training_status, untrained_end_users
from radgov.training.models import TrainingProcedure, TrainingRecord
from tests.factories import make_user
from tests.training.helpers import make_deployment, make_version, upload_ifu

pytestmark = pytest.mark.django_db


def test_skips_without_the_inventory_demo() -> None:
    out = io.StringIO()
    demo.load(out)
    assert "skipped" in out.getvalue()
    assert not TrainingProcedure.objects.exists()


def test_demo_training_is_idempotent_and_leaves_gaps_on_purpose() -> None:
    make_user("admin", role=Role.ADMINISTRATOR)
    a, b, c, d = (make_user(name) for name in ("dr.a", "dr.b", "dr.c", "dr.d"))
    deployed = make_version()
    upload_ifu(deployed, "3")
    deployment = make_deployment(deployed, status="deployed", end_users=[a, b, c], pilot_users=[c])
    piloted = make_version(name="Nodule CADe", version="1.0")
    upload_ifu(piloted, "A")
    make_deployment(piloted, status="pilot", end_users=[d, a], pilot_users=[d])
    approved = make_version(name="Brain volume", version="1.0")
    upload_ifu(approved, "1")
    make_deployment(approved, status="approved", end_users=[a])
    requested = make_version(name="Not yet", version="0.1")
    make_deployment(requested, status="requested", end_users=[a, b, c, d])

    demo.load(io.StringIO())
    counts = (TrainingProcedure.objects.count(), TrainingRecord.objects.count())
    demo.load(io.StringIO())
    assert (TrainingProcedure.objects.count(), TrainingRecord.objects.count()) == counts
    assert counts == (4, 6)  # 3 base procedures + 1 supplemental; 5 base records + 1

    assert {p.username: training_status(p, deployed).state for p in (a, b, c)} == {
        "dr.a": "expired",
        "dr.b": "no_record",
        "dr.c": "trained",
    }
    assert untrained_end_users(deployment) == [a, b]
    assert training_status(d, piloted).trained and training_status(a, piloted).trained
    assert training_status(a, approved).trained
    assert not TrainingProcedure.objects.filter(model_version=requested).exists()
    assert TrainingRecord.objects.filter(
        user=c, model_version=deployed, is_supplemental=True
    ).exists()
