"""The lists and pages read with a fixed number of queries however many rows they show."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from radgov.accounts import services as accounts
from radgov.core.roles import Role
from radgov.exams import services
from radgov.exams.outputs import Outputs
from tests.exams.conftest import UID, head_ct, make_deployment
from tests.factories import client_for

pytestmark = pytest.mark.django_db


def _exams(writer, deployments, start: int, count: int) -> None:  # type: ignore[no-untyped-def]
    for n in range(start, start + count):
        exam = services.record_exam(
            writer, head_ct(uid=f"{UID}.{n}", accession_number=f"A{n}"), source="api"
        ).exam
        for d in deployments:
            inference = services.record_inference(writer, exam, d)
            services.move(writer, inference, "sent")
            services.record_outputs(
                writer, inference, Outputs(score=0.5, call="negative", findings=[{"label": "x"}])
            )
            services.add_result_object(
                writer, inference, kind="SR", sop_instance_uid=f"{UID}.{n}.{d.pk}.1"
            )


def _queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        reverse("exams:worklist"),
        "/api/exams/exams",
        "/api/exams/inferences",
        "/api/exams/exams?status=inferred",
    ],
)
def test_lists_do_not_grow_with_rows(people, writer, ich, nodule, url) -> None:
    physician = people[Role.PHYSICIAN]
    client = client_for(physician)
    if url.startswith("/api/"):
        _, secret = accounts.create_token(physician, name="q")
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    _exams(writer, [ich, nodule], 0, 2)
    _queries(client, url)  # a token's first use of the minute also notes when it was used
    few = _queries(client, url)
    _exams(writer, [ich, nodule], 2, 10)
    assert _queries(client, url) == few


def test_one_study_does_not_grow_with_inferences(people, writer, ich) -> None:
    from radgov.exams.models import Exam

    physician = people[Role.PHYSICIAN]
    page = client_for(physician)
    _, secret = accounts.create_token(physician, name="q")
    api = client_for(physician)
    api.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    _exams(writer, [ich], 0, 1)
    exam = Exam.objects.get()
    urls = {page: reverse("exams:study", args=[exam.pk]), api: f"/api/exams/exams/{exam.pk}"}
    for client, url in urls.items():  # a token's first use of the minute notes when it was used
        _queries(client, url)
    one = {client: _queries(client, url) for client, url in urls.items()}
    for n in range(4):
        d = make_deployment(writer, f"Model {n}", "Main Hospital CT")
        inference = services.record_inference(writer, exam, d)
        services.move(writer, inference, "sent")
        services.record_outputs(writer, inference, Outputs(score=0.1, findings=[{"label": "y"}]))
        services.add_result_object(writer, inference, kind="SEG", sop_instance_uid=f"{UID}.77.{n}")
    assert {client: _queries(client, url) for client, url in urls.items()} == one
