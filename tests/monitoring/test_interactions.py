"""Interaction events from a PACS or viewer and the bulk ingest (issue 17): one at a time, as
NDJSON and as CSV/Parquet; an unknown inference refused naming it; a bad row refuses the
whole file naming the row and column; a stream that breaks mid-way stores nothing and names
the line; the batch is one audit entry."""

from __future__ import annotations

import datetime as dt
import io
import json

import polars as pl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.exams.models import Inference
from radgov.monitoring.models import Interaction
from tests.factories import client_for, make_user, problem
from tests.monitoring.conftest import exam_with_call

pytestmark = pytest.mark.django_db
URL = "/api/monitoring"
DAY = dt.date(2026, 2, 3)
AT = "2026-02-03T10:15:00+00:00"
UID = "1.2.826.0.1.3680043.10.99.{}"


@pytest.fixture
def reader(db):  # type: ignore[no-untyped-def]
    return make_user("rad-viewer", role=Role.PHYSICIAN)


@pytest.fixture
def inference(writer, pe):  # type: ignore[no-untyped-def]
    return exam_with_call(writer, pe, 1, DAY, ai=True, truth=None)


def _json(client, url, body):  # type: ignore[no-untyped-def]
    return client.post(url, json.dumps(body), content_type="application/json")


def _ndjson(client, lines):  # type: ignore[no-untyped-def]
    body = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines)
    return client.post(f"{URL}/events.ndjson", body, content_type="application/x-ndjson")


def test_one_interaction_by_id_and_by_study(writer, pe, reader, inference) -> None:
    client = client_for(writer)
    rows = [
        {"inference_id": inference.pk, "username": reader.username, "action": "viewed", "at": AT},
        {
            "study_instance_uid": UID.format(1), "deployment_id": pe.pk,
            "username": reader.username, "action": "accepted", "at": AT,
        },
    ]  # fmt: skip
    answer = _json(client, f"{URL}/interactions", {"interactions": rows})
    assert answer.status_code == 201, answer.content
    assert answer.json() == {"interactions": 2}
    stored = list(Interaction.objects.values_list("inference_id", "user_id", "action", "source"))
    assert stored == [
        (inference.pk, reader.pk, "viewed", "api"),
        (inference.pk, reader.pk, "accepted", "api"),
    ]
    entry = AuditEntry.objects.filter(object_type="monitoring.interactions").get()
    assert entry.action == "import" and entry.detail["count"] == 2
    assert entry.detail["batch"]["count"] == 2


def test_an_unknown_inference_is_refused_naming_it(writer, pe, reader, inference) -> None:
    rows = [
        {"inference_id": inference.pk, "username": reader.username, "action": "viewed", "at": AT},
        {"inference_id": 987654, "username": reader.username, "action": "viewed", "at": AT},
        {
            "study_instance_uid": "1.2.3.999", "deployment_id": pe.pk,
            "username": reader.username, "action": "rejected", "at": AT,
        },
    ]  # fmt: skip
    detail = problem(_json(client_for(writer), f"{URL}/interactions", {"interactions": rows}), 422)
    assert "interactions[1].inference_id: inference 987654 is not recorded in radgov" in detail
    assert f"interactions[2].study_instance_uid: names no inference of deployment {pe.pk}" in detail
    assert "1.2.3.999" not in detail  # a study UID is never echoed
    assert not Interaction.objects.exists()


def test_every_bad_field_is_named(writer, reader, inference) -> None:
    rows = [
        {"inference_id": inference.pk, "username": "nobody", "action": "liked", "at": AT},
        {"inference_id": inference.pk, "username": reader.username, "action": "viewed",
         "at": "2099-01-01T00:00:00+00:00"},
    ]  # fmt: skip
    detail = problem(_json(client_for(writer), f"{URL}/interactions", {"interactions": rows}), 422)
    assert "interactions[0].username: names no active radgov account" in detail
    assert "interactions[0].action: must be one of viewed, accepted, modified" in detail
    assert "interactions[1].at: is before 1900 or in the future" in detail
    assert not Interaction.objects.exists()


def test_only_informatics_administrators_and_recording_machines_may_send(reader, inference) -> None:
    row = {"inference_id": inference.pk, "username": reader.username, "action": "viewed", "at": AT}
    assert (
        _json(client_for(reader), f"{URL}/interactions", {"interactions": [row]}).status_code == 403
    )
    vendor = make_user("mon-vendor", role=Role.VENDOR)
    assert _ndjson(client_for(vendor), [{"type": "interaction", **row}]).status_code == 403
    assert not Interaction.objects.exists()


def _inference_line(n: int, deployment_id: int) -> dict[str, object]:
    return {
        "type": "inference", "study_instance_uid": UID.format(n), "deployment_id": deployment_id,
        "modality": "CT", "status": "inferred", "status_at": AT, "score": 0.7, "call": "positive",
    }  # fmt: skip


def test_an_ndjson_stream_stores_inferences_then_their_interactions(writer, pe, reader) -> None:
    lines = [
        _inference_line(21, pe.pk),
        {"type": "interaction", "study_instance_uid": UID.format(21), "deployment_id": pe.pk,
         "username": reader.username, "action": "modified", "at": AT},
    ]  # fmt: skip
    answer = _ndjson(client_for(writer), lines)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["inference_events"], body["inferences_created"], body["interactions"]) == (1, 1, 1)
    inference = Inference.objects.get()
    assert Interaction.objects.get().inference_id == inference.pk


def test_a_stream_broken_mid_way_stores_nothing_and_names_the_line(writer, pe, reader) -> None:
    lines = [
        _inference_line(31, pe.pk),
        _inference_line(32, pe.pk),
        '{"type": "interaction", "study_instance_uid": "1.2.8',  # the connection dropped here
    ]
    detail = problem(_ndjson(client_for(writer), lines), 422)
    assert "line 3: is not a whole JSON object: the stream broke here" in detail
    assert not Inference.objects.exists() and not Interaction.objects.exists()
    # a line that parses but does not check refuses the stream too, naming its line
    # an id no inference has, whatever ids the database's sequences hand out in this run
    lines[2] = json.dumps({"type": "interaction", "inference_id": 2**31 - 1,
                           "username": reader.username, "action": "viewed", "at": AT})  # fmt: skip
    detail = problem(_ndjson(client_for(writer), lines), 422)
    assert f"line 3, inference_id: inference {2**31 - 1} is not recorded in radgov" in detail
    assert not Inference.objects.exists()
    lines[1] = json.dumps({**_inference_line(32, pe.pk), "kvp": "high"})
    detail = problem(_ndjson(client_for(writer), lines), 422)
    assert "line 2, kvp" in detail
    assert not Inference.objects.exists() and not Interaction.objects.exists()


def _upload(client, name, data):  # type: ignore[no-untyped-def]
    return client.post(f"{URL}/interactions/import", {"file": SimpleUploadedFile(name, data)})


def test_a_file_with_a_bad_row_is_refused_whole(writer, reader, inference) -> None:
    good = f"{inference.pk},{reader.username},viewed,{AT}"
    csv = f"inference_id,username,action,at\n{good}\n{good}\n{inference.pk},{reader.username},ignored,{AT}\n"
    detail = problem(_upload(client_for(writer), "views.csv", csv.encode()), 422)
    assert "data row 3 (spreadsheet row 4), column 'action': must be one of" in detail
    assert not Interaction.objects.exists()
    answer = _upload(client_for(writer), "views.csv", csv.replace("ignored", "dismissed").encode())
    assert answer.status_code == 201 and answer.json() == {"interactions": 3}
    assert Interaction.objects.filter(source="file").count() == 3
    unknown = _upload(client_for(writer), "views.csv", b"inference_id,user\n1,x\n")
    assert "column(s) 2 of the header are not interaction columns" in problem(unknown, 422)


def test_a_parquet_file_of_interactions(writer, reader, inference) -> None:
    frame = pl.DataFrame(
        {
            "inference_id": [inference.pk, inference.pk],
            "username": [reader.username] * 2,
            "action": ["viewed", "rejected"],
            "at": [dt.datetime(2026, 2, 3, 10, tzinfo=dt.UTC)] * 2,
        }
    )
    data = io.BytesIO()
    frame.write_parquet(data)
    answer = _upload(client_for(writer), "views.parquet", data.getvalue())
    assert answer.status_code == 201, answer.content
    assert sorted(Interaction.objects.values_list("action", flat=True)) == ["rejected", "viewed"]


def test_a_stream_over_the_upload_limit_is_refused_with_one_audit_entry(
    writer, pe, monkeypatch
) -> None:
    monkeypatch.setenv("RADGOV_MAX_UPLOAD_MB", "1")
    lines = [_inference_line(40 + i, pe.pk) for i in range(10)]
    lines.append(" " * 1024 * 1024)  # past 1 MB whatever the lines hold
    client = client_for(writer)
    before = AuditEntry.objects.count()
    detail = problem(_ndjson(client, lines), 413)
    assert detail == "the stream is larger than 1 MB (RADGOV_MAX_UPLOAD_MB)"
    assert not Inference.objects.exists()
    refusals = list(AuditEntry.objects.order_by("seq")[before:])
    assert [(e.action, e.outcome) for e in refusals] == [("denied", "failure")]
