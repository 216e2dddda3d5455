"""The exams API: problem+json refusals (403, 404, 409, 422 with every field named), denials
per role and per object, audited reads with identifiers only for the roles allowed, paging
and filters, and the writes an orchestrator reports with."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from radgov.accounts import services as accounts
from radgov.core import policy
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.exams import selectors, services
from radgov.exams.errors import NotPermitted
from radgov.exams.models import Exam, Inference
from tests.exams.conftest import ACCESSION, CANARIES, MRN, UID, head_ct
from tests.exams.test_import import HEADER, good_rows
from tests.factories import problem

pytestmark = pytest.mark.django_db

STUDY = {
    "study_instance_uid": UID,
    "patient_id": MRN,
    "patient_id_issuer": "HOSP_A",
    "accession_number": ACCESSION,
    "site": "Main Hospital CT",
    "study_datetime": "2026-03-01T10:15:00+00:00",
    "modality": "CT",
    "body_part": "HEAD",
    "station_name": "CTMAIN1",
    "slice_thickness_mm": 5,
    "kvp": 120,
    "patient_age": "067Y",
    "patient_sex": "F",
}


def api(user) -> Client:  # type: ignore[no-untyped-def]
    _, secret = accounts.create_token(user, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def post(client: Client, url: str, body: object):  # type: ignore[no-untyped-def]
    return client.post(url, data=json.dumps(body), content_type="application/json")


def no_canary(response) -> None:  # type: ignore[no-untyped-def]
    body = response.content.decode()
    assert not any(c in body for c in CANARIES), body


@pytest.fixture
def recorded(practice):  # type: ignore[no-untyped-def]
    return practice[0]


def test_an_orchestrator_reports_a_study_its_inference_moves_outputs_and_result(
    writer, ich
) -> None:
    client = api(writer)
    created = post(client, "/api/exams/exams", STUDY)
    assert created.status_code == 201 and created.json()["outcome"] == "created"
    no_canary(created)
    exam_id = created.json()["exam"]["id"]
    assert post(client, "/api/exams/exams", STUDY).json()["outcome"] == "unchanged"
    inf = post(client, f"/api/exams/exams/{exam_id}/inferences", {"deployment_id": ich.pk})
    assert inf.status_code == 201 and inf.json()["status"] == "received"
    inf_id = inf.json()["id"]
    assert (
        post(
            client, f"/api/exams/exams/{exam_id}/inferences", {"deployment_id": ich.pk}
        ).status_code
        == 200
    )
    sent = post(
        client, f"/api/exams/inferences/{inf_id}/moves", {"status": "sent", "event_id": "x1"}
    )
    assert sent.json()["changed"] is True and sent.json()["inference"]["status"] == "sent"
    again = post(
        client, f"/api/exams/inferences/{inf_id}/moves", {"status": "sent", "event_id": "x1"}
    )
    assert again.json()["changed"] is False
    outputs = post(
        client,
        f"/api/exams/inferences/{inf_id}/outputs",
        {
            "score": 0.4,
            "call": "negative",
            "findings": [{"label": "intracranial hemorrhage", "present": False}],
        },
    )
    assert outputs.json()["inference"]["status"] == "inferred"
    assert [c["to_status"] for c in outputs.json()["inference"]["history"]] == [
        "received",
        "sent",
        "inferred",
    ]
    result = post(
        client,
        f"/api/exams/inferences/{inf_id}/results",
        {"kind": "SR", "sop_instance_uid": UID + ".9.1", "sha256": "c" * 64, "size": 10},
    )
    assert result.status_code == 201 and "sop_instance_uid" not in result.json()
    no_canary(result)


def test_refusals_are_problem_json_naming_each_field(writer, ich) -> None:
    client = api(writer)
    bad = post(client, "/api/exams/exams", {**STUDY, "kvp": 999, "patient_sex": "X"})
    assert "kvp" in problem(bad, 422)
    assert [e["location"] for e in bad.json()["errors"]] == ["kvp", "patient_sex"]
    post(client, "/api/exams/exams", STUDY)
    conflict = post(
        client, "/api/exams/exams", {**STUDY, "modality": "MR", "patient_id": "OTHER-1"}
    )
    assert "differs" in problem(conflict, 409)
    assert {e["location"] for e in conflict.json()["errors"]} == {"modality", "patient_id"}
    no_canary(conflict)
    exam_id = Exam.objects.get().pk
    inf = post(client, f"/api/exams/exams/{exam_id}/inferences", {"deployment_id": ich.pk}).json()[
        "id"
    ]
    refused = post(client, f"/api/exams/inferences/{inf}/moves", {"status": "released"})
    assert "from received" in problem(refused, 422)
    assert problem(client.get("/api/exams/exams/99999"), 404) == "no exam 99999"
    assert problem(client.get("/api/exams/exams?since=yesterday"), 422).startswith("since:")
    denied = AuditEntry.objects.filter(action="denied", object_type="route")
    assert denied.count() == 5
    assert not any(c in e.detail_json for e in denied for c in CANARIES)


ENDPOINTS = [
    ("get", "/api/exams/exams"),
    ("get", "/api/exams/exams/{exam}"),
    ("get", "/api/exams/inferences"),
    ("get", "/api/exams/inferences/{inference}"),
    ("post", "/api/exams/exams"),
    ("post", "/api/exams/exams/{exam}/inferences"),
    ("post", "/api/exams/inferences/{inference}/moves"),
    ("post", "/api/exams/inferences/{inference}/outputs"),
    ("post", "/api/exams/inferences/{inference}/results"),
    ("post", "/api/exams/events"),
    ("post", "/api/exams/import"),
]


def _urls(exam: Exam) -> list[tuple[str, str]]:
    inference = exam.inferences.first()
    return [(m, u.format(exam=exam.pk, inference=inference.pk)) for m, u in ENDPOINTS]


@pytest.mark.parametrize(
    "role", [Role.PHYSICIAN, Role.DATA_SCIENTIST, Role.TECHNOLOGIST, Role.COMPLIANCE]
)
def test_readers_may_read_but_not_write(people, recorded, role) -> None:
    client = api(people[role])
    for method, url in _urls(recorded):
        response = client.generic(method.upper(), url, data="{}", content_type="application/json")
        if method == "get":
            assert response.status_code == 200, url
        else:
            assert problem(response, 403).startswith("role not permitted"), url


def test_identifiers_only_for_the_roles_that_may_see_them_and_every_read_audited(
    people, recorded
) -> None:
    shown = api(people[Role.PHYSICIAN]).get(f"/api/exams/exams/{recorded.pk}").json()
    assert shown["identifiers"] == {
        "study_instance_uid": UID,
        "patient_id": MRN,
        "patient_id_issuer": "HOSP_A",
        "accession_number": ACCESSION,
    }
    assert [i["status"] for i in shown["inferences"]] == ["inferred", "excluded"]
    assert shown["inferences"][1]["reason"].startswith("The study is outside")
    hidden = api(people[Role.DATA_SCIENTIST]).get(f"/api/exams/exams/{recorded.pk}")
    assert hidden.json()["identifiers"] is None and hidden.json()["age_band_label"] == "65-69"
    no_canary(hidden)
    reads = AuditEntry.objects.filter(action="read", object_type="exams.exam").order_by("seq")
    assert [(e.actor_name, e.object_id, e.detail["identifiers"], e.event_code) for e in reads] == [
        (people[Role.PHYSICIAN].username, str(recorded.pk), True, "110111"),
        (people[Role.DATA_SCIENTIST].username, str(recorded.pk), False, "110111"),
    ]
    for entry in AuditEntry.objects.all():
        assert not any(c in entry.detail_json + entry.changes_json for c in CANARIES)


def test_a_loosened_route_rule_still_refuses_the_vendor_per_object(
    people, recorded, monkeypatch
) -> None:
    """The selectors check again: if a rule ever admitted the vendor, the read is refused."""
    loose = policy.anyone()
    monkeypatch.setattr(policy, "rule_for", lambda name: loose)
    client = api(people[Role.VENDOR])
    for url in (f"/api/exams/exams/{recorded.pk}", "/api/exams/exams", "/api/exams/inferences"):
        response = client.get(url)
        assert response.status_code == 403 and response.json()["type"].endswith("/forbidden"), url
        assert "III.F" in response.json()["detail"]
    with pytest.raises(NotPermitted):
        selectors.study(people[Role.VENDOR], recorded.pk)
    assert not AuditEntry.objects.filter(action="read").exists()


def test_lists_filter_and_page_and_the_read_is_audited(people, writer, ich, nodule) -> None:
    for n in range(5):
        exam = services.record_exam(
            writer,
            head_ct(uid=f"{UID}.{n}", accession_number=f"ACC-{n}", station_name=f"CT{n % 2}"),
            source="dicom",
        ).exam
        services.record_inference(writer, exam, ich if n % 2 else nodule)
    client = api(people[Role.PHYSICIAN])
    page = client.get("/api/exams/exams?limit=2&offset=2").json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (5, 2, 2, 2)
    assert client.get(f"/api/exams/exams?deployment={ich.pk}").json()["total"] == 2
    assert client.get("/api/exams/exams?station=CT0").json()["total"] == 3
    assert client.get("/api/exams/exams?since=2026-03-01&until=2026-03-01").json()["total"] == 5
    assert client.get("/api/exams/exams?until=2026-02-28").json()["total"] == 0
    assert client.get("/api/exams/exams?modality=mr").json()["total"] == 0
    infs = client.get(f"/api/exams/inferences?deployment={nodule.pk}&status=received").json()
    assert infs["total"] == 3 and infs["items"][0]["exam"]["station_name"] == "CT0"
    listed = AuditEntry.objects.filter(action="read").order_by("seq").first()
    assert listed.detail["what"] == "exam list" and listed.detail["total"] == 5
    assert len(listed.detail["exams"]) == 2 and listed.detail["filters"] == {}


def test_a_batch_of_events_through_the_api(writer, ich, nodule) -> None:
    client = api(writer)
    events = [
        {
            **STUDY,
            "deployment_id": ich.pk,
            "status": "inferred",
            "score": 0.7,
            "call": "positive",
            "event_id": "a",
        },
        {
            **STUDY,
            "deployment_id": nodule.pk,
            "status": "excluded",
            "reason_code": "criteria_not_met",
        },
    ]
    ok = post(client, "/api/exams/events", {"events": events})
    assert ok.json() == {
        "events": 2,
        "exams_created": 1,
        "exams_enriched": 0,
        "inferences_created": 2,
        "moves": 2,
        "unchanged": 0,
    }
    bad = post(
        client,
        "/api/exams/events",
        {
            "events": [
                {**STUDY, "study_instance_uid": UID + ".5", "kvp": 1},
                {**STUDY, "deployment_id": ich.pk, "status": "queued"},
            ]
        },
    )
    assert problem(bad, 422)
    assert [e["location"] for e in bad.json()["errors"]] == ["events[0].kvp"]
    assert Exam.objects.count() == 1


def test_a_file_through_the_api(writer, ich, nodule, settings) -> None:
    client = api(writer)
    data = "\n".join([HEADER, *good_rows(ich.pk, nodule.pk)]).encode()
    ok = client.post("/api/exams/import", {"file": SimpleUploadedFile("events.csv", data)})
    assert ok.status_code == 200 and ok.json()["events"] == 4
    bad = data.replace(b",120,no,067Y,", b",loud,no,067Y,")
    refused = client.post("/api/exams/import", {"file": SimpleUploadedFile("events.csv", bad)})
    assert problem(refused, 422).startswith("data row 1 (spreadsheet row 2), column 'kvp'")


def test_a_file_over_the_upload_limit_is_refused_unread(writer, monkeypatch) -> None:
    monkeypatch.setenv("RADGOV_MAX_UPLOAD_MB", "1")
    big = SimpleUploadedFile("events.csv", b"study_instance_uid\n" + b"1.2.3\n" * 200_000)
    refused = api(writer).post("/api/exams/import", {"file": big})
    assert "larger than 1 MB" in problem(refused, 413)
    assert Inference.objects.count() == 0 and Exam.objects.count() == 0
