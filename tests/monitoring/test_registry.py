"""The registry export (issue 17): a deployment's monitoring data as CSV and JSON, saying what
it holds; no identifier or pseudonym in it, dates reduced to the ISO week, ages as bands;
only the governance group, administrators and compliance may export, and each export is in
the audit trail."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.urls import reverse

from radgov.core.models import AccessionIdentity, AuditEntry, PatientIdentity
from radgov.core.roles import Role
from radgov.exams.models import Exam
from radgov.monitoring.models import Report
from tests.factories import client_for, make_user
from tests.monitoring.conftest import exam_with_call

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 2, 3)  # a Tuesday of ISO week 2026-W06
AGE, SEX = "65-69", "F"  # tests.exams.conftest.head_ct: 067Y, F


@pytest.fixture
def recorded(writer, watched):  # type: ignore[no-untyped-def]
    for n, (ai, truth) in enumerate([(True, True), (True, False), (False, None)], start=7001):
        exam_with_call(writer, watched, n, DAY, ai=ai, truth=truth)
    return watched


def _get(user, deployment, fmt):  # type: ignore[no-untyped-def]
    url = reverse("monitoring:registry_export", kwargs={"deployment_id": deployment.pk, "fmt": fmt})
    return client_for(user).get(url)


def _secrets() -> list[str]:
    """Every identifier and pseudonym radgov holds for these exams, and their dates."""
    values = ["1.2.826.0.1.3680043.10.99.700", "P7001", "A7001", DAY.isoformat(), "Main Hospital"]
    for exam in Exam.objects.all():
        values += [exam.study_uid_hash, str(exam.study_uid_encrypted)]
    values += list(PatientIdentity.objects.values_list("pseudonym", flat=True))
    values += list(AccessionIdentity.objects.values_list("pseudonym", flat=True))
    values += list(Report.objects.values_list("accession_hash", flat=True))
    return values


def test_the_json_export_holds_the_four_categories_and_no_identifier(chair, recorded) -> None:
    answer = _get(chair, recorded, "json")
    assert answer.status_code == 200
    assert answer["Content-Disposition"].endswith(f'registry-deployment-{recorded.pk}.json"')
    body = answer.content.decode()
    data = json.loads(body)
    meta = data["metadata"]
    assert meta["records"] == 3 and meta["deployment"]["product"] == "PE Finder"
    assert set(meta["categories"]) == {
        "study metadata", "AI results", "demographics (bands)", "report-derived labels",
    }  # fmt: skip
    assert "ISO week" in meta["de_identification"]
    first = data["records"][0]
    assert first["record"] == 1 and first["study_week"] == "2026-W06"
    assert (first["modality"], first["call"], first["score"]) == ("CT", "positive", 0.9)
    assert (first["age_band"], first["sex"]) == (AGE, SEX)
    assert first["outcome"] == "tp" and first["labels"] == {"pulmonary_embolism": "positive"}
    assert data["records"][2]["labels"] == {} and data["records"][2]["outcome"] == ""
    for secret in _secrets():
        assert secret not in body, secret
    assert not any(key in first for key in ("id", "exam_id", "inference_id", "pk"))


def test_the_csv_export_says_what_it_holds_before_the_header(chair, recorded) -> None:
    body = _get(chair, recorded, "csv").content.decode()
    lines = body.splitlines()
    block = [line for line in lines if line.startswith("# ")]
    assert block[0].startswith("# what: radgov registry export")
    assert any(line.startswith("# de_identification: no identifiers") for line in block)
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[len(block) :]))))
    assert len(rows) == 3
    assert rows[0]["study_week"] == "2026-W06" and rows[0]["label_pulmonary_embolism"] == "positive"
    assert rows[1]["outcome"] == "fp" and rows[2]["label_pulmonary_embolism"] == ""
    for secret in _secrets():
        assert secret not in body, secret


def test_only_governance_administrators_and_compliance_may_export(recorded) -> None:
    compliance = make_user("mon-compliance", role=Role.COMPLIANCE)
    assert _get(compliance, recorded, "csv").status_code == 200
    for name, role in (("mon-rad", Role.PHYSICIAN), ("mon-analyst", Role.DATA_SCIENTIST)):
        answer = _get(make_user(name, role=role), recorded, "json")
        assert answer.status_code == 403
        assert "governance group, administrators and the compliance role" in answer.content.decode()
    assert _get(make_user("mon-vendor", role=Role.VENDOR), recorded, "json").status_code == 403
    exports = AuditEntry.objects.filter(action="export", object_type="inventory.deployment")
    assert [e.detail["records"] for e in exports] == [3]
    assert exports.get().actor_name == "mon-compliance"
    assert AuditEntry.objects.filter(action="denied").count() >= 2
    assert _get(compliance, recorded, "xml").status_code == 404
