"""A model's result coming back: an SR from the deployment's node for a study it was sent
gives the inference its score, confidence, call and findings (sent -> inferred) and a result
object; a REJECTED status rejects it with the vendor's reason; an SR from anyone else, or
the same SR again, changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from pydicom.dataset import Dataset
from pydicom.uid import ComprehensiveSRStorage

from radgov.core import machines
from radgov.core.context import ActingContext, acting_as
from radgov.exams.models import Inference, ResultObject
from radgov.gateway import delivery, endpoints, listener, results, services
from radgov.gateway.demo_node import _item, result_sr
from radgov.gateway.models import Route, Study
from tests.gateway.conftest import STUDY, as_sent, ct, deployment, new_uid, store
from tests.gateway.test_store import _Event


def sr(*items: Dataset) -> Dataset:
    return result_sr(STUDY, list(items))


SCORED = (
    _item("NUM", "Score", 0.87),
    _item("NUM", "Confidence", 0.9),
    _item("TEXT", "Call", "positive"),
    _item("CODE", "Finding", "intracranial hemorrhage"),
    _item("TEXT", "Model version", "2.0.3"),
)


@pytest.fixture
def sent(peer, spool):  # type: ignore[no-untyped-def]
    """A head CT queued for HeadTriage, sent to its node VENDOR; VENDOR is a peer too."""
    head = deployment("HeadTriage", {"body_parts": ["HEAD"]})
    store(peer, ct(new_uid()), spool)
    later = timezone.now() + dt.timedelta(seconds=31)
    services.complete_quiet_studies(now=later, quiet_seconds=30, base=spool)
    with acting_as(ActingContext(channel="cli")):
        endpoints.set_endpoint(None, head, ae_title="VENDOR", host="127.0.0.1", port=104)
    sender = machines.task_principal(delivery.SEND_TASK)
    delivery.record_send(sender, Route.objects.get().pk, None, detail={})
    return machines.register(
        None,
        kind="dicom_peer",
        name="dicom:VENDOR",
        ae_title="VENDOR",
        address="127.0.0.1",
        grants=["gateway.store"],
    )


def take(vendor, ds: Dataset, spool, *, calling: str = "VENDOR"):  # type: ignore[no-untyped-def]
    received = store(vendor, ds, spool)
    principal = machines.task_principal(results.RESULTS_TASK)
    with machines.acting_as(principal):
        return results.take_result(
            principal,
            received.instance,
            sop_uid=str(ds.SOPInstanceUID),
            calling_ae=calling,
            base=spool,
        )


def test_an_sr_from_the_models_node_gives_the_inference_its_outputs(sent, spool) -> None:
    answer = sr(*SCORED)
    inference = take(sent, answer, spool)
    assert inference is not None and inference.status == "inferred"
    assert (inference.score, inference.confidence, inference.call) == (0.87, 0.9, "positive")
    assert inference.findings == [{"label": "intracranial hemorrhage"}]
    assert inference.model_version == "2.0.3"
    assert [c.to_status for c in inference.history.all()] == [
        "received",
        "queued",
        "sent",
        "inferred",
    ]
    assert inference.history.last().actor_name == "task:gateway.results"
    assert ResultObject.objects.get().kind == "SR"
    assert Study.objects.get().completed_at is not None  # a result does not reopen the study
    assert take(sent, answer, spool) is None  # the same SR again: no inference waits for it
    assert ResultObject.objects.count() == 1 and inference.history.count() == 4


def test_a_rejection_from_the_models_node_rejects_with_the_vendors_reason(sent, spool) -> None:
    answer = sr(_item("TEXT", "Status", "REJECTED"), _item("TEXT", "Reason", "motion artifact"))
    inference = take(sent, answer, spool)
    assert (inference.status, inference.reason_code) == ("rejected", "vendor_rejected")
    assert (inference.vendor_status, inference.vendor_reason) == ("REJECTED", "motion artifact")


def test_an_sr_from_another_node_or_an_image_is_no_result(sent, spool) -> None:
    assert take(sent, sr(*SCORED), spool, calling="STRANGER") is None
    assert take(sent, ct(new_uid()), spool) is None
    assert Inference.objects.get().status == "sent" and not ResultObject.objects.exists()


def test_the_listener_matches_a_stored_result(sent, spool, monkeypatch) -> None:
    monkeypatch.setattr(listener, "close_old_connections", lambda: None)
    server = listener.Listener(port=0, base=spool)
    event = _Event(sent, as_sent(sr(*SCORED)))
    event.assoc.requestor.ae_title = "VENDOR"
    event.request.AffectedSOPClassUID = ComprehensiveSRStorage
    assert server._on_store(event) == listener.SUCCESS
    assert Inference.objects.get().status == "inferred"


def test_a_sent_study_without_a_result_in_time_fails(sent) -> None:
    route = Route.objects.get()
    assert delivery.time_out(now=route.sent_at + dt.timedelta(minutes=59)) == []
    assert [r.pk for r in delivery.time_out(now=route.sent_at + dt.timedelta(minutes=60))] == [
        route.pk
    ]
    inference = Inference.objects.get()
    assert (inference.status, inference.reason_code) == ("failed", "timeout")
    assert "No result within 60 minutes of sending." in inference.reason
    assert delivery.time_out(now=route.sent_at + dt.timedelta(days=1)) == []
