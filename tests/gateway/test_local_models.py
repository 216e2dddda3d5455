"""Local Python model endpoints (issue 14, "To the model and back"): a model registered by
name (entry point group ``radgov.models``, or ``RADGOV_LOCAL_MODELS``) is run on a queued
study by the send task; its answer is made into an SR, recorded as the inference's result
object with its outputs, exactly as a DICOM node's SR is; a rejection carries its reason; a
model that fails is tried again and then fails the inference with the reason; running again
does nothing twice."""

from __future__ import annotations

import datetime as dt
from importlib.metadata import EntryPoint

import pydicom
import pytest
from django.utils import timezone

from radgov.exams.models import Inference
from radgov.gateway import delivery, endpoints, local, services
from radgov.gateway import spool as spool_files
from radgov.gateway.results import read_sr
from tests.gateway.conftest import (
    ct,
    deployment,
    new_uid,
    send_until_spent,
    set_endpoint,
    store,
)

pytestmark = pytest.mark.django_db
HERE = "tests.gateway.test_local_models"


def broken(images):  # type: ignore[no-untyped-def]
    return 1 / 0


def odd(images):  # type: ignore[no-untyped-def]
    return {"score": 0.9}


@pytest.fixture(autouse=True)
def _models(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(
        "RADGOV_LOCAL_MODELS",
        f"simulator=radgov.gateway.demo_node:judge, broken={HERE}:broken, odd={HERE}:odd",
    )


def test_the_simulator_answers_through_the_same_result_records(queued, spool) -> None:
    set_endpoint(queued, kind="python", model="simulator")
    [route] = delivery.send_queued(base=spool)
    assert delivery.send_queued(base=spool) == []  # answered: nothing due any more
    inference = Inference.objects.get()
    assert [c.to_status for c in inference.history.all()] == [
        "received",
        "queued",
        "sent",
        "inferred",
    ]
    # the test images: 0..63 in 12 stored bits, so the simulated score is 31.5 / 4095; two
    # images, so the confidence is 1 - 1/3
    assert inference.score == pytest.approx(0.0077) and inference.call == "negative"
    assert inference.confidence == pytest.approx(0.6667) and inference.model_version == "demo-1.0"
    [result] = inference.results.all()
    sr = pydicom.dcmread(spool_files.path_of(result.file_ref, base=spool))
    assert (result.kind, str(sr.StudyInstanceUID)) == ("SR", "1.2.826.0.1.3680043.10.99.8001")
    outputs, status, _ = read_sr(sr)
    assert (outputs.score, status) == (inference.score, "")
    assert route.attempts == 1 and route.sent_at is not None


def test_a_rejection_carries_the_models_reason(peer, spool) -> None:
    head = deployment("HeadTriage", {"body_parts": ["HEAD"]})
    store(peer, ct(new_uid(), SliceThickness="7.5"), spool)
    later = timezone.now() + dt.timedelta(seconds=31)
    services.complete_quiet_studies(now=later, quiet_seconds=30, base=spool)
    set_endpoint(head, kind="python", model="simulator")
    delivery.send_queued(base=spool)
    inference = Inference.objects.get()
    assert (inference.status, inference.reason_code) == ("rejected", "vendor_rejected")
    assert inference.vendor_reason == "slices thicker than 5 mm"
    assert inference.results.count() == 1


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("broken", "the local model broken stopped with ZeroDivisionError"),
        ("odd", "the local model odd answered neither an Answer nor a Rejection"),
    ],
)
def test_a_failing_model_is_tried_again_then_fails_the_inference(
    queued, spool, model, words
) -> None:
    set_endpoint(queued, kind="python", model=model)
    send_until_spent(spool)
    inference = Inference.objects.get()
    assert (inference.status, inference.reason_code) == ("failed", "send_failed")
    assert words in inference.reason and "(3 attempts)" in inference.reason
    assert not inference.results.exists()


def test_installed_models_come_from_the_entry_point_group(monkeypatch) -> None:
    installed = EntryPoint("packaged", "radgov.gateway.demo_node:judge", local.GROUP)
    seen = []

    def entry_points(*, group: str) -> list[EntryPoint]:
        seen.append(group)
        return [installed]

    monkeypatch.setattr(local.metadata, "entry_points", entry_points)
    assert local.registered()["packaged"] == "radgov.gateway.demo_node:judge"
    assert seen == ["radgov.models"]
    assert local.load("packaged").__name__ == "judge"


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("nobody", "model: no local model named 'nobody' is registered"),
        ("", "model: no local model named '' is registered"),
    ],
)
def test_an_unknown_model_is_refused_and_changes_nothing(queued, model, words) -> None:
    with pytest.raises(endpoints.EndpointError, match=words):
        set_endpoint(queued, kind="python", model=model)
    assert not hasattr(queued, "gateway_endpoint") or queued.gateway_endpoint is None


def test_a_model_that_cannot_be_loaded_is_named(monkeypatch) -> None:
    monkeypatch.setenv("RADGOV_LOCAL_MODELS", "gone=radgov.no_such_module:run")
    with pytest.raises(local.LocalModelError, match=r"gone \(radgov.no_such_module:run\)"):
        local.load("gone")
