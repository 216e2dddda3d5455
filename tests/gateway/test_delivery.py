"""Sending a queued study to its model's DICOM node: received -> queued -> sent when the node
stores every instance; a node that cannot be reached is tried again, and after the last
attempt the inference fails with the reason.  Running again records nothing twice."""

from __future__ import annotations

import pytest
from pynetdicom import AE, evt
from pynetdicom.presentation import AllStoragePresentationContexts

from radgov.core.models import AuditEntry
from radgov.exams.models import Inference
from radgov.gateway import delivery, endpoints
from radgov.gateway.models import Route
from tests.gateway.conftest import free_port, send_until_spent, set_endpoint


def test_a_queued_study_is_sent_to_the_model_node_once(queued, spool) -> None:
    got: list[str] = []
    node = AE(ae_title="VENDOR")
    for context in AllStoragePresentationContexts:
        node.add_supported_context(context.abstract_syntax)
    handlers = [(evt.EVT_C_STORE, lambda e: got.append(str(e.dataset.SOPInstanceUID)) or 0)]
    port = free_port()
    server = node.start_server(("127.0.0.1", port), block=False, evt_handlers=handlers)
    try:
        set_endpoint(queued, ae_title="VENDOR", host="127.0.0.1", port=port)
        [route] = delivery.send_queued(base=spool)
        assert delivery.send_queued(base=spool) == []  # nothing due any more
    finally:
        server.shutdown()
    assert len(got) == 2 and route.attempts == 1 and route.sent_at is not None
    inference = Inference.objects.get()
    assert [c.to_status for c in inference.history.all()] == ["received", "queued", "sent"]
    assert inference.history.last().actor_name == "task:gateway.send"
    codes = list(
        AuditEntry.objects.filter(object_type="gateway.route").values_list("event_code", flat=True)
    )
    assert codes == ["110102", "110104"]


def test_the_send_is_recorded_before_the_node_is_released(queued, spool, monkeypatch) -> None:
    """A node may answer the moment its association is released (the demo node does): its
    result must find the inference already sent, or it matches no inference (the listener
    test lost that race now and then once the listener stored faster)."""
    seen: list[str] = []
    record_send = delivery.record_send

    def recording(*args, **kwargs):
        route = record_send(*args, **kwargs)
        seen.append(f"recorded {route.inference.status}")
        return route

    monkeypatch.setattr(delivery, "record_send", recording)
    node = AE(ae_title="VENDOR")
    for context in AllStoragePresentationContexts:
        node.add_supported_context(context.abstract_syntax)
    handlers = [
        (evt.EVT_C_STORE, lambda e: seen.append("stored") or 0),
        (evt.EVT_RELEASED, lambda e: seen.append("released")),
    ]
    port = free_port()
    server = node.start_server(("127.0.0.1", port), block=False, evt_handlers=handlers)
    try:
        set_endpoint(queued, ae_title="VENDOR", host="127.0.0.1", port=port)
        [route] = delivery.send_queued(base=spool)
    finally:
        server.shutdown()
    assert seen == ["stored", "stored", "recorded sent", "released"]
    assert route.attempts == 1 and route.sent_at is not None


def test_an_unreachable_node_is_tried_again_then_the_inference_fails(queued, spool) -> None:
    set_endpoint(queued, ae_title="VENDOR", host="127.0.0.1", port=free_port())
    send_until_spent(spool)
    inference = Inference.objects.get()
    assert (inference.status, inference.reason_code) == ("failed", "send_failed")
    assert (
        "did not accept the association" in inference.reason and "(3 attempts)" in inference.reason
    )
    assert Route.objects.get().sent_at is None


def test_an_endpoint_is_refused_naming_the_bad_field(queued) -> None:
    with pytest.raises(PermissionError):
        endpoints.set_endpoint(None, queued, ae_title="VENDOR", host="h", port=104)
    with pytest.raises(endpoints.EndpointError, match="port"):
        set_endpoint(queued, ae_title="VENDOR", host="h", port=70000)
    with pytest.raises(endpoints.EndpointError, match="ae_title"):
        set_endpoint(queued, ae_title="A" * 17, host="h", port=104)
