"""Inventory test data: people in each role, a product with a version, PDFs, and the
lifecycle's guard registry narrowed to the inventory's own guards (the governance and
training apps register theirs too; their tests prove those)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from radgov.accounts.models import User
from radgov.core.roles import Role
from radgov.inventory import lifecycle, services
from radgov.inventory.models import Deployment, ModelVersion, Product
from radgov.inventory.stages import Stage
from tests.factories import blank_pdf, cleared_product, make_user

PDF = blank_pdf()


def pdf_upload(name: str = "ifu.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture(autouse=True)
def _private_media(private_media: None) -> None:
    """Every inventory test keeps its uploads in a folder of its own."""


@pytest.fixture
def inventory_guards_only() -> Iterator[list[Any]]:
    """Only the inventory's guards, and no acceptance evidence unless a test adds some
    (returned list: append a provider)."""
    own = {
        stage: [g for g in lifecycle.guards_for(stage) if g.__module__ == lifecycle.__name__]
        for stage in Stage
    }
    evidence: list[Any] = []
    with lifecycle.LIFECYCLE.override(guards=own, evidence=evidence):
        yield evidence


@pytest.fixture
def people(db: Any) -> dict[str, User]:
    return {
        "admin": make_user("inv-admin", role=Role.ADMINISTRATOR),
        "informatics": make_user("inv-informatics", role=Role.INFORMATICS),
        "gov": make_user("inv-gov", role=Role.PHYSICIAN, is_governance_member=True),
        "physician": make_user("inv-physician", role=Role.PHYSICIAN),
        "tech": make_user("inv-tech", role=Role.TECHNOLOGIST),
        "vendor": make_user("inv-vendor", role=Role.VENDOR),
        "champion": make_user("inv-champion", role=Role.PHYSICIAN, is_clinical_champion=True),
    }


@pytest.fixture
def product(people: dict[str, User]) -> Product:
    """Acme AI's product; the vendor account is Acme AI's."""
    row = cleared_product(people["informatics"], support_contact="support@acme.invalid")
    services.add_representative(people["admin"], row.company, people["vendor"])
    return row


@pytest.fixture
def version(product: Product, people: dict[str, User]) -> ModelVersion:
    return services.add_model_version(
        people["informatics"],
        product,
        version="2.1",
        intended_purpose="Triage of non-contrast head CT with suspected ICH",
        claimed_sensitivity=0.9,
        claimed_specificity=0.9,
        claim_source="510(k) summary, 220 cases",
    )


@pytest.fixture
def deployment(version: ModelVersion, people: dict[str, User]) -> Deployment:
    return services.create_deployment(
        people["informatics"],
        version,
        site="Main hospital",
        clinical_champions=[people["champion"]],
        end_users=[people["physician"], people["gov"]],
        inclusion_criteria={"modalities": ["CT"], "min_age_years": 18},
    )


def move(user: User, deployment: Deployment, *stages: Stage, reason: str = "") -> Deployment:
    for stage in stages:
        deployment = lifecycle.transition(user, deployment, stage, reason=reason)
    return deployment


@pytest.fixture
def ready(
    deployment: Deployment,
    people: dict[str, User],
    inventory_guards_only: list[Any],
    version: ModelVersion,
) -> Iterator[Deployment]:
    """An approved deployment with everything the inventory's pilot/deploy guards ask for."""
    services.upload_document(
        people["informatics"], version, kind="ifu", version_label="Rev A", upload=pdf_upload()
    )
    deployment = services.update_deployment(
        people["informatics"],
        deployment,
        output_release_policy="Results go to PACS as a secondary capture after radiologist review",
        pilot_users=[people["physician"]],
    )
    inventory_guards_only.append(lambda d: None)  # a passed acceptance test or a waiver
    yield move(people["gov"], deployment, Stage.UNDER_REVIEW, Stage.APPROVED)


def _buffer(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
