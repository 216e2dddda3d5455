"""The monitoring overview's status lights per deployment (issue 17, "Dashboards at scale")
and the inventory record's link to a deployment's monitoring data (IV.B.2.h, issue 15)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from radgov.core.roles import Role
from radgov.core.services import service
from radgov.monitoring import drift, events, rollups, status
from radgov.monitoring.models import Alert
from tests.exams.conftest import make_deployment
from tests.factories import client_for, make_user
from tests.monitoring.conftest import exam_with_call

pytestmark = pytest.mark.django_db


@service
def open_alert(deployment: Any, rule: str) -> None:
    Alert.objects.create(
        deployment=deployment, rule=rule, signal_day=timezone.localdate(), summary="test"
    )


def lights_of(deployment: Any) -> dict[str, str]:
    (row,) = status.lights([deployment], timezone.localdate())
    return {name: light.colour for name, light in row["lights"].items()}


def test_each_light_says_what_needs_attention(watched, writer, chair) -> None:
    today = timezone.localdate()
    for n in range(3):
        exam_with_call(writer, watched, n, today - dt.timedelta(days=n), ai=True, truth=True)
    other = make_deployment(writer, "ICH Finder", "Main Hospital CT")
    assert lights_of(other) == {
        "performance": "grey", "drift": "grey", "usage": "grey", "events": "green",
    }  # fmt: skip
    assert lights_of(watched) == {
        "performance": "green", "drift": "grey", "usage": "green", "events": "green",
    }  # fmt: skip
    (row,) = status.lights([watched], today)
    assert row["lights"]["performance"].text == "100.0% concordant of 3 in the last 30 days"

    drift.set_reference(chair, watched, reference_start=today - dt.timedelta(days=60),
                        reference_end=today - dt.timedelta(days=31))  # fmt: skip
    open_alert(watched, "cusum")
    open_alert(watched, "first_seen")
    events.report_event(writer, watched, kind="near_miss", occurred_on=today, description="x")
    assert lights_of(watched) == {
        "performance": "red", "drift": "amber", "usage": "green", "events": "amber",
    }  # fmt: skip
    rollups.roll_up(watched.pk, today=today)  # the same from the rollups
    assert lights_of(watched)["usage"] == "green"


def test_usage_turns_red_when_studies_stop_reaching_the_model(watched, writer) -> None:
    weeks_ago = timezone.localdate() - dt.timedelta(days=10)
    exam_with_call(writer, watched, 1, weeks_ago, ai=False, truth=False)
    (row,) = status.lights([watched], timezone.localdate())
    assert row["lights"]["usage"].colour == "red"
    assert row["lights"]["usage"].text.startswith("no studies in the last 7 days")
    assert row["lights"]["performance"].colour == "green"


def test_the_overview_shows_every_deployment_with_its_lights(watched, writer, chair) -> None:
    exam_with_call(writer, watched, 1, timezone.localdate(), ai=True, truth=False)
    page = client_for(chair).get(reverse("monitoring:overview")).content.decode()
    assert f'id="deployment-{watched.pk}"' in page
    assert 'data-light="green">ok</span> <small>0.0% concordant of 1' in page


def test_the_inventory_record_links_the_monitoring_data(watched, writer, chair) -> None:
    exam_with_call(writer, watched, 1, timezone.localdate(), ai=True, truth=True)
    record = client_for(chair).get(reverse("inventory:deployment", args=[watched.pk]))
    text = record.content.decode()
    assert reverse("monitoring:deployment", kwargs={"deployment_id": watched.pk}) in text
    assert "Watched for pulmonary_embolism: 1 AI calls compared with reports from" in text
    vendor = make_user("mon-vendor", role=Role.VENDOR)
    seen = client_for(vendor).get(reverse("inventory:deployment", args=[watched.pk]))
    assert seen.status_code == 404  # not its product: neither the record nor its data
    assert (
        client_for(vendor).get(reverse("monitoring:deployment", args=[watched.pk])).status_code
        == 403
    )
