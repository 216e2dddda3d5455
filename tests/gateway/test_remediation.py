"""The technologist remediation queue: a rejected input waits there by station and reason
until a technologist says it was resent or cannot be fixed; only technologists, imaging
informatics and administrators work it; every view is audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.exams.models import Inference
from radgov.gateway import remediation, services
from radgov.gateway.models import Remediation
from tests.factories import client_for, make_user
from tests.gateway.conftest import MRN, ct, deployment, new_uid, store


@pytest.fixture
def rejected(peer, spool):  # type: ignore[no-untyped-def]
    deployment("ThinSlice", {"max_slice_thickness_mm": 3})
    deployment("HeadTriage", {"body_parts": ["HEAD"]})
    store(peer, ct(new_uid()), spool)
    later = timezone.now() + dt.timedelta(seconds=31)
    services.complete_quiet_studies(now=later, quiet_seconds=30, base=spool)
    return Inference.objects.get(status="rejected")


def test_a_technologist_sees_the_rejected_input_and_answers_it(rejected) -> None:
    tech = make_user("gw-tech", role=Role.TECHNOLOGIST)
    client = client_for(tech)
    page = client.get(reverse("gateway:remediation"))
    text = page.content.decode()
    assert page.status_code == 200 and "CTMAIN1" in text
    assert "The slices are thicker or thinner than this model accepts." in text
    assert "SliceThickness 5 mm is above the maximum 3 mm" in text and MRN not in text
    read = AuditEntry.objects.get(action="read")
    assert read.detail["what"] == "remediation queue" and read.detail["exams"] == [rejected.exam_id]
    answer = client.post(
        reverse("gateway:remediate", args=[rejected.pk]),
        {"outcome": "not_fixable", "note": "patient could not hold breath"},
    )
    assert answer.status_code == 302
    done = Remediation.objects.get()
    assert (done.outcome, done.decided_by, done.note) == (
        "not_fixable",
        tech,
        "patient could not hold breath",
    )
    assert "CTMAIN1" not in client.get(reverse("gateway:remediation")).content.decode()
    with pytest.raises(remediation.RemediationError, match="already answered"):
        remediation.decide(tech, rejected, "resent")


@pytest.mark.parametrize("role", [Role.PHYSICIAN, Role.VENDOR, Role.DATA_SCIENTIST])
def test_other_roles_may_not_work_the_queue(rejected, role) -> None:
    client = client_for(make_user(f"gw-{role}", role=role))
    assert client.get(reverse("gateway:remediation")).status_code == 403
    client.post(reverse("gateway:remediate", args=[rejected.pk]), {"outcome": "resent"})
    assert not Remediation.objects.exists()


def test_only_a_fixable_rejection_can_be_answered(rejected) -> None:
    tech = make_user("gw-tech2", role=Role.TECHNOLOGIST)
    queued = Inference.objects.get(status="queued")
    with pytest.raises(remediation.RemediationError, match="not a rejected input"):
        remediation.decide(tech, queued, "resent")
    with pytest.raises(remediation.RemediationError, match="outcome"):
        remediation.decide(tech, rejected, "ignored")
    assert not Remediation.objects.exists()
