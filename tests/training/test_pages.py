"""The training pages: My training, a procedure, Training by model, writing
procedures and recording someone else's training; and who is refused."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.training.access import is_trained
from radgov.training.models import IfuAttestation, TrainingProcedure, TrainingRecord
from tests.factories import client_for, make_user
from tests.training.helpers import make_deployment, upload_ifu

pytestmark = pytest.mark.django_db


def test_my_training_shows_what_is_missing_and_completing_it_opens_the_gate(world) -> None:  # type: ignore[no-untyped-def]
    doctor = make_user("dr.x")
    make_deployment(world["mv"], status="deployed", end_users=[doctor])
    client = client_for(doctor)
    page = client.get(reverse("training:mine")).content.decode()
    assert "Acme AI ICH Triage 2.1" in page and "Not trained" in page
    assert "dr.x has no current training record" in page
    assert reverse("training:procedure", args=[world["procedure"].pk]) in page
    assert reverse("inventory:document", args=[world["ifu"].pk]) in page  # the IFU link

    url = reverse("training:procedure", args=[world["procedure"].pk])
    assert "I have read the IFU (version 3)" in client.get(url).content.decode()
    response = client.post(url, {"completed": "on", "attest_ifu": "on"})
    assert response.status_code == 302 and response.headers["Location"] == reverse("training:mine")
    assert is_trained(doctor, world["mv"])
    page = client.get(reverse("training:mine")).content.decode()
    assert "Trained" in page and "version 3" in page


def test_a_new_ifu_is_attested_from_my_training(world) -> None:  # type: ignore[no-untyped-def]
    doctor = make_user("dr.x")
    make_deployment(world["mv"], status="deployed", end_users=[doctor])
    client = client_for(doctor)
    client.post(
        reverse("training:procedure", args=[world["procedure"].pk]),
        {"completed": "on", "attest_ifu": "on"},
    )
    upload_ifu(world["mv"], "4")
    page = client.get(reverse("training:mine")).content.decode()
    assert "IFU not yet attested" in page and "I have read the IFU (version 4)" in page
    client.post(reverse("training:attest", args=[world["mv"].pk]))
    assert is_trained(doctor, world["mv"])
    assert TrainingRecord.objects.filter(user=doctor).count() == 1  # no retraining needed


def test_completion_without_the_checkbox_changes_nothing(world) -> None:  # type: ignore[no-untyped-def]
    doctor = make_user("dr.x")
    url = reverse("training:procedure", args=[world["procedure"].pk])
    response = client_for(doctor).post(url, {"attest_ifu": "on"})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert not TrainingRecord.objects.exists() and not IfuAttestation.objects.exists()


def test_a_procedure_for_another_role_cannot_be_completed(world) -> None:  # type: ignore[no-untyped-def]
    tech = make_user("tech", role=Role.TECHNOLOGIST)
    url = reverse("training:procedure", args=[world["procedure"].pk])
    assert "not meant for your role" in client_for(tech).get(url).content.decode()
    response = client_for(tech).post(url, {"completed": "on"})
    assert (
        "is for Physician / qualified end-user; tech is Technologist" in response.content.decode()
    )
    assert not TrainingRecord.objects.exists()


def test_training_by_model_for_governance_champions_and_others(world) -> None:  # type: ignore[no-untyped-def]
    trained, missing = make_user("dr.a"), make_user("dr.b")
    champion = make_user("dr.champ", is_clinical_champion=True)
    client_for(trained).post(
        reverse("training:procedure", args=[world["procedure"].pk]),
        {"completed": "on", "attest_ifu": "on"},
    )
    make_deployment(world["mv"], end_users=[trained, missing], champions=[champion])
    url = reverse("training:by_model")
    member = make_user("physicist", role=Role.MEDICAL_PHYSICIST, is_governance_member=True)
    for viewer in (world["admin"], member, champion):
        page = client_for(viewer).get(url).content.decode()
        assert "1 of 2 end-users trained" in page
        assert "dr.b has no current training record" in page
    other = make_user("dr.other")
    page = client_for(other).get(url).content.decode()
    assert "You champion no deployment" in page and "dr.b" not in page


def test_only_governance_writes_procedures(world) -> None:  # type: ignore[no-untyped-def]
    data = {
        "model_version": world["mv"].pk,
        "title": "Reading ICH Triage 2.1",
        "content": "Cases.",
        "complexity": "basic",
        "complexity_note": "A notification only.",
        "required_roles": ["physician", "technologist"],
        "validity_months": 24,
    }
    outsider = make_user("dr.out")
    url = reverse("training:procedure_create")
    page = client_for(outsider).get(url).content.decode()
    assert "Only governance-group members and administrators" in page and 'name="title"' not in page
    response = client_for(outsider).post(url, data)
    assert "Only governance-group members and administrators" in response.content.decode()
    assert not TrainingProcedure.objects.filter(title=data["title"]).exists()

    member = make_user("dr.chen", is_governance_member=True)
    response = client_for(member).post(url, data)
    made = TrainingProcedure.objects.get(title=data["title"])
    assert response.status_code == 302
    assert made.required_roles == ["physician", "technologist"] and made.validity_months == 24
    assert AuditEntry.objects.filter(
        object_type="training.trainingprocedure", object_id=str(made.pk), actor_name="dr.chen"
    ).exists()

    edit = reverse("training:procedure_edit", args=[made.pk])
    client_for(member).post(edit, {**data, "title": "Reading ICH Triage 2.1 (rev 2)"})
    made.refresh_from_db()
    assert made.title == "Reading ICH Triage 2.1 (rev 2)"
    client_for(outsider).post(edit, {**data, "title": "hijacked"})
    made.refresh_from_db()
    assert made.title == "Reading ICH Triage 2.1 (rev 2)"


def test_missing_complexity_note_is_a_form_error(world) -> None:  # type: ignore[no-untyped-def]
    response = client_for(world["admin"]).post(
        reverse("training:procedure_create"),
        {
            "model_version": world["mv"].pk,
            "title": "t",
            "content": "c",
            "complexity": "basic",
            "complexity_note": "",
            "required_roles": ["physician"],
            "validity_months": 12,
        },
    )
    assert response.status_code == 200 and "This field is required" in response.content.decode()


def test_a_champion_records_training_for_their_end_users_only(world) -> None:  # type: ignore[no-untyped-def]
    doctor, stranger = make_user("dr.x"), make_user("dr.y")
    champion = make_user("dr.champ", is_clinical_champion=True)
    make_deployment(world["mv"], end_users=[doctor], champions=[champion])
    url = reverse("training:record_new")
    client = client_for(champion)
    form = {
        "procedure": world["procedure"].pk,
        "completed_on": "2026-01-15",
        "trainer": champion.pk,
        "notes": "Session with 10 cases.",
    }
    response = client.post(url, {**form, "user": stranger.pk})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    response = client.post(url, {**form, "user": doctor.pk})
    assert response.status_code == 302
    record = TrainingRecord.objects.get(user=doctor)
    assert record.recorded_by == champion and record.trainer == champion
    assert record.ifu_attestation is None  # the trainee attests themselves
    assert record.completed_at.date().isoformat() == "2026-01-15"
    page = client_for(make_user("dr.z")).get(url).content.decode()
    assert "clinical champions record training for others" in page


@pytest.mark.parametrize(
    "route,kwargs",
    [
        ("training:mine", {}),
        ("training:by_model", {}),
        ("training:procedure", {"procedure_id": 1}),
        ("training:procedure_create", {}),
        ("training:record_new", {}),
    ],
)
def test_vendor_and_anonymous_are_refused(world, route, kwargs) -> None:  # type: ignore[no-untyped-def]
    url = reverse(route, kwargs=kwargs)
    vendor = make_user("vendor.rep", role=Role.VENDOR)
    assert client_for(vendor).get(url).status_code == 403
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.headers["Location"]


def test_a_procedure_is_copied_for_a_new_version(world) -> None:  # type: ignore[no-untyped-def]
    original = world["procedure"]
    page = client_for(world["admin"]).get(
        reverse("training:procedure_create") + f"?copy={original.pk}"
    )
    form = page.context["form"]
    assert form.initial["content"] == original.content
    assert form.initial["complexity_note"] == original.complexity_note
    assert (
        "Copy for another version"
        in client_for(world["admin"])
        .get(reverse("training:procedure", args=[original.pk]))
        .content.decode()
    )


def test_models_in_use_come_first_and_unwritten_training_is_said(world) -> None:  # type: ignore[no-untyped-def]
    from radgov.training.selectors import my_training
    from tests.training.helpers import make_version

    doctor = make_user("dr.x")
    upcoming = make_version(name="Alpha Nodule", version="0.9")  # sorts first by name
    make_deployment(upcoming, status="under_review", end_users=[doctor])
    make_deployment(world["mv"], status="deployed", end_users=[doctor])
    rows = my_training(doctor)
    assert [r.model_version for r in rows] == [world["mv"], upcoming]
    assert rows[0].live and not rows[1].live
    page = client_for(doctor).get(reverse("training:mine")).content.decode()
    assert "Nothing yet: no training has been written for your role on this version." in page
