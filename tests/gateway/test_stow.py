"""A DICOMweb STOW-RS model endpoint (issue 14, "To the model and back"): a queued study is
POSTed as multipart/related application/dicom to a real Orthanc with its DICOMweb plugin,
with the credentials kept encrypted (never in the audit trail); the STOW answer's Failed SOP
Sequence and Warning Reasons (PS3.18 10.5.3) give the inference's status and reason; a
service that never answers fails the inference after the bounded attempts, with the reason;
running again sends nothing twice."""

from __future__ import annotations

import base64
import json
import socket
import tracemalloc
import urllib.request
from pathlib import Path

import pytest

from radgov.core.models import AuditEntry
from radgov.exams.models import Inference
from radgov.gateway import delivery, endpoints, stow
from radgov.gateway.models import Endpoint, Route
from tests.exams.peers import DICOMWEB_PLUGIN, running_orthanc
from tests.gateway.conftest import MRN, free_port, send_until_spent, set_endpoint
from tests.gateway.dicomweb_fake import fake_dicomweb

pytestmark = pytest.mark.django_db
USER, PASSWORD = "radgov-gw", "stow-S3cret-9f2"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def orthanc_get(url: str) -> object:
    request = urllib.request.Request(url, headers={"Authorization": BASIC})  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - localhost
        return json.loads(answer.read())


@pytest.mark.peer("orthanc", "orthanc-dicomweb")
def test_a_study_routed_to_stow_rs_is_stored_in_orthanc(queued, spool, tmp_path) -> None:
    with running_orthanc(
        tmp_path,
        Plugins=[DICOMWEB_PLUGIN],
        DicomWeb={"Enable": True, "Root": "/dicom-web/"},
        AuthenticationEnabled=True,
        RegisteredUsers={USER: PASSWORD},
    ) as (base, _):
        url = f"{base}/dicom-web/studies"
        set_endpoint(queued, kind="stow", url=url, credentials="Basic d3Jvbmc6d3Jvbmc=")
        [refused] = delivery.send_queued(base=spool)  # wrong credentials: Orthanc says 401
        assert refused.attempts == 1 and Inference.objects.get().status == "queued"
        set_endpoint(queued, kind="stow", url=url, credentials=BASIC)
        [route] = delivery.send_queued(base=spool)
        assert delivery.send_queued(base=spool) == []  # sent: nothing due any more
        studies = orthanc_get(f"{base}/studies?expand")
    assert route.attempts == 2 and route.sent_at is not None
    [study] = studies
    assert study["MainDicomTags"]["StudyInstanceUID"] == "1.2.826.0.1.3680043.10.99.8001"
    assert len(study["Series"]) == 1 and study["PatientMainDicomTags"]["PatientID"] == MRN
    inference = Inference.objects.get()
    assert [c.to_status for c in inference.history.all()] == ["received", "queued", "sent"]
    trail = json.dumps(list(AuditEntry.objects.values("detail_json", "changes_json")))
    assert PASSWORD not in trail and BASIC not in trail and "d3Jvbmc6" not in trail
    assert "<changed>" in trail  # the credentials' change is recorded, not their value
    assert Endpoint.objects.get().authorization == BASIC


# PS3.18 10.5.3 Store Instances Response: each stored instance in the Referenced SOP Sequence
# (0008,1199), with a Warning Reason (0008,1196) when coerced; each refused one in the Failed
# SOP Sequence (0008,1198) with its Failure Reason (0008,1197), e.g. 0xA700 out of resources,
# 0xC122 referenced SOP class not supported (PS3.18 Table I.2-1).
def _item(tag: str, code: int) -> dict[str, object]:
    return {tag: {"vr": "US", "Value": [code]}}


def _answer(**sequences: list[dict[str, object]]) -> bytes:
    tags = {"failed": stow.FAILED_SOP_SEQUENCE, "referenced": stow.REFERENCED_SOP_SEQUENCE}
    return json.dumps(
        {tags[name]: {"vr": "SQ", "Value": items} for name, items in sequences.items()}
    ).encode()


def test_the_stow_answer_gives_the_status_and_the_reason() -> None:
    assert stow.judge(200, _answer(referenced=[{}, {}]), sent=2, host="h") == stow.Stowed(None)
    warned = stow.judge(202, _answer(referenced=[{}, _item("00081196", 0xB000)]), sent=2, host="h")
    assert warned == stow.Stowed(None, ("instance 2: warning 0xB000",))
    some = stow.judge(
        202,
        _answer(referenced=[{}], failed=[_item("00081197", 0xA700), _item("00081197", 0xC122)]),
        sent=3,
        host="h",
    )
    assert some.problem == (
        "the model's STOW-RS service at h did not store 2 of 3 instances (HTTP 202) "
        "(failure reason 0xA700, 0xC122)"
    )
    none = stow.judge(409, b"", sent=3, host="h")
    assert (
        none.problem == "the model's STOW-RS service at h did not store 3 of 3 instances (HTTP 409)"
    )
    assert stow.judge(503, b"<html>busy</html>", sent=1, host="h").problem == (
        "the model's STOW-RS service at h refused the study (HTTP 503)"
    )


def test_a_service_that_never_answers_fails_the_inference_after_the_attempts(queued, spool) -> None:
    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/dicom-web/studies"
        set_endpoint(queued, kind="stow", url=url, timeout_seconds=1)
        send_until_spent(spool)
    inference = Inference.objects.get()
    assert (inference.status, inference.reason_code) == ("failed", "send_failed")
    assert inference.reason == (
        "The study could not be sent to the model. the model's STOW-RS service at 127.0.0.1 "
        "did not answer within 1 s (3 attempts)"
    )
    assert Route.objects.get().sent_at is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://pacs/studies", "http:// or https://"),
        ("https://user:pw@pacs/studies", "no credentials in the address"),
        ("https://pacs/studies?x=1", "no query"),
        ("studies", "http:// or https://"),
    ],
)
def test_a_bad_stow_url_is_refused_and_changes_nothing(queued, url, words) -> None:
    with pytest.raises(endpoints.EndpointError, match=words):
        set_endpoint(queued, kind="stow", url=url)
    assert not Endpoint.objects.exists()


def test_credentials_are_written_never_read_back(queued, client_for_informatics) -> None:
    set_endpoint(queued, kind="stow", url=f"http://127.0.0.1:{free_port()}/s", credentials=BASIC)
    listed = client_for_informatics.get("/api/gateway/endpoints").json()["items"]
    assert listed[0]["has_credentials"] is True and BASIC not in json.dumps(listed)
    page = client_for_informatics.get("/gateway/endpoints/").content.decode()
    assert BASIC not in page and PASSWORD not in page
    # changing the URL alone keeps them; the kind's other fields are cleared
    set_endpoint(queued, kind="stow", url=f"http://127.0.0.1:{free_port()}/t")
    assert Endpoint.objects.get().authorization == BASIC


@pytest.fixture
def client_for_informatics():  # type: ignore[no-untyped-def]
    from radgov.core.roles import Role
    from tests.factories import client_for, make_user

    return client_for(make_user(role=Role.INFORMATICS))


def body_built_in_memory(files: list[Path], boundary: str) -> bytes:
    """The multipart/related body as radgov built it before it was streamed (PS3.18 8.6.1.2:
    each part an application/dicom file, CRLF-delimited, closed by the boundary and "--")."""
    parts = []
    for path in files:
        parts += [
            f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode(),
            path.read_bytes(),
            b"\r\n",
        ]
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


def test_the_streamed_body_is_the_one_built_in_memory_read_in_chunks(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(stow, "CHUNK_BYTES", 1000)
    files = []
    for n, size in enumerate([0, 1, 999, 1000, 2501]):
        files.append(tmp_path / f"{n}.dcm")
        files[-1].write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    body = stow.Body.of(files, "0123abcd")
    pieces = list(body)
    assert b"".join(pieces) == body_built_in_memory(files, "0123abcd")
    assert len(body) == len(b"".join(pieces))  # the Content-Length sent
    # each file is read a chunk at a time: 0 + 1 + 1 + 1 + 3 chunks, none over 1000 bytes
    content = [p for p in pieces if p not in (body.head, b"\r\n", body.end)]
    assert [len(p) for p in content] == [1, 999, 1000, 1000, 1000, 501]


def test_a_file_that_changes_size_while_sent_stops_the_send(tmp_path, monkeypatch) -> None:
    path = tmp_path / "1.dcm"
    path.write_bytes(b"x" * 100)
    body = stow.Body.of([path], "b")
    path.write_bytes(b"x" * 50)
    with pytest.raises(OSError, match="changed size"):
        list(body)
    # in a send it is this machine's fault (delivery: "could not be read from this
    # machine's spool, or sent"), not a service that could not be reached
    monkeypatch.setattr(stow.Body, "of", classmethod(lambda cls, f, b: cls(tuple(f), (100,), b)))
    with fake_dicomweb() as url, pytest.raises(stow.Unreadable, match="changed size"):
        stow.send_files([path], url=url, timeout=5)


def test_sending_a_large_study_holds_about_one_chunk_in_memory(tmp_path) -> None:
    """Two 24 MB files: built in memory the body alone took 48 MB; streamed, the sender's
    peak (traced allocations of this process, the stand-in service's reads included) stays
    within a few chunks."""
    files = [tmp_path / "1.dcm", tmp_path / "2.dcm"]
    for path in files:
        with path.open("wb") as fh:
            fh.truncate(24 * 2**20)
    posts: list[int] = []
    with fake_dicomweb(posts=posts) as url:
        tracemalloc.start()
        try:
            stowed = stow.send_files(files, url=url, timeout=30)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert stowed == stow.Stowed(None)
    assert posts == [len(stow.Body.of(files, "0" * 32))]  # every byte arrived
    assert peak < 4 * stow.CHUNK_BYTES
