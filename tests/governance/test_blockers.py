"""A list of deployments is told what each next move is missing with every app's facts read
once for the whole list (lifecycle.blockers): it must say exactly what the guards say for
each deployment alone, whatever is missing, and take the same number of queries for 2
deployments as for 6."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from radgov.inventory import lifecycle
from radgov.inventory import services as inventory
from radgov.inventory.models import Deployment
from tests.governance.conformance_world import (
    Omit,
    deployed_model,
    force_stage,
    locked_protocol,
    people,
    practice,
    run_cases,
)

pytestmark = pytest.mark.django_db


def one_by_one(rows: list[Deployment]) -> dict:
    return {
        d.pk: {t.value: lifecycle.missing_for(d, t) for t in lifecycle.allowed_targets(d)}
        for d in rows
    }


def loaded(pks: list[int]) -> list[Deployment]:
    rows = list(
        Deployment.objects.filter(pk__in=pks)
        .select_related("model_version__product__company")
        .prefetch_related("pilot_users", "end_users")
        .order_by("pk")
    )
    return rows


def test_the_list_says_what_each_deployment_alone_would_in_a_fixed_number_of_queries() -> None:
    p = people()
    world = practice(p)
    made = [
        deployed_model(p, world, name="Complete"),
        deployed_model(p, world, Omit(ifu=True), name="No IFU"),
        deployed_model(p, world, Omit(waiver=True), name="No waiver"),
        deployed_model(p, world, Omit(baa=True), name="No BAA"),
        deployed_model(p, world, Omit(irb=True, baa=True), generative=True, name="No IRB"),
        deployed_model(p, world, Omit(training_log=True), name="Untrained"),
    ]
    # a failed acceptance test on one, a pilot user who is not trained on another
    run_cases(p, locked_protocol(p, made[2], passes=False))
    inventory.update_deployment(p.admin, made[5], pilot_users=[p.reader, p.late])
    stages = ["approved", "approved", "suspended", "approved", "pilot", "approved"]
    rows = [force_stage(d, stage) for d, stage in zip(made, stages, strict=True)]
    rows = loaded([d.pk for d in rows])
    said = lifecycle.blockers(rows)
    assert said == one_by_one(loaded([d.pk for d in rows]))
    flat = " ".join(m for targets in said.values() for ms in targets.values() for m in ms)
    for expected in (
        "no IFU document",
        "failed its criteria",
        "no business associate",
        "no IRB",
        "not yet trained",
    ):
        assert expected in flat, expected
    few, many = loaded([d.pk for d in rows[:2]]), loaded([d.pk for d in rows])
    with CaptureQueriesContext(connection) as two:
        lifecycle.blockers(few)
    with CaptureQueriesContext(connection) as six:
        lifecycle.blockers(many)
    assert len(six) == len(two), "\n".join(q["sql"][:120] for q in six.captured_queries)
