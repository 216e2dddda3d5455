"""The AI worklist and the study status page: what each model did, with reasons; counts,
filters and paging; identifiers only for the roles that may see them; every view audited;
vendors see none of it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.exams import services
from tests.exams.conftest import ACCESSION, MRN, UID, head_ct
from tests.exams.review_world import add_end_user
from tests.factories import client_for

pytestmark = pytest.mark.django_db


def test_the_worklist_shows_each_inference_with_counts_and_reasons(people, practice) -> None:
    client = client_for(people[Role.PHYSICIAN])
    page = client.get(reverse("exams:worklist")).content.decode()
    assert (
        "All (3)" in page
        and "Inferred (1)" in page
        and "Rejected (1)" in page
        and "Failed (0)" in page
    )
    assert "The slices are thicker or thinner than this model accepts." in page
    # not an end-user of the model: before review its output is hidden (release policy)
    assert "not visible before review" in page and "score 0.91" not in page
    assert "1–3 of 3" in page
    assert MRN not in page and ACCESSION not in page and UID not in page  # lists never decrypt
    only = client.get(reverse("exams:worklist"), {"status": "rejected"}).content.decode()
    assert "1–1 of 1" in only and "Rejected (1)" in only and 'aria-current="true">Rejected' in only
    station = client.get(reverse("exams:worklist"), {"station": "CTED2"}).content.decode()
    assert "1–1 of 1" in station and "All (1)" in station
    read = AuditEntry.objects.filter(action="read").order_by("seq").first()
    assert read.detail["what"] == "worklist" and read.detail["total"] == 3


def test_bad_filters_are_named_and_not_applied(people, practice) -> None:
    response = client_for(people[Role.PHYSICIAN]).get(
        reverse("exams:worklist"), {"since": "soon", "status": "lost"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert (
        "status: must be one of" in page and "since: must be a date" in page and "All (3)" in page
    )


def test_the_worklist_pages_through_many_results(writer, ich, people) -> None:
    for n in range(55):
        exam = services.record_exam(
            writer, head_ct(uid=f"{UID}.{n}", accession_number=f"A{n}"), source="api"
        ).exam
        services.record_inference(writer, exam, ich)
    client = client_for(people[Role.TECHNOLOGIST])
    first = client.get(reverse("exams:worklist"), {"status": "received"}).content.decode()
    assert "1–50 of 55" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert "offset=50" in first and "status=received" in first
    second = client.get(
        reverse("exams:worklist"), {"status": "received", "offset": 50}
    ).content.decode()
    assert "51–55 of 55" in second and 'rel="prev"' in second and 'rel="next"' not in second


def test_the_study_page_shows_each_model_with_timeline_and_identifiers_for_a_physician(
    people, practice, ich
) -> None:
    exam = practice[0]
    add_end_user(ich, people[Role.PHYSICIAN])  # a reviewer sees the output before review
    page = (
        client_for(people[Role.PHYSICIAN])
        .get(reverse("exams:study", args=[exam.pk]))
        .content.decode()
    )
    assert MRN in page and ACCESSION in page and UID in page and "HOSP_A" in page
    assert "NeuroTriage ICH 2.0" in page and "LungScan Nodule 2.0" in page
    assert "received → <strong>sent</strong>" in page and "sent → <strong>inferred</strong>" in page
    assert "intracranial hemorrhage: present, left frontal" in page
    assert "the inventory says 2.0" in page  # the model reported 2.0.3
    assert "BodyPartExamined &#x27;HEAD&#x27; is not one of CHEST" in page
    assert "age 65-69, female" in page
    read = AuditEntry.objects.get(action="read")
    assert (read.object_id, read.detail) == (
        str(exam.pk),
        {"what": "study status", "identifiers": True},
    )


@pytest.mark.parametrize("role", [Role.DATA_SCIENTIST, Role.MEDICAL_PHYSICIST])
def test_the_study_page_hides_identifiers_from_roles_that_study_performance(
    people, practice, role
) -> None:
    page = (
        client_for(people[role]).get(reverse("exams:study", args=[practice[1].pk])).content.decode()
    )
    assert "Not shown to your role" in page and "The vendor says: ST&gt;5" in page
    assert MRN not in page and "ACC-2" not in page and UID not in page
    assert AuditEntry.objects.get(action="read").detail["identifiers"] is False


def test_the_vendor_sees_none_of_it(people, practice) -> None:
    client = client_for(people[Role.VENDOR])
    for url in (reverse("exams:worklist"), reverse("exams:study", args=[practice[0].pk])):
        assert client.get(url).status_code == 403
    assert (
        AuditEntry.objects.filter(action="denied", actor_name=people[Role.VENDOR].username).count()
        == 2
    )
    assert not AuditEntry.objects.filter(action="read").exists()
    assert "AI worklist" not in client.get("/").content.decode()
    assert "AI worklist" in client_for(people[Role.TECHNOLOGIST]).get("/").content.decode()


def test_a_missing_study_is_not_found_and_a_study_without_inferences_says_so(
    people, writer
) -> None:
    client = client_for(people[Role.PHYSICIAN])
    assert client.get(reverse("exams:study", args=[4242])).status_code == 404
    exam = services.record_exam(writer, head_ct(), source="api").exam
    assert (
        "No model has been given this study"
        in client.get(reverse("exams:study", args=[exam.pk])).content.decode()
    )


def test_pages_answer_only_get(people, practice) -> None:
    client = client_for(people[Role.PHYSICIAN])
    assert client.post(reverse("exams:worklist")).status_code == 405


def test_typed_filters_are_not_copied_into_the_audit_trail(people, practice) -> None:
    """A person may type anything into a filter (an MRN, even): the read names the exams
    shown and which filters were used, never what was typed."""
    client = client_for(people[Role.PHYSICIAN])
    client.get(reverse("exams:worklist"), {"station": MRN, "site": ACCESSION, "status": "rejected"})
    client.get(reverse("exams:worklist"), {"station": "CTED2", "modality": MRN})
    client.get(reverse("exams:worklist"), {"station": "CTED2"})
    reads = list(AuditEntry.objects.filter(action="read").order_by("seq"))
    assert not any(c in e.detail_json for e in reads for c in (MRN, ACCESSION))
    assert [(e.detail["filters"], e.detail["exams"]) for e in reads] == [
        ({"site": "given", "station": "given", "status": "rejected"}, []),  # a search is a read
        ({"modality": "given", "station": "given"}, []),
        ({"station": "given"}, [practice[1].pk]),
    ]
