"""Results polled back from a STOW-RS model endpoint (issue 14, "To the model and back"): a
real Orthanc with its DICOMweb plugin plays the vendor that only speaks DICOMweb.  radgov
stows the study; the vendor's SR is stored into that Orthanc with dcmtk storescu; the poll
finds it with QIDO-RS (PS3.18 10.6), retrieves it with WADO-RS (PS3.18 10.4) and the
inference becomes ``inferred`` with the SR's score.  A poll that finds nothing leaves the
inference ``sent``; the timeout still fails it; a malformed search answer is a failed attempt
with its reason and nothing stored; running again retrieves nothing twice."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone

from radgov.core import machines
from radgov.core.models import AuditEntry
from radgov.exams.models import Inference
from radgov.gateway import delivery, demo_node, local, polling, results, wado
from radgov.gateway.models import Instance, Route
from tests.exams.peers import DICOMWEB_PLUGIN, running_orthanc
from tests.gateway.conftest import STUDY, set_endpoint, store
from tests.gateway.dicomweb_fake import fake_dicomweb
from tests.gateway.test_stow import BASIC, PASSWORD, USER

pytestmark = pytest.mark.django_db
LATER = dt.timedelta(minutes=2)  # past the default poll interval (60 s)
SR = "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR Storage


def vendor_sr(tmp_path: Path, answer: local.Answer | local.Rejection) -> Path:
    """The vendor's result for the study, as a Part 10 file."""
    sr = demo_node.result_sr(STUDY, demo_node.items_of(answer))
    sr.Manufacturer = "vendor AI (test)"
    path = tmp_path / "result.dcm"
    sr.save_as(path, enforce_file_format=True)
    return path


def storescu(port: int, path: Path) -> None:
    subprocess.run(  # noqa: S603 - fixed arguments, a test file
        ["storescu", "-aet", "VENDOR_AI", "-aec", "ORTHANC", "127.0.0.1", str(port), str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )


def orthanc_with_dicomweb(tmp_path: Path):  # type: ignore[no-untyped-def]
    return running_orthanc(
        tmp_path / "orthanc",
        Plugins=[DICOMWEB_PLUGIN],
        DicomWeb={"Enable": True, "Root": "/dicom-web/"},
        AuthenticationEnabled=True,
        RegisteredUsers={USER: PASSWORD},
    )


@pytest.mark.peer("orthanc", "orthanc-dicomweb", "storescu")
def test_an_sr_stored_in_the_vendors_dicomweb_service_is_polled_back(
    queued, spool, tmp_path
) -> None:
    (tmp_path / "orthanc").mkdir()
    with orthanc_with_dicomweb(tmp_path) as (base, dicom_port):
        set_endpoint(queued, kind="stow", url=f"{base}/dicom-web/studies", credentials=BASIC)
        [route] = delivery.send_queued(base=spool)
        assert route.sent_at is not None
        # the study radgov stowed is all the service holds: nothing to take
        [nothing] = polling.poll_results(base=spool)
        assert (nothing.problem, nothing.retrieved) == (None, 0)
        assert Inference.objects.get().status == "sent"
        storescu(dicom_port, vendor_sr(tmp_path, local.Answer(score=0.83, call="positive")))
        # asked within the poll interval: not asked again yet
        assert polling.poll_results(base=spool) == []
        [polled] = polling.poll_results(now=timezone.now() + LATER, base=spool)
        again = polling.poll_results(now=timezone.now() + 2 * LATER, base=spool)
    assert (polled.problem, polled.retrieved) == (None, 1)
    inference = Inference.objects.get()
    assert (inference.status, inference.score, inference.call) == ("inferred", 0.83, "positive")
    assert [c.to_status for c in inference.history.all()] == [
        "received",
        "queued",
        "sent",
        "inferred",
    ]
    assert inference.history.last().actor_name == "task:gateway.results"
    [result] = Instance.objects.filter(is_result=True)
    assert result.sop_class_uid == "1.2.840.10008.5.1.4.1.1.88.33"
    assert (spool / result.file_ref).read_bytes()[128:132] == b"DICM"
    [obj] = inference.results.all()
    assert obj.sha256 == result.sha256
    assert again == []  # inferred: nothing waits any more
    transfer = AuditEntry.objects.get(
        object_type="gateway.instance", action="create", actor_name="task:gateway.results"
    )
    assert transfer.event_code == "110104"
    assert json.loads(transfer.detail_json)["retrieved_from"] == f"{base}/dicom-web/studies"
    trail = json.dumps(list(AuditEntry.objects.values("detail_json", "changes_json")))
    assert PASSWORD not in trail and BASIC not in trail


@pytest.mark.peer("orthanc", "orthanc-dicomweb", "storescu")
def test_a_result_retrieved_again_is_taken_once(queued, spool, tmp_path) -> None:
    (tmp_path / "orthanc").mkdir()
    with orthanc_with_dicomweb(tmp_path) as (base, dicom_port):
        url = f"{base}/dicom-web/studies"
        set_endpoint(queued, kind="stow", url=url, credentials=BASIC)
        [route] = delivery.send_queued(base=spool)
        storescu(dicom_port, vendor_sr(tmp_path, local.Rejection("slices too thick")))
        [found] = [
            f
            for f in wado.search(url, STUDY, authorization=BASIC, timeout=5)
            if f.sop_class_uid == SR
        ]
        retrieved = wado.retrieve(
            url, STUDY, found, authorization=BASIC, timeout=5, max_bytes=2**20
        )
    # two passes (two listeners) retrieving the same result: stored and taken once
    with machines.acting_as(machines.task_principal(results.RESULTS_TASK)) as ctx:
        first = polling.take_retrieved(ctx.actor, route.pk, retrieved, base=spool)
        second = polling.take_retrieved(ctx.actor, route.pk, retrieved, base=spool)
    assert first is not None and second is None
    inference = Inference.objects.get()
    assert (inference.status, inference.reason_code) == ("rejected", "vendor_rejected")
    assert inference.vendor_reason == "slices too thick"
    assert Instance.objects.filter(is_result=True).count() == inference.results.count() == 1
    assert inference.history.count() == 4


@pytest.mark.peer("orthanc", "orthanc-dicomweb")
def test_a_poll_that_finds_nothing_leaves_it_sent_and_the_timeout_still_fails_it(
    queued, spool, tmp_path
) -> None:
    (tmp_path / "orthanc").mkdir()
    with orthanc_with_dicomweb(tmp_path) as (base, _):
        set_endpoint(
            queued,
            kind="stow",
            url=f"{base}/dicom-web/studies",
            credentials=BASIC,
            result_minutes=5,
        )
        [route] = delivery.send_queued(base=spool)
        for minutes in (0, 2, 4):
            [polled] = polling.poll_results(
                now=route.sent_at + dt.timedelta(minutes=minutes), base=spool
            )
            assert (polled.problem, polled.retrieved) == (None, 0)
    assert Inference.objects.get().status == "sent"
    [late] = delivery.time_out(now=route.sent_at + dt.timedelta(minutes=5))
    inference = Inference.objects.get()
    assert (inference.status, inference.reason_code) == ("failed", "timeout")
    assert polling.poll_results(now=route.sent_at + dt.timedelta(minutes=9), base=spool) == []


@pytest.mark.parametrize(
    ("search", "words"),
    [
        ((200, wado.SEARCH_TYPE, b"not json"), "answered a search with invalid JSON"),
        (
            (200, wado.SEARCH_TYPE, b'{"00080018": {}}'),
            "answered a search with something else than a list",
        ),
        (
            (
                200,
                wado.SEARCH_TYPE,
                b'[{"00080016": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.88.33"]}}]',
            ),
            "answered a search whose instance 1 lacks its instance or SOP class UID",
        ),
        ((200, "text/html", b"<html>login</html>"), "answered text/html"),
        ((500, wado.SEARCH_TYPE, b"[]"), "answered HTTP 500"),
        ((200, wado.SEARCH_TYPE, b"[" + b" " * (5 * 2**20) + b"]"), "answered more than 4096 KB"),
    ],
)
def test_a_malformed_search_answer_is_a_failed_attempt_and_stores_nothing(
    queued, spool, search, words
) -> None:
    with fake_dicomweb(search=search) as url:
        set_endpoint(queued, kind="stow", url=url, timeout_seconds=5)
        delivery.send_queued(base=spool)
        stored = Instance.objects.count()
        [polled] = polling.poll_results(base=spool)
    assert polled.problem == f"the model's STOW-RS service at 127.0.0.1 {words}"
    assert polled.retrieved == 0 and Instance.objects.count() == stored
    route = Route.objects.get()
    assert route.poll_problem == polled.problem and route.polled_at is not None
    assert Inference.objects.get().status == "sent"


@pytest.mark.parametrize(
    "search",
    [
        (200, "application/json", b"[]"),
        (204, wado.SEARCH_TYPE, b""),
        (200, wado.SEARCH_TYPE, b"[]"),
    ],
)
def test_an_empty_search_answer_is_nothing_to_take(queued, spool, search) -> None:
    with fake_dicomweb(search=search) as url:
        set_endpoint(queued, kind="stow", url=url, timeout_seconds=5)
        delivery.send_queued(base=spool)
        [polled] = polling.poll_results(base=spool)
    assert (polled.problem, polled.retrieved) == (None, 0)
    assert Route.objects.get().poll_problem == "" and Inference.objects.get().status == "sent"


def test_only_result_series_are_searched_for_instances(queued, spool) -> None:
    """A series of images (Modality CT) is not listed: were it, the stand-in's malformed
    instance search would be a failed attempt."""
    ct_series = [{"0020000E": uid("1.2.3"), "00080060": {"vr": "CS", "Value": ["CT"]}}]
    with fake_dicomweb(
        series=(200, wado.SEARCH_TYPE, json.dumps(ct_series).encode()),
        search=(200, wado.SEARCH_TYPE, b"not json"),
    ) as url:
        set_endpoint(queued, kind="stow", url=url, timeout_seconds=5)
        delivery.send_queued(base=spool)
        [polled] = polling.poll_results(base=spool)
    assert (polled.problem, polled.retrieved) == (None, 0)


def test_a_series_without_a_uid_is_a_failed_attempt(queued, spool) -> None:
    series = [{"00080060": {"vr": "CS", "Value": ["SR"]}}]
    with fake_dicomweb(series=(200, wado.SEARCH_TYPE, json.dumps(series).encode())) as url:
        set_endpoint(queued, kind="stow", url=url, timeout_seconds=5)
        delivery.send_queued(base=spool)
        [polled] = polling.poll_results(base=spool)
    assert polled.problem == (
        "the model's STOW-RS service at 127.0.0.1 answered a search whose series 1 has no UID"
    )


def test_a_result_radgov_already_holds_is_not_retrieved(queued, peer, spool) -> None:
    sr = demo_node.result_sr(STUDY, demo_node.items_of(local.Answer(score=0.5)))
    listed = [
        {"0020000E": uid(str(sr.SeriesInstanceUID)), "00080018": uid(str(sr.SOPInstanceUID))}
        | {"00080016": uid(SR)}
    ]
    # asked for that instance, the stand-in would answer 404: a failed attempt
    with fake_dicomweb(search=(200, wado.SEARCH_TYPE, json.dumps(listed).encode())) as url:
        set_endpoint(queued, kind="stow", url=url, timeout_seconds=5)
        delivery.send_queued(base=spool)
        store(peer, sr, spool)  # the same result, pushed to the listener first
        stored = Instance.objects.count()
        [polled] = polling.poll_results(base=spool)
    assert (polled.problem, polled.retrieved) == (None, 0)
    assert Instance.objects.count() == stored


def uid(value: str) -> dict[str, object]:
    return {"vr": "UI", "Value": [value]}


def multipart(part: bytes) -> bytes:
    return b"--b\r\nContent-Type: application/dicom\r\n\r\n" + part + b"\r\n--b--\r\n"


def part10_of_another_sr(tmp_path: Path) -> bytes:
    return vendor_sr(tmp_path, local.Answer(score=0.5)).read_bytes()


@pytest.mark.parametrize(
    ("instance", "words"),
    [
        (b"plain bytes", "an instance that is not multipart"),
        (
            b"--b\r\nContent-Type: text/html\r\n\r\n<html/>\r\n--b--",
            "an instance that is not application/dicom",
        ),
        (multipart(b"not dicom"), "an instance that is not a DICOM file"),
        (None, "another instance than the one asked for"),
    ],
)
def test_a_bad_retrieved_instance_is_a_failed_attempt_and_stores_nothing(
    queued, spool, tmp_path, instance, words
) -> None:
    listed = [{"0020000E": uid("1.2.3"), "00080018": uid("1.2.3.4"), "00080016": uid(SR)}]
    body = instance if instance is not None else multipart(part10_of_another_sr(tmp_path))
    with fake_dicomweb(
        search=(200, wado.SEARCH_TYPE, json.dumps(listed).encode()),
        instance=(200, wado.INSTANCE_TYPE + "; boundary=b", body),
    ) as url:
        set_endpoint(queued, kind="stow", url=url, timeout_seconds=5)
        delivery.send_queued(base=spool)
        stored = Instance.objects.count()
        [polled] = polling.poll_results(base=spool)
    assert polled.problem == f"the model's STOW-RS service at 127.0.0.1 answered {words}"
    assert Instance.objects.count() == stored and Inference.objects.get().status == "sent"
