"""Delivering released results (issue 16): the destinations imaging informatics keeps, a
"test connection" for each, and one delivery attempt at a time.

A delivery holds the message built at release; an attempt sends exactly those bytes, so a
retry is the same message (the same SR instance, HL7 control id, FHIR bundle id), and a
delivery once acknowledged is never sent again.  A destination that is down leaves the
delivery failed with the peer's answer in words, for the task to try again (at most
``MAX_ATTEMPTS`` times).  Each attempt is audited with its DICOM audit code: 110104 DICOM
Instances Transferred for the SR, 110106 Export for HL7 and FHIR.

A destination counts its failed attempts in a row; at ``FAILING_AFTER`` it is marked failing
and the governance group's alert queue (the one the monitoring stop rules use) gets an
alert for each deployment whose results are waiting for it.  A delivered attempt clears
both the count and the mark."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from radgov.core import policy
from radgov.core.audit import Action, EventCode, record
from radgov.core.services import service
from radgov.exams import access
from radgov.exams.errors import NotPermitted, Problem
from radgov.exams.models import Delivery, DeliveryStatus, Destination, Standard
from radgov.exams.release import send
from radgov.exams.services.review import ReviewError
from radgov.monitoring.models import Alert, Rule

MAX_ATTEMPTS = 20
FAILING_AFTER = 20
WAITING = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
GRANT = "exams.deliver"
CODES = {
    Standard.DICOM_SR: EventCode.INSTANCES_TRANSFERRED,
    Standard.HL7_ORU: EventCode.EXPORT,
    Standard.FHIR: EventCode.EXPORT,
}
FIELDS = ("host", "port", "called_ae", "calling_ae", "base_url", "tls", "active")


def may_deliver(actor: Any) -> bool:
    return access.may_write(actor) or policy.machine_may(actor, GRANT)


def _send(destination: Destination, delivery: Delivery) -> send.Answer:
    message = delivery.message.reveal()
    if delivery.standard == Standard.DICOM_SR:
        return send.store_sr(destination, message)
    if delivery.standard == Standard.HL7_ORU:
        return send.send_oru(destination, message, delivery.message_id)
    return send.post_bundle(destination, message)


def deliver(actor: Any, delivery: Delivery) -> Delivery:
    """One attempt at ``delivery`` (nothing when it was delivered already)."""
    if not may_deliver(actor):
        raise NotPermitted("only imaging informatics, administrators and the release task deliver")
    return _deliver(actor, delivery.pk)


@service
def _deliver(actor: Any, pk: int) -> Delivery:
    row = Delivery.objects.select_for_update().get(pk=pk)
    if row.status == DeliveryStatus.DELIVERED:
        return row
    destination = (
        Destination.objects.select_for_update().filter(standard=row.standard, active=True).first()
    )
    if destination is None:
        row.answer = "waiting: no active destination is configured for this standard"
        row.save(update_fields=["answer"])
        return row
    answer = _send(destination, row)
    row.attempts += 1
    row.answer = answer.words
    row.status = DeliveryStatus.DELIVERED if answer.delivered else DeliveryStatus.FAILED
    row.delivered_at = timezone.now() if answer.delivered else None
    row.save(update_fields=["attempts", "answer", "status", "delivered_at"])
    _tally(destination, delivered=answer.delivered)
    record(
        action=Action.EXPORT,
        object_type="exams.delivery",
        object_id=str(row.pk),
        outcome="success" if answer.delivered else "failure",
        event_code=CODES[Standard(row.standard)],
        detail={"standard": row.standard, "correction": row.correction, "attempt": row.attempts},
    )
    return row


def _tally(destination: Destination, *, delivered: bool) -> None:
    """Count the destination's failures in a row; the ``FAILING_AFTER``-th marks it failing
    and alerts the governance group; a delivery clears both."""
    if delivered:
        if destination.failures_in_a_row or destination.failing_since:
            destination.failures_in_a_row, destination.failing_since = 0, None
            destination.save(update_fields=["failures_in_a_row", "failing_since"])
        return
    destination.failures_in_a_row += 1
    fields = ["failures_in_a_row"]
    if destination.failures_in_a_row >= FAILING_AFTER and destination.failing_since is None:
        destination.failing_since = timezone.now()
        fields.append("failing_since")
        _alert(destination)
    destination.save(update_fields=fields)


def _alert(destination: Destination) -> None:
    """An alert in the governance queue for each deployment with results waiting for
    ``destination`` (no peer's words: they may quote what was sent)."""
    waiting = Delivery.objects.filter(standard=destination.standard, status__in=WAITING)
    counts: dict[int, int] = {}
    for deployment_id in waiting.values_list("inference__deployment_id", flat=True):
        counts[deployment_id] = counts.get(deployment_id, 0) + 1
    today = timezone.localdate()
    for deployment_id, count in sorted(counts.items()):
        Alert.objects.get_or_create(
            deployment_id=deployment_id,
            rule=Rule.DELIVERY,
            signal_day=today,
            defaults={
                "summary": (
                    f"{FAILING_AFTER} deliveries in a row to the {destination} failed; "
                    f"{count} released result{'s' if count != 1 else ''} of this deployment "
                    "waiting (the answers are on the release settings page)"
                ),
                "detail": {"standard": destination.standard, "waiting": count},
            },
        )


def deliver_pending(actor: Any) -> int:
    """One attempt at every delivery not yet acknowledged (oldest first); how many were
    delivered now."""
    if not may_deliver(actor):
        raise NotPermitted("only imaging informatics, administrators and the release task deliver")
    waiting = Delivery.objects.filter(status__in=WAITING, attempts__lt=MAX_ATTEMPTS).order_by(
        "created_at", "id"
    )
    done = 0
    for pk in list(waiting.values_list("pk", flat=True)):
        done += _deliver(actor, pk).status == DeliveryStatus.DELIVERED
    return done


def _checked_destination(standard: str, values: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    if standard not in Standard.values:
        return [Problem("standard", f"must be one of {', '.join(Standard.values)}")]
    if standard in (Standard.DICOM_SR, Standard.HL7_ORU):
        if not str(values.get("host") or "").strip():
            problems.append(Problem("host", "required"))
        port = values.get("port")
        if not isinstance(port, int) or not 1 <= port <= 65535:
            problems.append(Problem("port", "a TCP port from 1 to 65535"))
    if (
        standard == Standard.DICOM_SR
        and not 1 <= len(str(values.get("called_ae") or "").strip()) <= 16
    ):
        problems.append(Problem("called_ae", "the PACS's AE title, 1 to 16 characters"))
    if standard == Standard.FHIR and not str(values.get("base_url") or "").startswith(
        ("http://", "https://")
    ):
        problems.append(Problem("base_url", "must start with http:// or https://"))
    return problems


@service
def set_destination(actor: Any, standard: str, **values: Any) -> Destination:
    """Record where ``standard``'s releases go (imaging informatics and administrators)."""
    access.require_write(actor)
    unknown = sorted(set(values) - set(FIELDS))
    problems = [Problem(name, "is not a destination setting") for name in unknown]
    problems += _checked_destination(standard, values)
    if problems:
        raise ReviewError(problems)
    row = Destination.objects.select_for_update().filter(standard=standard).first()
    row = row or Destination(standard=standard)
    for name, value in values.items():
        setattr(row, name, value.strip() if isinstance(value, str) else value)
    row.updated_by = actor if getattr(actor, "pk", None) else None
    row.save()
    return row


def probe_destination(actor: Any, standard: str) -> send.Answer:
    """C-ECHO the PACS, an MLLP round trip with the RIS (a test message, its ACK read), or
    read the FHIR server's metadata."""
    access.require_write(actor)
    destination = Destination.objects.filter(standard=standard).first()
    if destination is None:
        raise ReviewError([Problem("standard", "no destination is configured for it")])
    if standard == Standard.DICOM_SR:
        answer = send.echo(destination)
    elif standard == Standard.HL7_ORU:
        answer = send.mllp_round_trip(destination)
    else:
        answer = send.metadata(destination)
    record(
        action=Action.EXECUTE,
        object_type="exams.destination",
        object_id=standard,
        outcome="success" if answer.delivered else "failure",
        event_code=EventCode.APPLICATION_ACTIVITY,
        actor=actor,
        detail={"what": "test connection", "answer": answer.words[:200]},
    )
    return answer
