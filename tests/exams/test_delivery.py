"""Delivering a release (issue 16): to a real pynetdicom PACS, a small MLLP server and a
local FHIR endpoint over localhost; a NAK or an HTTP 500 leaves the delivery failed with
the peer's words and it is retried; an acknowledged message is never sent again."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.exams.models import Inference
from radgov.exams.release import fhir, send
from radgov.exams.services import delivery
from radgov.exams.services import review as gate
from tests.exams.peers import Peers, running_peers
from tests.exams.review_world import accepted_by_trained

pytestmark = pytest.mark.django_db


@pytest.fixture
def peers() -> Iterator[tuple[Peers, dict[str, int]]]:
    with running_peers() as found:
        yield found


def test_a_release_reaches_all_three_peers_after_a_nak_and_a_500_and_is_sent_once(
    people, practice, writer, peers
) -> None:
    state, ports = peers
    delivery.set_destination(
        writer, "dicom_sr", host="127.0.0.1", port=ports["dicom"], called_ae="PACS_TEST"
    )
    delivery.set_destination(writer, "hl7_oru", host="127.0.0.1", port=ports["mllp"])
    delivery.set_destination(writer, "fhir", base_url=f"http://127.0.0.1:{ports['fhir']}/fhir")
    assert delivery.probe_destination(writer, "dicom_sr").delivered
    inferred = Inference.objects.get(status="inferred")
    accepted_by_trained(people[Role.PHYSICIAN], inferred)

    assert delivery.deliver_pending(writer) == 1  # the PACS stores; the RIS NAKs; the EMR fails
    rows = {d.standard: d for d in inferred.deliveries.all()}
    assert (
        rows["hl7_oru"].status == "failed"
        and "refused the message (AE): RIS is busy" in rows["hl7_oru"].answer
    )
    assert rows["fhir"].status == "failed" and "HTTP 500): database offline" in rows["fhir"].answer

    state.ack, state.http_status = "AA", 201
    assert delivery.deliver_pending(writer) == 2
    assert delivery.deliver_pending(writer) == 0  # nothing is sent twice once acknowledged
    assert (len(state.stored), len(state.orus), len(state.bundles)) == (1, 2, 2)
    assert state.orus[0] == state.orus[1]  # the retry is the same message, same control id
    sr = state.stored[0]
    assert (
        sr.SOPInstanceUID == rows["dicom_sr"].message_id
        and sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    )
    report = fhir.read_bundle(json.dumps(state.bundles[1]))
    assert report.entry[-2].resource.conclusion.startswith("Produced by artificial intelligence")
    exports = AuditEntry.objects.filter(object_type="exams.delivery", action="export")
    assert sorted(e.event_code for e in exports) == [
        "110104",
        "110106",
        "110106",
        "110106",
        "110106",
    ]


def test_garbled_answers_are_recorded_in_words() -> None:
    assert send.read_ack(b"not hl7 at all", "C1") == send.Answer(
        False, "the RIS answered with something that is not an HL7 acknowledgement"
    )
    other = b"MSH|^~\\&|RIS|H|R|X|20260301||ACK|A1|P|2.5.1\rMSA|AA|SOMEONE-ELSE"
    assert "another message" in send.read_ack(other, "C1").words
    assert send.read_outcome(502, b"<html>bad gateway</html>").words == (
        "the FHIR server answered HTTP 502 without an OperationOutcome"
    )


def test_destinations_name_what_is_missing_and_only_informatics_sets_them(people, writer) -> None:
    with pytest.raises(gate.ReviewError) as info:
        delivery.set_destination(writer, "dicom_sr", host="", port=0)
    assert {p.field for p in info.value.problems} == {"host", "port", "called_ae"}
    with pytest.raises(gate.ReviewError, match="base_url: must start with http"):
        delivery.set_destination(writer, "fhir", base_url="ftp://emr")
    with pytest.raises(gate.NotPermitted):
        delivery.set_destination(people[Role.PHYSICIAN], "fhir", base_url="https://emr/fhir")


def test_the_task_tries_as_its_own_principal_and_a_peer_that_is_down_is_said_in_words(
    people, practice, writer
) -> None:
    from radgov.exams.tasks import deliver_releases
    from tests.integration.serving import free_port

    delivery.set_destination(writer, "fhir", base_url=f"http://127.0.0.1:{free_port()}/fhir")
    inferred = Inference.objects.get(status="inferred")
    accepted_by_trained(people[Role.PHYSICIAN], inferred)
    assert deliver_releases.call_local() == 0
    fhir_row = inferred.deliveries.get(standard="fhir")
    assert fhir_row.status == "failed" and fhir_row.attempts == 1
    assert fhir_row.answer == "the FHIR server could not be reached (URLError)"
    assert inferred.deliveries.get(standard="hl7_oru").answer.startswith("waiting: no active")
    tried = AuditEntry.objects.get(object_type="exams.delivery", action="export")
    assert tried.actor_name == "task:exams.deliver_releases" and tried.outcome == "failure"
    with pytest.raises(gate.NotPermitted, match="release task deliver"):
        delivery.deliver_pending(people[Role.PHYSICIAN])
