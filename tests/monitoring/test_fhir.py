"""Reports in as FHIR R4 DiagnosticReport: a final report stored, labelled and compared; the
same resource again changes nothing; each kind of bad resource refused naming its FHIRPath,
with an OperationOutcome, nothing stored; machines only with the grant, never the vendor."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from fhir.resources.R4B.operationoutcome import OperationOutcome

from radgov.core import machines
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.exams.access import RECORD
from radgov.monitoring.models import Concordance, Report
from tests.factories import client_for, make_user, problem
from tests.monitoring.conftest import NEGATIVE, POSITIVE, exam_with_call

pytestmark = pytest.mark.django_db
URL = "/api/monitoring/fhir/DiagnosticReport"
CANARY = "ACC-CANARY-7731"
ACSN = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}]}


def resource(accession: str = "A1", text: str = POSITIVE, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24627-2"}], "text": "CT chest"},
        "identifier": [{"type": ACSN, "system": "urn:oid:1.2.3.4", "value": accession}],
        "presentedForm": [
            {"contentType": "text/plain", "data": base64.b64encode(text.encode()).decode()}
        ],
    }
    body.update(changes)
    return body


def send(client: Client, body: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(URL, data, content_type="application/fhir+json")


def test_a_final_report_is_stored_labelled_and_compared(writer, watched) -> None:
    inference = exam_with_call(writer, watched, 1, dt.date(2026, 2, 3), ai=True, truth=None)
    answer = send(client_for(writer), resource("A1", POSITIVE))
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["exam_id"], body["outcome"], body["compared"]) == (
        inference.exam_id, "created", 1,
    )  # fmt: skip
    assert body["labels"] == [{"finding": "pulmonary_embolism", "label": "positive"}]
    report = Report.objects.get()
    assert (report.source, report.text.reveal()) == ("fhir", POSITIVE)
    assert Concordance.objects.get().outcome == "tp"


def test_the_same_resource_again_changes_nothing_and_a_corrected_one_amends(writer) -> None:
    client = client_for(writer)
    first = send(client, resource("A2", NEGATIVE))
    assert first.status_code == 201, first.content
    again = send(client, resource("A2", NEGATIVE))
    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")
    assert again.json()["id"] == first.json()["id"]
    # the accession in basedOn (the order), the text in conclusion: the same report, amended
    corrected = resource("", status="corrected", conclusion=POSITIVE, presentedForm=[])
    corrected["identifier"] = []
    corrected["basedOn"] = [{"identifier": {"type": ACSN, "value": "A2"}}]
    amended = send(client, corrected)
    assert (amended.status_code, amended.json()["outcome"]) == (200, "amended")
    assert Report.objects.count() == 1
    assert Report.objects.get().text.reveal() == POSITIVE


def _broken(change: str) -> Any:
    body = resource(CANARY)
    if change == "not_json":
        return b"{not json"
    if change == "other_resource":
        return {"resourceType": "Observation", "status": "final"}
    if change == "invalid":  # a required element missing, an unknown one, a bad type
        del body["code"]
        body["colour"] = "blue"
        body["presentedForm"] = "text"
        return body
    if change == "preliminary":
        body["status"] = "preliminary"
    if change == "no_accession":
        body["identifier"][0]["type"] = {"text": "placer"}
    if change == "no_text":
        body["presentedForm"] = [{"contentType": "application/pdf", "data": "JVBERi0="}]
    if change == "not_utf8":
        body["presentedForm"][0]["data"] = base64.b64encode(b"\xff\xfe\xfa").decode()
    return body


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("not_json", {("", "structure")}),
        ("other_resource", {("resourceType", "not-supported")}),
        (
            "invalid",
            {
                ("DiagnosticReport.code", "required"),
                ("DiagnosticReport.colour", "invalid"),
                ("DiagnosticReport.presentedForm", "invalid"),
            },
        ),
        ("preliminary", {("DiagnosticReport.status", "business-rule")}),
        ("no_accession", {("DiagnosticReport.identifier", "required")}),
        ("no_text", {("DiagnosticReport.presentedForm", "required")}),
        ("not_utf8", {("DiagnosticReport.presentedForm[0].data", "invalid")}),
    ],
)
def test_a_bad_resource_is_refused_naming_what_is_wrong_and_nothing_is_stored(
    writer, change: str, expected: set[tuple[str, str]]
) -> None:
    denied = AuditEntry.objects.filter(action="denied").count()
    answer = send(client_for(writer), _broken(change))
    detail = problem(answer, 422)
    body = answer.json()
    assert {e["location"] for e in body["errors"]} == {where for where, _ in expected}
    outcome = OperationOutcome.model_validate(body["operation_outcome"])  # a valid resource
    found = {(i.expression[0] if i.expression else "", i.code) for i in outcome.issue}
    assert found == expected
    assert all(i.severity == "error" and i.diagnostics for i in outcome.issue)
    assert CANARY not in answer.content.decode() and CANARY not in detail
    assert Report.objects.count() == 0
    assert AuditEntry.objects.filter(action="denied").count() == denied + 1  # audited once


def test_only_the_writers_and_machines_holding_the_grant_may_send(writer) -> None:
    for role in (Role.PHYSICIAN, Role.VENDOR):
        person = make_user(f"fhir-{role.value}", role=role)
        assert send(client_for(person), resource()).status_code == 403
    assert send(Client(), resource()).status_code in (401, 403)

    def machine(name: str, grants: list[str]) -> Client:
        api = machines.register(None, kind="api_client", name=name, grants=grants)
        _, secret = machines.issue_credential(None, api, name="engine")
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    problem(send(machine("api:no-grant", []), resource("A3")), 403)
    assert Report.objects.count() == 0
    answer = send(machine("api:interface-engine", [RECORD]), resource("A3"))
    assert answer.status_code == 201, answer.content
    assert Report.objects.get().source == "fhir"
