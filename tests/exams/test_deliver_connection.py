"""A destination's health (issue 16): "test connection" for the RIS is a full MLLP round
trip (an NMQ^N01 sent to a small MLLP server on localhost, its ACK read), and after 20
failed deliveries in a row a destination is marked failing and the governance group's
alert queue (monitoring's) gets an alert; a delivered attempt clears the mark."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator

import pytest
from django.urls import reverse
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.exams.models import Destination, Inference
from radgov.exams.services import delivery
from radgov.gateway import mllp
from radgov.monitoring.models import Alert
from tests.exams.review_world import accepted_by_trained
from tests.factories import client_for
from tests.integration.serving import free_port

pytestmark = pytest.mark.django_db


class Ris:
    """A small MLLP server: keeps what it received and answers as told (``{id}`` is the
    received message's control id)."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.answer = "MSH|^~\\&|RIS|HOSP|RADGOV||20260301||ACK|A1|P|2.5.1\rMSA|AA|{id}"


@pytest.fixture
def ris() -> Iterator[tuple[Ris, int]]:
    state = Ris()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            text = mllp.read_message(self.request, mllp.FrameReader()).decode()
            state.received.append(text)
            control = text.split("\r")[0].split("|")[9]
            self.request.sendall(mllp.frame(state.answer.replace("{id}", control).encode()))

    server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_test_connection_sends_a_test_message_and_reads_its_ack(writer, ris) -> None:
    state, port = ris
    delivery.set_destination(writer, "hl7_oru", host="127.0.0.1", port=port)
    answer = delivery.probe_destination(writer, "hl7_oru")
    assert answer == delivery.send.Answer(
        True, "MLLP round trip: the RIS acknowledged the test message (AA)"
    )
    sent = parse_message(state.received[0], validation_level=VALIDATION_LEVEL.STRICT)
    assert sent.msh.msh_9.to_er7() == "NMQ^N01^NMQ_N01"  # a query, not a result
    state.answer = (
        "MSH|^~\\&|RIS|HOSP|RADGOV||20260301||ACK|A2|P|2.5.1\rMSA|AR|{id}|unsupported type"
    )
    refused = delivery.probe_destination(writer, "hl7_oru")
    assert refused.delivered and refused.words.endswith("(AR): unsupported type")
    tested = AuditEntry.objects.filter(object_type="exams.destination", action="execute")
    assert [e.outcome for e in tested] == ["success", "success"]


def test_test_connection_fails_on_a_garbled_answer_another_ack_or_no_ris(writer, ris) -> None:
    state, port = ris
    delivery.set_destination(writer, "hl7_oru", host="127.0.0.1", port=port)
    state.answer = "HTTP/1.1 200 OK"
    assert delivery.probe_destination(writer, "hl7_oru") == delivery.send.Answer(
        False, "the RIS answered with something that is not an HL7 acknowledgement"
    )
    state.answer = "MSH|^~\\&|RIS|HOSP|RADGOV||20260301||ACK|A3|P|2.5.1\rMSA|AA|SOMEONE-ELSE"
    assert "another message" in delivery.probe_destination(writer, "hl7_oru").words
    delivery.set_destination(writer, "hl7_oru", host="127.0.0.1", port=free_port())
    down = delivery.probe_destination(writer, "hl7_oru")
    assert not down.delivered and down.words.startswith("the RIS could not be reached")
    page = client_for(writer).post(
        reverse("exams:release_settings"), {"action": "test", "standard": "hl7_oru"}
    )
    assert "Test of hl7_oru: the RIS could not be reached" in page.content.decode()


def _released(people, writer) -> Inference:  # type: ignore[no-untyped-def]
    inferred = Inference.objects.get(status="inferred")
    accepted_by_trained(people[Role.PHYSICIAN], inferred)
    return inferred


def test_twenty_failures_in_a_row_mark_the_destination_failing_and_alert_governance(
    people, practice, writer, ris
) -> None:
    state, port = ris
    state.answer = "MSH|^~\\&|RIS|HOSP|RADGOV||20260301||ACK|A1|P|2.5.1\rMSA|AE|{id}|busy"
    delivery.set_destination(writer, "hl7_oru", host="127.0.0.1", port=port)
    released = _released(people, writer)
    for _ in range(delivery.FAILING_AFTER - 1):
        delivery.deliver_pending(writer)
    ris_row = Destination.objects.get(standard="hl7_oru")
    assert ris_row.failures_in_a_row == 19 and ris_row.failing_since is None
    assert not Alert.objects.exists()
    delivery.deliver_pending(writer)
    ris_row.refresh_from_db()
    assert ris_row.failures_in_a_row == 20 and ris_row.failing_since is not None
    alert = Alert.objects.get()
    assert (alert.deployment_id, alert.rule, alert.closed_at) == (
        released.deployment_id,
        "delivery",
        None,
    )
    assert "20 deliveries in a row to the HL7 v2.5.1 ORU^R01 to the RIS failed" in alert.summary
    assert "busy" not in alert.summary  # the peer's words stay on the release settings page
    assert len(state.received) == 20
    assert delivery.deliver_pending(writer) == 0  # at most 20 attempts: nothing more is sent
    shown = client_for(writer).get(reverse("exams:release_settings")).content.decode()
    assert "20 deliveries in a row failed; the governance group was alerted" in shown
    alerts = client_for(people[Role.ADMINISTRATOR]).get("/api/monitoring/alerts").json()
    assert [a["rule"] for a in alerts] == ["delivery"]

    state.answer = "MSH|^~\\&|RIS|HOSP|RADGOV||20260301||ACK|A1|P|2.5.1\rMSA|AA|{id}"
    delivery.deliver(writer, released.deliveries.get(standard="hl7_oru"))
    ris_row.refresh_from_db()
    assert (ris_row.failures_in_a_row, ris_row.failing_since) == (0, None)
    assert Alert.objects.count() == 1  # the alert stays until a member closes it


@service
def _failed_before(destination: Destination, times: int) -> None:
    destination.failures_in_a_row = times
    destination.save()


def test_a_delivery_between_failures_starts_the_count_again(people, practice, writer, ris) -> None:
    state, port = ris
    delivery.set_destination(writer, "hl7_oru", host="127.0.0.1", port=port)
    ris_row = Destination.objects.get(standard="hl7_oru")
    _failed_before(ris_row, delivery.FAILING_AFTER - 1)  # as after 19 failed earlier releases
    _released(people, writer)
    assert delivery.deliver_pending(writer) == 1
    ris_row.refresh_from_db()
    assert (ris_row.failures_in_a_row, ris_row.failing_since) == (0, None)
    assert not Alert.objects.exists()
