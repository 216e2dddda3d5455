"""Exams test data: people in each role, two deployments at one site, and a study's metadata
with planted identifiers (canaries a test can search logs, answers and the audit trail for)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from radgov.accounts.models import User
from radgov.core.roles import Role
from radgov.exams.metadata import StudyMetadata
from radgov.inventory import services as inventory
from radgov.inventory.models import Deployment
from tests.factories import make_user

MRN = "MRN-CANARY-7Q4X2"
OTHER_MRN = "MRN-CANARY-9Z8Y7"
ACCESSION = "ACC-CANARY-5K3W1"
UID = "1.2.826.0.1.3680043.10.99.7001"
CANARIES = (MRN, OTHER_MRN, ACCESSION, UID)
STUDY_TIME = dt.datetime(2026, 3, 1, 10, 15, tzinfo=dt.UTC)


def head_ct(uid: str = UID, **changes: Any) -> StudyMetadata:
    values: dict[str, Any] = {
        "study_instance_uid": uid,
        "patient_id": MRN,
        "patient_id_issuer": "HOSP_A",
        "accession_number": ACCESSION,
        "site": "Main Hospital CT",
        "study_datetime": STUDY_TIME,
        "modality": "CT",
        "body_part": "HEAD",
        "manufacturer": "SIEMENS",
        "manufacturer_model": "SOMATOM Force",
        "station_name": "CTMAIN1",
        "protocol_name": "HEAD ROUTINE",
        "slice_thickness_mm": 5.0,
        "kvp": 120,
        "contrast": "no",
        "patient_age": "067Y",
        "patient_sex": "F",
    }
    values.update(changes)
    return StudyMetadata(**values)


@pytest.fixture(autouse=True)
def _quick_passwords(settings: Any) -> None:
    """Accounts here are made by the dozen; their password hashing is not under test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class People(dict[str, User]):
    """One account per role, made when a test first asks for it."""

    def __missing__(self, role: str) -> User:
        self[role] = make_user(f"exams-{role}", role=role)
        return self[role]


@pytest.fixture
def people(db: Any) -> People:
    return People()


@pytest.fixture
def writer(people: People) -> User:
    return people[Role.INFORMATICS]


def make_deployment(keeper: User, product: str, site: str) -> Deployment:
    p = inventory.create_product(
        keeper,
        vendor=f"{product} Inc",
        name=product,
        category="cadt",
        regulatory_pathway="fda_510k",
        fda_number="K123456",
        fda_product_code="QAS",
    )
    mv = inventory.add_model_version(keeper, p, version="2.0")
    return inventory.create_deployment(keeper, mv, site=site)


@pytest.fixture
def ich(writer: User) -> Deployment:
    return make_deployment(writer, "NeuroTriage ICH", "Main Hospital CT")


@pytest.fixture
def nodule(writer: User) -> Deployment:
    return make_deployment(writer, "LungScan Nodule", "Main Hospital CT")


def minutes(n: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=n)
