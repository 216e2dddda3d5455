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


@pytest.fixture
def practice(writer: User, ich: Deployment, nodule: Deployment) -> tuple[Any, Any]:
    """Two head CTs: the first inferred by the ICH model (with a finding, under a version
    other than the inventory's) and excluded by the nodule model; the second, a month
    later at another station, rejected for its slice thickness."""
    from radgov.exams import services
    from radgov.exams.outputs import Outputs

    first = services.record_exam(writer, head_ct(), source="dicom").exam
    inferred = services.record_inference(writer, first, ich)
    services.move(writer, inferred, "sent")
    finding = {"label": "intracranial hemorrhage", "present": True, "location": "left frontal"}
    services.record_outputs(
        writer,
        inferred,
        Outputs(score=0.91, call="positive", model_version="2.0.3", findings=[finding]),
    )
    services.move(
        writer,
        services.record_inference(writer, first, nodule),
        "excluded",
        reason_code="criteria_not_met",
        reason="BodyPartExamined 'HEAD' is not one of CHEST",
    )
    second = services.record_exam(
        writer,
        head_ct(
            uid=UID + ".2",
            accession_number="ACC-2",
            station_name="CTED2",
            study_datetime="2026-04-02T09:00:00+00:00",
        ),
        source="api",
    ).exam
    services.move(
        writer,
        services.record_inference(writer, second, ich),
        "rejected",
        reason_code="slice_thickness",
        vendor_reason="ST>5",
    )
    return first, second


def minutes(n: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=n)
