"""Model endpoints (docs/gateway.md, "To the model"): imaging informatics and administrators
list, set and test (C-ECHO over a real socket) where each deployment's model receives
studies, by page and API; bad input names the field and changes nothing; others are denied."""

from __future__ import annotations

import json

import pytest
from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.gateway.models import Endpoint
from tests.factories import client_for, make_user, problem
from tests.gateway.conftest import deployment, free_port

pytestmark = pytest.mark.django_db

GOOD = {"ae_title": "VENDOR_AI", "host": "127.0.0.1", "port": 104, "timeout_seconds": 5}


@pytest.fixture
def head():  # type: ignore[no-untyped-def]
    return deployment("HeadTriage", {"body_parts": ["HEAD"]})


@pytest.fixture
def informatics():  # type: ignore[no-untyped-def]
    return client_for(make_user(role=Role.INFORMATICS))


@pytest.fixture
def node():  # type: ignore[no-untyped-def]
    """A real DICOM node answering C-ECHO on a free port."""
    ae = AE(ae_title="VENDOR_AI")
    ae.add_supported_context(Verification)
    port = free_port()
    server = ae.start_server(("127.0.0.1", port), block=False)
    yield port
    server.shutdown()


def put(client, pk, body):  # type: ignore[no-untyped-def]
    return client.put(
        f"/api/gateway/endpoints/{pk}", json.dumps(body), content_type="application/json"
    )


def test_the_api_sets_lists_and_edits_an_endpoint(head, informatics) -> None:
    answer = put(informatics, head.pk, GOOD)
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        **GOOD,
        "deployment_id": head.pk,
        "kind": "dicom",
        "tls": False,
        "url": "",
        "model": "",
        "has_credentials": False,
        "result_minutes": 60,
    }
    assert put(informatics, head.pk, {**GOOD, "port": 11112, "tls": True}).status_code == 200
    listed = informatics.get("/api/gateway/endpoints").json()
    assert listed["total"] == 1
    assert (listed["items"][0]["port"], listed["items"][0]["tls"]) == (11112, True)
    entries = AuditEntry.objects.filter(object_type="gateway.endpoint")
    assert list(entries.values_list("action", flat=True)) == ["create", "update"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"ae_title": "A" * 17}, "ae_title"),
        ({"host": " "}, "host"),
        ({"host": "bad host"}, "host"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"result_minutes": 20000}, "result_minutes"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(head, informatics, change, field) -> None:
    put(informatics, head.pk, GOOD)
    detail = problem(put(informatics, head.pk, {**GOOD, **change}), 422)
    assert detail.startswith(f"{field}:")
    assert Endpoint.objects.get().port == GOOD["port"]


def test_an_unknown_deployment_is_not_found(informatics) -> None:
    problem(put(informatics, 999, GOOD), 404)
    problem(informatics.post("/api/gateway/endpoints/999/test"), 404)


@pytest.mark.parametrize("role", [Role.TECHNOLOGIST, Role.PHYSICIAN, Role.COMPLIANCE])
def test_others_may_not_see_set_or_test_endpoints(head, role) -> None:
    client = client_for(make_user(role=role))
    assert put(client, head.pk, GOOD).status_code == 403
    assert client.get("/api/gateway/endpoints").status_code == 403
    assert client.post(f"/api/gateway/endpoints/{head.pk}/test").status_code == 403
    assert client.get("/gateway/endpoints/").status_code == 403
    assert not Endpoint.objects.exists()


def test_test_connection_echoes_the_node_over_a_real_socket(head, informatics, node) -> None:
    put(informatics, head.pk, {**GOOD, "port": node})
    answer = informatics.post(f"/api/gateway/endpoints/{head.pk}/test").json()
    assert answer == {"answered": True, "words": "VENDOR_AI answered the C-ECHO"}
    entry = AuditEntry.objects.filter(action="execute", object_type="gateway.endpoint").get()
    assert (entry.outcome, entry.event_code) == ("success", "110100")


def test_test_connection_says_when_the_node_is_down_or_speaks_no_tls(
    head, informatics, node
) -> None:
    put(informatics, head.pk, {**GOOD, "port": free_port()})
    down = informatics.post(f"/api/gateway/endpoints/{head.pk}/test").json()
    assert down["answered"] is False
    assert "did not accept the association" in down["words"]
    put(informatics, head.pk, {**GOOD, "port": node, "tls": True})  # the node speaks plain DICOM
    plain = informatics.post(f"/api/gateway/endpoints/{head.pk}/test").json()
    assert plain["answered"] is False
    outcomes = AuditEntry.objects.filter(action="execute", object_type="gateway.endpoint")
    assert list(outcomes.values_list("outcome", flat=True)) == ["failure", "failure"]


def test_test_connection_without_an_endpoint_is_refused(head, informatics) -> None:
    assert "no model endpoint" in problem(
        informatics.post(f"/api/gateway/endpoints/{head.pk}/test"), 422
    )


def test_the_page_sets_and_tests_an_endpoint(head, informatics, node) -> None:
    page = informatics.get("/gateway/endpoints/")
    assert page.status_code == 200 and b"HeadTriage" in page.content
    form = {"deployment": head.pk, "action": "save", **GOOD, "port": node, "result_minutes": 60}
    saved = informatics.post("/gateway/endpoints/", form)
    assert saved.status_code == 302 and Endpoint.objects.get().port == node
    tested = informatics.post("/gateway/endpoints/", {"deployment": head.pk, "action": "test"})
    assert b"VENDOR_AI answered the C-ECHO" in tested.content
    bad = informatics.post("/gateway/endpoints/", {**form, "port": "abc"})
    assert bad.status_code == 422 and b"port: a whole number is required" in bad.content
    assert b'value="abc"' in bad.content and b"Test connection" in bad.content  # as filled in
    assert Endpoint.objects.get().port == node


def test_the_page_sets_a_stow_endpoint_whose_credentials_are_never_shown(head, informatics) -> None:
    secret = "Bearer page-T0ken-7d1"
    form = {
        "deployment": head.pk,
        "action": "save",
        "kind": "stow",
        "url": "https://ai.example/dicom-web/studies",
        "credentials": secret,
        "timeout_seconds": 30,
        "result_minutes": 60,
    }
    assert informatics.post("/gateway/endpoints/", form).status_code == 302
    page = informatics.get("/gateway/endpoints/").content.decode()
    assert "https://ai.example/dicom-web/studies" in page and "set; leave empty to keep" in page
    assert secret not in page
    again = informatics.post("/gateway/endpoints/", {**form, "credentials": ""})
    assert again.status_code == 302 and Endpoint.objects.get().authorization == secret


def test_the_page_sets_and_tests_a_local_model(head, informatics, monkeypatch) -> None:
    monkeypatch.setenv("RADGOV_LOCAL_MODELS", "simulator=radgov.gateway.demo_node:judge")
    assert b"<option>simulator</option>" in informatics.get("/gateway/endpoints/").content
    form = {"deployment": head.pk, "action": "save", "kind": "python", "model": "simulator"}
    saved = informatics.post(
        "/gateway/endpoints/", {**form, "timeout_seconds": 30, "result_minutes": 60}
    )
    assert saved.status_code == 302 and Endpoint.objects.get().model == "simulator"
    tested = informatics.post("/gateway/endpoints/", {"deployment": head.pk, "action": "test"})
    assert b"the local model simulator is loaded" in tested.content
    refused = informatics.post(
        "/gateway/endpoints/",
        {**form, "model": "nobody", "timeout_seconds": 30, "result_minutes": 60},
    )
    assert refused.status_code == 422 and b"no local model named" in refused.content
    assert Endpoint.objects.get().model == "simulator"


def test_the_command_sets_each_kind_and_reads_credentials_from_a_file(
    head, tmp_path, monkeypatch
) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    secret = tmp_path / "stow.auth"
    secret.write_text("Bearer cli-T0ken\n")
    out = StringIO()
    url = "https://ai.example/dicom-web/studies"
    call_command(
        "gateway", "endpoint", str(head.pk), "--kind", "stow", "--url", url,
        "--credentials-from", str(secret), stdout=out,
    )  # fmt: skip
    assert out.getvalue().strip() == f"deployment {head.pk} sends to {url}"
    assert Endpoint.objects.get().authorization == "Bearer cli-T0ken"
    assert "cli-T0ken" not in out.getvalue()
    monkeypatch.setenv("RADGOV_LOCAL_MODELS", "simulator=radgov.gateway.demo_node:judge")
    call_command("gateway", "endpoint", str(head.pk), "--kind", "python", "--model", "simulator")
    endpoint = Endpoint.objects.get()
    assert (endpoint.kind, endpoint.model, endpoint.credentials, endpoint.url) == (
        "python", "simulator", None, ""
    )  # fmt: skip
    with pytest.raises(CommandError, match="--credentials-from"):
        call_command(
            "gateway", "endpoint", str(head.pk), "--kind", "stow", "--url", url,
            "--credentials-from", str(tmp_path / "missing"),
        )  # fmt: skip
    assert Endpoint.objects.get().kind == "python"
