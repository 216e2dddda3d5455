"""The privacy officer's API: retention, holds, the purge's plan and incidents
(src/radgov/compliance/privacy_api.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from radgov.compliance.models import LegalHold, RetentionPolicy
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.exams import services as exams
from tests.compliance.test_privacy import studies
from tests.exams.conftest import head_ct
from tests.factories import client_for, make_user, problem

pytestmark = pytest.mark.usefixtures("quick_passwords")
API = "/api/compliance"


def test_retention_policies_are_read_and_set_and_a_short_one_is_refused(officer: Any) -> None:
    client = client_for(officer)
    classes = {p["data_class"]: p for p in client.get(f"{API}/retention").json()["policies"]}
    assert classes["spool"]["days"] == 30 and not classes["spool"]["changed"]
    answer = client.put(
        f"{API}/retention/exams",
        {"days": 3650, "legal_minimum_days": 3650, "note": "state law"},
        content_type="application/json",
    )
    assert answer.status_code == 200 and answer.json()["changed"]
    short = client.put(f"{API}/retention/exams", {"days": 30}, content_type="application/json")
    assert "legal minimum of 3650 days" in problem(short, 422)
    assert RetentionPolicy.objects.get().days == 3650
    trail = client.put(
        f"{API}/retention/audit_trail", {"days": 30}, content_type="application/json"
    )
    assert "shorter than the 2191 days" in problem(trail, 422)


def test_holds_are_placed_listed_released_and_the_list_read_is_recorded(officer: Any) -> None:
    client = client_for(officer)
    keeper = make_user("api-informatics", role=Role.INFORMATICS)
    exam = exams.record_exam(keeper, head_ct(), source="api").exam
    placed = client.post(
        f"{API}/holds",
        {"scope": "patient", "patient_pseudonym": exam.patient.pseudonym, "reason": "matter"},
        content_type="application/json",
    )
    assert placed.status_code == 201, placed.content
    hold = placed.json()
    assert hold["patient_pseudonym"] == exam.patient.pseudonym
    bad = client.post(
        f"{API}/holds", {"scope": "dates", "reason": "m"}, content_type="application/json"
    )
    assert "dates: give a first day" in problem(bad, 422)
    listed = client.get(f"{API}/holds?active=true").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == hold["id"]
    read = AuditEntry.objects.filter(action="read", object_type="compliance.legalhold").get()
    assert read.detail == {"what": "legal holds", "count": 1}
    released = client.post(
        f"{API}/holds/{hold['id']}/release", {"reason": "settled"}, content_type="application/json"
    )
    assert released.json()["released_at"] is not None
    assert LegalHold.objects.get().released_at is not None
    assert client.get(f"{API}/holds?active=true").json()["total"] == 0
    missing = client.post(
        f"{API}/holds/999/release", {"reason": "x"}, content_type="application/json"
    )
    assert problem(missing, 404)


def test_the_purge_plan_changes_nothing_and_is_recorded(officer: Any) -> None:
    plan = client_for(officer).get(f"{API}/purge/plan").json()
    assert {row["data_class"] for row in plan} >= {"exams", "spool", "case_files", "audit_trail"}
    assert all(row["to_remove"] == row["expired"] - row["held"] for row in plan)
    assert AuditEntry.objects.filter(detail_json__contains='"dry_run":true').count() == 1


def test_an_incident_over_the_api_shows_its_deadline_and_reads_its_patients_audited(
    officer: Any,
) -> None:
    reader = make_user("api-reader", role=Role.PHYSICIAN)
    ids = studies(4)  # four exams of two patients
    from radgov.exams import audit as exams_audit

    exams_audit.read_exams(reader, ids, what="worklist", total=4)
    client = client_for(officer)
    now = timezone.now()
    body = {
        "title": "Records read without a reason",
        "what": "a colleague's worklist",
        "discovered_on": timezone.localdate().isoformat(),
        "discovered_by": "privacy-officer",
        "actor_names": ["api-reader"],
        "window_start": (now - dt.timedelta(hours=1)).isoformat(),
        "window_end": (now + dt.timedelta(minutes=1)).isoformat(),
    }
    opened = client.post(f"{API}/incidents", body, content_type="application/json")
    assert opened.status_code == 201, opened.content
    incident = opened.json()
    assert incident["affected_count"] == 2 and "affected_patients" not in incident
    individuals = incident["deadlines"][0]
    assert individuals["notice"] == "individuals" and individuals["days_left"] == 60
    assert individuals["due"] == (timezone.localdate() + dt.timedelta(days=60)).isoformat()

    patients = client.get(f"{API}/incidents/{incident['id']}/patients").json()
    assert patients["count"] == 2 and all(len(p) == 64 for p in patients["pseudonyms"])
    read = AuditEntry.objects.filter(action="read", object_type="compliance.incident").get()
    assert read.detail == {"what": "affected patients", "count": 2}

    early = client.post(
        f"{API}/incidents/{incident['id']}/decision",
        {"decision": "not_breach", "reasons": "looked at nothing"},
        content_type="application/json",
    )
    assert "a breach is presumed" in problem(early, 422)
    decided = client.post(
        f"{API}/incidents/{incident['id']}/decision",
        {"decision": "breach", "reasons": "viewed"},
        content_type="application/json",
    )
    assert decided.json()["decision"] == "breach"
    assert client.get(f"{API}/incidents").json()["total"] == 1


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.PHYSICIAN, Role.INFORMATICS])
def test_other_roles_are_refused_every_privacy_endpoint(role: str, db: Any) -> None:
    client = client_for(make_user(f"api-{role}", role=role))
    for url in ("/retention", "/holds", "/purge/plan", "/incidents", "/incidents/1/patients"):
        assert client.get(API + url).status_code == 403, url
    refused = client.post(
        f"{API}/holds", {"scope": "dates", "reason": "m"}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert not LegalHold.objects.exists()
