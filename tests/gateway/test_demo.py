"""The demo practice sends a few studies through the simulated model at start-up (issue 14):
three synthetic head CTs are stored as the demo scanner's, routed by the live deployment's
criteria and answered by the simulator run as a local model (positive, negative, rejected
with its reason); loading the demo again changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest

from radgov.core.context import ActingContext, acting_as
from radgov.core.models import AuditEntry
from radgov.exams.models import Inference
from radgov.gateway import demo
from radgov.gateway.models import Endpoint
from tests.gateway.conftest import deployment

pytestmark = pytest.mark.django_db

ICH_CRITERIA = {
    "modalities": ["CT"],
    "body_parts": ["HEAD", "BRAIN"],
    "min_age_years": 18,
    "protocol_patterns": ["*HEAD*"],
    "max_slice_thickness_mm": 5,
    "contrast": "no",
}


def load() -> str:
    said = StringIO()
    with acting_as(ActingContext(channel="cli")):
        demo.load(said)
    return said.getvalue()


def test_the_demo_sends_three_studies_through_the_simulator(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("RADGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RADGOV_LOCAL_MODELS", f"{demo.MODEL}=radgov.gateway.demo_node:judge")
    ich = deployment("NeuroTriage ICH", ICH_CRITERIA, site=demo.SITE)
    assert "3 synthetic studies sent" in load()
    assert Endpoint.objects.get(deployment=ich).model == demo.MODEL
    answers = {
        i.exam.study_uid_encrypted.reveal(): (i.status, i.call, i.vendor_reason)
        for i in Inference.objects.select_related("exam")
    }
    assert answers == {
        f"{demo.UID_ROOT}.1": ("inferred", "positive", ""),
        f"{demo.UID_ROOT}.2": ("inferred", "negative", ""),
        f"{demo.UID_ROOT}.3": ("rejected", "", "no pixel data"),
    }
    for inference in Inference.objects.all():
        statuses = [c.to_status for c in inference.history.all()]
        assert statuses[:3] == ["received", "queued", "sent"]
    before = AuditEntry.objects.count()
    load()
    assert AuditEntry.objects.count() == before  # a second pass changes nothing


def test_without_the_simulator_registered_the_demo_says_so(monkeypatch) -> None:
    monkeypatch.setattr(demo.local, "registered", dict)
    deployment("NeuroTriage ICH", ICH_CRITERIA, site=demo.SITE)
    assert "is not registered" in load() and not Endpoint.objects.exists()
