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
    people = [make_user(name) for name in ("dr.a", "dr.b", "dr.c", "dr.d")]
    mv = make_version()
    upload_ifu(mv, "3")
    deployment = make_deployment(mv, status="deployed", end_users=people[:3], pilot_users=[])
    pilot_mv = make_version(name="Nodule CADe", version="1.0")
    upload_ifu(pilot_mv, "A")
    make_deployment(pilot_mv, status="pilot", pilot_users=[people[3]])
    make_deployment(
        make_version(name="Not live", version="0.1"), status="approved", end_users=people
    )

    demo.load(io.StringIO())
    counts = (TrainingProcedure.objects.count(), TrainingRecord.objects.count())
    demo.load(io.StringIO())
    assert (TrainingProcedure.objects.count(), TrainingRecord.objects.count()) == counts
    assert counts == (3, 4)  # two base procedures and one supplemental; 3 base + 1 supplemental

    states = {p.username: training_status(p, mv).state for p in people[:3]}
    assert states == {"dr.a": "expired", "dr.b": "no_record", "dr.c": "trained"}
    assert training_status(people[3], pilot_mv).trained
    assert untrained_end_users(deployment) == people[:2]
    assert TrainingRecord.objects.filter(user=people[2], is_supplemental=True).exists()
