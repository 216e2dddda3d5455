"""One role-denial test per object kind, from the golden tables.

With a real row of each kind (an exam, an inference, a deployment, a model version), every
route that names that row by id is requested as each role, and anonymously, that the golden
route tables (tests/<app>/route_matrix.csv) deny: the policy refuses before the row is looked
up, and audits the refusal once.  The route matrix test asks with sample ids, where a 404
could stand in for a refusal; here the row exists.  The tables stay the one record of who
may do what: no app keeps its own copy of its routes and roles."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from radgov.core.models import AuditEntry
from radgov.exams import services as exams
from tests.accounts.routes import METHODS, _walk, refused_by_policy
from tests.accounts.test_route_matrix import golden
from tests.exams.conftest import head_ct, make_deployment
from tests.factories import make_user

# each kind of row and the URL argument that names it
KINDS = {
    "exam": "exam_id",
    "inference": "inference_id",
    "deployment": "deployment_id",
    "model version": "version_id",
}


def rows() -> dict[str, int]:
    """One row of each kind: the URL argument naming it -> its id."""
    writer = make_user("denial-writer", role="informatics")
    deployment = make_deployment(writer, "NeuroTriage ICH", "Main Hospital CT")
    exam = exams.record_exam(writer, head_ct(), source="dicom").exam
    inference = exams.record_inference(writer, exam, deployment)
    return {
        "exam_id": exam.pk,
        "inference_id": inference.pk,
        "deployment_id": deployment.pk,
        "version_id": deployment.model_version_id,
    }


def routes_naming(argument: str, ids: dict[str, int]) -> dict[str, str]:
    """Every route whose URL takes ``argument`` (and no argument ``ids`` cannot fill), with
    the URL of the real rows."""
    found = {}
    for name, pattern in _walk(get_resolver().url_patterns):
        arguments = set(getattr(pattern.pattern, "converters", {}))
        if argument in arguments and arguments <= set(ids):
            found[name] = reverse(name, kwargs={a: ids[a] for a in arguments})
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_roles_the_tables_deny_are_refused_on_a_real_row(kind: str) -> None:
    ids = rows()
    routes = routes_naming(KINDS[kind], ids)
    assert routes, f"no route names a {kind}"
    table = golden()
    checked = 0
    for column in table[next(iter(routes))]:
        if column == "route":
            continue
        client = Client()
        anonymous = column == "anonymous"
        if not anonymous:
            client.force_login(make_user(f"denial-{column}", role=column))
        for name, url in sorted(routes.items()):
            if table[name][column] != "deny":
                continue
            before = AuditEntry.objects.filter(action="denied").count()
            response: Any = client.generic(
                METHODS.get(name, "GET"), url, data="{}", content_type="application/json"
            )
            assert refused_by_policy(response, anonymous), (column, name, response.status_code)
            if response.status_code == 403:
                assert AuditEntry.objects.filter(action="denied").count() == before + 1, name
            checked += 1
    assert checked, f"the tables deny nobody a {kind}"
    assert not AuditEntry.objects.filter(action__in=["read", "export"]).exists()
