"""The training API, and its check endpoint that answers trained or not, with the reason."""

from __future__ import annotations

import pytest
from django.test import Client

from radgov.core.roles import Role
from radgov.training import services
from radgov.training.models import TrainingProcedure, TrainingRecord
from tests.factories import client_for, make_user
from tests.training.helpers import ago, make_deployment, upload_ifu

pytestmark = pytest.mark.django_db


def check(client: Client, mv, user=None):  # type: ignore[no-untyped-def]
    url = f"/api/training/check?model_version={mv.pk}" + (f"&user={user.pk}" if user else "")
    return client.get(url)


def test_check_answers_with_the_reason(world) -> None:  # type: ignore[no-untyped-def]
    mv, procedure = world["mv"], world["procedure"]
    doctor = make_user("dr.x")
    client = client_for(doctor)
    body = check(client, mv).json()
    assert body["trained"] is False and body["state"] == "no_record"
    assert body["reason"] == "IV.F: dr.x has no current training record for Acme AI ICH Triage 2.1"

    response = client.post(
        "/api/training/records",
        {"procedure": procedure.pk, "attest_ifu": True},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["ifu_document"] == world["ifu"].pk
    body = check(client, mv).json()
    assert body == {
        "user": "dr.x",
        "model_version": mv.pk,
        "trained": True,
        "state": "trained",
        "reason": None,
        "expires_at": body["expires_at"],
        "ifu_version": "3",
    }
    upload_ifu(mv, "4")
    body = check(client, mv).json()
    assert body["state"] == "not_attested" and "(version 4)" in body["reason"]
    response = client.post(
        "/api/training/attestations", {"model_version": mv.pk}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["ifu_version"] == "4"
    assert check(client, mv).json()["trained"] is True


def test_check_about_someone_else(world) -> None:  # type: ignore[no-untyped-def]
    mv = world["mv"]
    doctor, other = make_user("dr.x"), make_user("dr.y")
    services.record_completion(
        world["admin"], procedure=world["procedure"], user=doctor, completed_at=ago(days=400)
    )
    response = check(client_for(other), mv, doctor)
    assert response.status_code == 404  # a colleague cannot probe someone's training
    assert response.headers["Content-Type"].startswith("application/problem+json")
    for asker in (
        world["admin"],
        make_user("it", role=Role.INFORMATICS),
        make_user("member", role=Role.COMPLIANCE, is_governance_member=True),
    ):
        body = check(client_for(asker), mv, doctor).json()
        assert body["state"] == "expired" and "expired on" in body["reason"]
    champion = make_user("dr.champ", is_clinical_champion=True)
    assert check(client_for(champion), mv, doctor).status_code == 404
    make_deployment(mv, end_users=[doctor], champions=[champion])
    assert check(client_for(champion), mv, doctor).json()["state"] == "expired"


def test_check_refuses_the_vendor_and_unknown_ids(world) -> None:  # type: ignore[no-untyped-def]
    vendor = make_user("vendor.rep", role=Role.VENDOR)
    assert check(client_for(vendor), world["mv"]).status_code == 403
    assert Client().get(f"/api/training/check?model_version={world['mv'].pk}").status_code == 401
    response = client_for(world["admin"]).get("/api/training/check?model_version=999999")
    assert response.status_code == 404


def test_procedures_list_and_create(world) -> None:  # type: ignore[no-untyped-def]
    payload = {
        "model_version": world["mv"].pk,
        "title": "Technologists: inputs for ICH Triage",
        "content": "Acquisition parameters; image quality remediation.",
        "complexity": "basic",
        "complexity_note": "Technologists check inputs only (III.E.1.d).",
        "required_roles": ["technologist"],
    }
    doctor = make_user("dr.x")
    response = client_for(doctor).post(
        "/api/training/procedures", payload, content_type="application/json"
    )
    assert response.status_code == 403 and "governance-group members" in response.json()["detail"]
    member = make_user("dr.chen", is_governance_member=True)
    response = client_for(member).post(
        "/api/training/procedures",
        {**payload, "complexity": "hard"},
        content_type="application/json",
    )
    assert response.status_code == 422 and "unknown complexity 'hard'" in response.json()["detail"]
    response = client_for(member).post(
        "/api/training/procedures", payload, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["validity_months"] == 12
    assert TrainingProcedure.objects.count() == 2
    listed = client_for(doctor).get(f"/api/training/procedures?model_version={world['mv'].pk}")
    assert sorted(p["title"] for p in listed.json()["items"]) == [
        "ICH Triage for radiologists",
        "Technologists: inputs for ICH Triage",
    ]


def test_records_own_or_all(world) -> None:  # type: ignore[no-untyped-def]
    a, b = make_user("dr.a"), make_user("dr.b")
    for person in (a, b):
        services.record_completion(person, procedure=world["procedure"], attest_ifu=True)
    assert [r["user"] for r in client_for(a).get("/api/training/records").json()["items"]] == [
        "dr.a"
    ]
    everyone = client_for(world["admin"]).get("/api/training/records").json()["items"]
    assert sorted(r["user"] for r in everyone) == ["dr.a", "dr.b"]
    only_b = client_for(world["admin"]).get(f"/api/training/records?user={b.pk}").json()["items"]
    assert [r["user"] for r in only_b] == ["dr.b"]


def test_recording_for_someone_else(world) -> None:  # type: ignore[no-untyped-def]
    doctor, colleague = make_user("dr.x"), make_user("dr.y")
    body = {"procedure": world["procedure"].pk, "user": doctor.pk}
    response = client_for(colleague).post(
        "/api/training/records", body, content_type="application/json"
    )
    assert response.status_code == 403
    response = client_for(world["admin"]).post(
        "/api/training/records", {**body, "attest_ifu": True}, content_type="application/json"
    )
    assert response.status_code == 422 and "only dr.x can attest" in response.json()["detail"]
    assert not TrainingRecord.objects.exists()
    response = client_for(world["admin"]).post(
        "/api/training/records",
        {**body, "trainer": world["admin"].pk, "completed_at": ago(days=30).isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["trainer"] == "admin" and response.json()["ifu_attested_at"] is None
