"""The demo practice's record of AI use: studies in every stage for the live deployments,
exclusions explained by the deployments' own criteria, and nothing new on a second run."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command

from radgov.core.models import AuditEntry
from radgov.exams.models import Delivery, Exam, Inference, Review


@pytest.mark.django_db
def test_the_demo_shows_studies_in_every_stage_and_loads_once(monkeypatch, tmp_path) -> None:
    # the simulator as an installed radgov registers it (entry point group radgov.models)
    monkeypatch.setenv("RADGOV_LOCAL_MODELS", "demo-simulator=radgov.gateway.demo_node:judge")
    monkeypatch.setenv("RADGOV_DATA_DIR", str(tmp_path))
    with open(os.devnull, "w") as devnull:
        call_command("demo", stdout=devnull)
        statuses = set(Inference.objects.values_list("status", flat=True))
        assert statuses == {
            "queued",
            "sent",
            "processing",
            "inferred",
            "released",
            "rejected",
            "failed",
            "excluded",
        }
        assert {i.deployment.status for i in Inference.objects.select_related("deployment")} <= {
            "pilot",
            "deployed",
        }
        young = Inference.objects.get(exam__age_band=10)
        assert young.status == "excluded" and "PatientAge 12 years is below 18" in young.reason
        remediable = Inference.objects.get(reason_code="slice_thickness")
        assert remediable.status == "rejected" and remediable.exam.station_name == "CTMAIN2"
        found = Inference.objects.get(exam__body_part="CHEST", status="inferred")
        assert found.findings[0]["label"] == "pulmonary nodule"
        # the exams the demo reports as an orchestrator would, and the gateway's three that
        # came through the DICOM path to the simulated model
        assert Exam.objects.filter(source="dicom").count() == 3
        assert {e.source for e in Exam.objects.all()} == {"demo", "dicom"}
        assert all(e.patient is not None for e in Exam.objects.all())
        reviews = sorted(Review.objects.values_list("decision", "inference__status"))
        assert reviews == [("accept", "released"), ("reject", "inferred")]
        assert Delivery.objects.filter(inference__status="released").count() == 3
        before = (AuditEntry.objects.count(), Exam.objects.count(), Inference.objects.count())
        call_command("demo", stdout=devnull)
    assert (AuditEntry.objects.count(), Exam.objects.count(), Inference.objects.count()) == before
