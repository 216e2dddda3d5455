"""The demo's monitoring (``radgov demo_monitoring``) on a small scale: LungScan Nodule's
sensitivity falls and its CUSUM alert opens; loading again changes nothing; the page draws."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from radgov.core.roles import Role
from radgov.inventory import lifecycle
from radgov.inventory.stages import Stage
from radgov.monitoring import demo_data
from radgov.monitoring.models import Alert, Concordance, Watch
from tests.exams.conftest import make_deployment
from tests.factories import client_for, make_user

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_drifting_model(chair, no_guards) -> None:
    it = make_user("informatics", role=Role.INFORMATICS)
    nodule = make_deployment(it, "LungScan Nodule", "Outpatient Imaging Center")
    for stage in (Stage.UNDER_REVIEW, Stage.APPROVED, Stage.PILOT):
        nodule = lifecycle.transition(chair, nodule, stage)
    said = io.StringIO()
    demo_data.load(said, days=60, per_day=2, drift_days_ago=25)
    alerts = set(Alert.objects.filter(deployment=nodule).values_list("rule", flat=True))
    assert "cusum" in alerts
    assert (
        said.getvalue().strip() == f"Monitoring: 1 deployments watched; {len(alerts)} open alerts."
    )
    assert Watch.objects.get().finding == "pulmonary_nodule"
    assert Concordance.objects.count() == 120
    call_command("demo_monitoring", stdout=io.StringIO())
    assert Concordance.objects.count() == 120
    page = client_for(chair).get(f"/monitoring/deployments/{nodule.pk}/")
    assert page.status_code == 200 and b"<svg" in page.content
