"""The model card lists what the inventory holds and, explicitly, what it does not."""

from __future__ import annotations

import pytest
from django.test import Client

from radgov.accounts.models import User
from radgov.inventory import model_card, services
from radgov.inventory.models import ModelVersion

pytestmark = pytest.mark.django_db


def test_empty_fields_are_listed(version: ModelVersion, people: dict[str, User]) -> None:
    card = model_card.build(version)
    assert card["chai_applied_model_card"]["BasicInfo"]["ModelName"] == "HeadCheck ICH"
    assert card["hti1_source_attributes"]["intended_use"].startswith("Triage")
    assert len(card["hti1_source_attributes"]) == 31
    empty = set(card["empty_fields"])
    assert {
        "chai.Warnings.ClinicalRiskLevel",
        "hti1.funding_source",
        "chai.UsesAndDirections.HowToUse",
    } <= empty
    assert "chai.BasicInfo.DeveloperContact" not in empty  # the support contact stands in
    assert "chai.BasicInfo.ModelName" not in empty and "hti1.validity_internal" not in empty
    assert card["completeness"]["filled"] + len(empty) == card["completeness"]["total"]

    version = services.update_model_version(people["admin"], version, funding_source="Self-funded")
    assert "hti1.funding_source" not in model_card.build(version)["empty_fields"]


def test_model_card_routes(version: ModelVersion, people: dict[str, User]) -> None:
    client = Client()
    client.force_login(people["vendor"])  # the inventory holds no patient data
    data = client.get(f"/inventory/versions/{version.pk}/model-card.json").json()
    assert data["model_version"]["version"] == "2.1" and data["empty_fields"]
    page = client.get(f"/inventory/versions/{version.pk}/model-card/")
    assert page.status_code == 200
    assert b"fields still empty" in page.content and b"CHAI Applied Model Card" in page.content
    api = client.get(f"/api/inventory/versions/{version.pk}/model-card").json()
    assert api["hti1_source_attributes"] == data["hti1_source_attributes"]
