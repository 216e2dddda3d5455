"""The demo's monitoring (``radgov demo_monitoring``) on a small scale: LungScan Nodule's
sensitivity falls and its CUSUM alert opens, the drift page names the new software version,
the label-free estimate is shown (the scores are calibrated) and moves, the PACS's events put
the over-ruling and the never-opening radiologist beyond the usage funnel; loading again
changes nothing; the page draws."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from radgov.core.roles import Role
from radgov.inventory import lifecycle
from radgov.inventory.stages import Stage
from radgov.monitoring import demo_data, drift, estimate, overrides
from radgov.monitoring.models import Alert, Concordance, Interaction, Watch
from tests.exams.conftest import make_deployment
from tests.factories import client_for, make_user

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_drifting_model(chair, no_guards) -> None:
    it = make_user("informatics", role=Role.INFORMATICS)
    nodule = make_deployment(it, "LungScan Nodule", "Outpatient Imaging Center")
    for stage in (Stage.UNDER_REVIEW, Stage.APPROVED, Stage.PILOT):
        nodule = lifecycle.transition(chair, nodule, stage)
    said = io.StringIO()
    demo_data.load(said, days=50, per_day=4, drift_days_ago=20)
    alerts = list(Alert.objects.filter(deployment=nodule).values_list("rule", flat=True))
    assert {"cusum", "first_seen", "drift"} <= set(alerts)
    assert said.getvalue().strip() == (
        f"Monitoring: 1 deployments watched; {len(alerts)} open alerts; "
        "beyond the usage funnel: dr.ng, dr.patel."
    )
    assert Watch.objects.get().finding == "pulmonary_nodule"
    assert Concordance.objects.count() == 200
    today = timezone.localdate()
    changed = today - dt.timedelta(days=20)
    found = drift.view(nodule, today)
    assert found is not None
    assert [(f["column"], f["value"], f["first_seen"]) for f in found["first_seen"]] == [
        ("software_version", "VE11", changed.isoformat())
    ]
    guess = estimate.view(nodule, today)
    assert guess is not None and guess["is_estimate"] and guess["refused"] is None
    before, now = (p["metrics"]["sensitivity"]["estimate"] for p in guess["periods"])
    assert now < before - 0.1  # the estimate moves with the scores
    rates = {r.username: r for r in overrides.practice_rates(deployment=nodule).rows}
    assert rates["dr.patel"].flag == "high-99.8" and rates["dr.ng"].engagement_flag == "low-99.8"
    assert Interaction.objects.filter(source="demo").exists()
    call_command("demo_monitoring", stdout=io.StringIO())
    assert Concordance.objects.count() == 200
    page = client_for(chair).get(f"/monitoring/deployments/{nodule.pk}/")
    assert page.status_code == 200 and b"<svg" in page.content
