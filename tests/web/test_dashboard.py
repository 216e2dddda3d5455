"""The dashboard is each person's to-do list, its queries bounded however many records
the practice holds; the platform's counters are for administrators only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from radgov.core.roles import Role
from radgov.core.services import service
from radgov.governance import services as governance
from radgov.training.models import TrainingRecord
from tests.factories import client_for, make_user
from tests.governance.conftest import make_inventory
from tests.training.helpers import ago, make_deployment

pytestmark = pytest.mark.django_db


@pytest.fixture
def practice(db: Any) -> dict[str, Any]:
    admin = make_user("admin", role=Role.ADMINISTRATOR)
    chair, member = make_user("dr.chen"), make_user("physicist", role=Role.MEDICAL_PHYSICIST)
    reader, tech = make_user("dr.reader"), make_user("tech", role=Role.TECHNOLOGIST)
    group = governance.create_group(
        admin,
        name="AI group",
        members=[(chair, "chair"), (member, "member")],
        joined_on=dt.date(2026, 1, 5),
    )
    return {
        "admin": admin,
        "chair": chair,
        "member": member,
        "reader": reader,
        "tech": tech,
        "group": group,
    }


@service
def _expired_training(user: Any, model_version: Any) -> None:
    from radgov.training.models import TrainingProcedure

    procedure = TrainingProcedure.objects.create(
        model_version=model_version,
        title="Base",
        content="c",
        complexity="basic",
        complexity_note="n",
        required_roles=["physician"],
        created_by=user,
        created_at=ago(days=500),
        updated_at=ago(days=500),
    )
    TrainingRecord.objects.create(
        user=user,
        model_version=model_version,
        procedure=procedure,
        completed_at=ago(days=400),
        expires_at=ago(days=35),
        recorded_by=user,
        created_at=ago(days=400),
    )


def _world(p: dict[str, Any], n: int) -> None:
    """``n`` of everything that lands on someone's list."""
    meeting = governance.create_meeting(
        p["chair"],
        p["group"],
        held_on=timezone.localdate() - dt.timedelta(days=1),
        title=f"Meeting {n}",
        attendees=[p["chair"], p["member"]],
    )
    for i in range(n):
        inv = make_inventory(name=f"Model {n}-{i}")
        governance.record_decision(
            p["chair"],
            meeting,
            kind="approve",
            motion=f"Approve model {n}-{i}",
            rationale="r",
            deployment=inv.deployment,
        )
        make_deployment(inv.version, status="suspended", end_users=[p["reader"]])
        _expired_training(p["reader"], inv.version)
        governance.report_issue(p["tech"], deployment=inv.deployment, description=f"issue {i}")


def test_each_person_sees_what_waits_for_them(practice: dict[str, Any]) -> None:
    _world(practice, 2)
    chair = client_for(practice["chair"]).get("/").content.decode()
    assert "Decisions waiting for your vote" in chair and "Approve model 2-1" in chair
    assert "Minutes waiting for your approval" in chair and "Meeting 2" in chair
    assert "Failing conformance lines" in chair and "Open issue reports" in chair
    reader = client_for(practice["reader"]).get("/").content.decode()
    assert "Your training" in reader and "expired" in reader
    assert "Suspended deployments" in reader
    assert "Decisions waiting for your vote" not in reader
    tech = client_for(practice["tech"]).get("/").content.decode()
    assert "Your open issue reports" in tech and "issue 1" not in tech  # subjects, not texts
    assert "#" in tech and "Platform" not in tech and "Audit trail</dt>" not in tech
    admin = client_for(practice["admin"]).get("/").content.decode()
    assert "Platform" in admin and "Audit trail</dt>" in admin


@pytest.mark.usefixtures("cache_in_memory")
def test_the_dashboards_queries_do_not_grow_with_the_records(practice: dict[str, Any]) -> None:
    def queries(user: Any) -> int:
        client = client_for(user)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/").status_code == 200
        return len(ctx.captured_queries)

    _world(practice, 1)
    small = {who: queries(practice[who]) for who in ("chair", "reader", "tech", "admin")}
    _world(practice, 6)
    large = {who: queries(practice[who]) for who in ("chair", "reader", "tech", "admin")}
    assert large == small
    assert max(large.values()) <= 40
