"""The acceptance-testing API as its users call it: drafts, the lock, amendments, runs by
upload, and refusals as problem+json that change nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from radgov.core.models import AuditEntry
from radgov.evaluation import services
from radgov.evaluation.models import AcceptanceProtocol, AcceptanceRun
from radgov.evaluation.synthetic import generate_ich_cases
from radgov.governance import services as governance
from tests.evaluation import test_services
from tests.evaluation.test_services import cases_file, locked_protocol, passing_source
from tests.factories import client_for, post_json, problem

pytestmark = pytest.mark.django_db

API = "/api/evaluation"


# the services tests' fixtures: people in each part, a deployment, quick password hashing
world = test_services.world
_quick_passwords = test_services._quick_passwords


def put_json(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.put(url, body, content_type="application/json")


@pytest.fixture(autouse=True)
def _worker_at_once(django_capture_on_commit_callbacks: Any) -> Any:
    """A run is a background job (issue 11 item 6): here the worker runs it as soon as the
    request that queued it commits."""
    from huey.contrib.djhuey import HUEY

    global _capture
    before, HUEY.immediate, _capture = HUEY.immediate, True, django_capture_on_commit_callbacks
    try:
        yield
    finally:
        HUEY.immediate = before


_capture: Any = None


def upload(client: Client, protocol_id: int, path: Path) -> Any:
    """POST the cases file; a refusal before the run is the answer itself, otherwise 202."""
    with path.open("rb") as fh, _capture(execute=True):
        return client.post(f"{API}/protocols/{protocol_id}/runs", {"cases": fh})


def run_of(client: Client, queued: Any) -> dict[str, Any]:
    """The job the upload queued, followed to its end: the run made, or the job that failed."""
    assert queued.status_code == 202, queued.content
    job = client.get(queued["Location"]).json()
    if job["status"] != "done":
        return job
    run_id = int(job["result"].rstrip("/").rsplit("/", 1)[1])
    return dict(client.get(f"{API}/runs/{run_id}").json())


# --- protocols ---------------------------------------------------------------------------------


def test_draft_edit_and_lock(world: dict[str, Any]) -> None:
    scientist, member = client_for(world["scientist"]), client_for(world["member"])
    deployment = world["deployment"]
    response = post_json(
        scientist, f"{API}/protocols", {"deployment_id": deployment.pk, "source": passing_source()}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    pid = body["id"]
    assert body["version"] == 1 and body["deployment_id"] == deployment.pk
    assert body["name"] == "ICH triage local acceptance test" and body["task"] == "binary"
    assert (body["locked"], body["locked_by"], body["locked_at"]) == (False, None, None)
    assert body["created_by"] == "ev-scientist" and body["run_ids"] == []
    assert body["amends_id"] is None and body["amended_after_lock"] is False

    edited = put_json(
        scientist, f"{API}/protocols/{pid}", {"source": passing_source(threshold=0.4)}
    )
    assert edited.status_code == 200 and edited.json()["content_hash"] != body["content_hash"]
    detail = problem(put_json(scientist, f"{API}/protocols/{pid}", {"source": "task: [x"}), 422)
    assert AcceptanceProtocol.objects.get().content_hash == edited.json()["content_hash"], detail

    listed = scientist.get(f"{API}/protocols?deployment={deployment.pk}").json()["items"]
    assert [p["id"] for p in listed] == [pid]
    assert scientist.get(f"{API}/protocols?deployment={deployment.pk + 1}").json()["items"] == []

    detail = problem(scientist.post(f"{API}/protocols/{pid}/lock"), 403)
    assert "IV.A.1: only a governance-group member" in detail
    locked = member.post(f"{API}/protocols/{pid}/lock")
    assert locked.status_code == 200, locked.content
    assert locked.json()["locked"] is True and locked.json()["locked_by"] == "ev-member"
    assert scientist.get(f"{API}/protocols/{pid}").json()["locked_at"] is not None

    detail = problem(
        put_json(scientist, f"{API}/protocols/{pid}", {"source": passing_source()}), 422
    )
    assert "IV.E.2: the protocol is locked; a change makes a new version" in detail
    trail = AuditEntry.objects.filter(
        object_type="evaluation.acceptanceprotocol", object_id=str(pid)
    )
    assert [(e.action, e.actor_name, e.channel) for e in trail.order_by("seq")] == [
        ("create", "ev-scientist", "api"),
        ("update", "ev-scientist", "api"),
        ("update", "ev-member", "api"),
    ]


def test_a_recused_member_cannot_lock(world: dict[str, Any]) -> None:
    draft = services.create_protocol(
        world["scientist"], deployment=world["deployment"], source=passing_source()
    )
    governance.declare_conflict(
        world["member"], world["member"], description="Equity", product=world["product"]
    )
    detail = problem(client_for(world["member"]).post(f"{API}/protocols/{draft.pk}/lock"), 403)
    assert "IV.A.3: ev-member declared a conflict of interest" in detail
    draft.refresh_from_db()
    assert not draft.is_locked


def test_amend_over_the_api(world: dict[str, Any], tmp_path: Path) -> None:
    v1 = locked_protocol(world)
    services.run_test(
        world["scientist"], v1, path=cases_file(tmp_path, synthetic=True), name="cases.csv"
    )
    client = client_for(world["scientist"])
    url = f"{API}/protocols/{v1.pk}/amend"
    changed = passing_source(threshold=0.45)
    assert "reason" in problem(post_json(client, url, {"source": changed}), 422)
    assert "say why" in problem(post_json(client, url, {"source": changed, "reason": " "}), 422)
    same = post_json(client, url, {"source": v1.source + "\n# a comment\n", "reason": "tidy"})
    assert "same content" in problem(same, 422)
    assert AcceptanceProtocol.objects.count() == 1

    response = post_json(client, url, {"source": changed, "reason": "new vendor threshold"})
    assert response.status_code == 201, response.content
    v2 = response.json()
    assert (v2["version"], v2["amends_id"], v2["amended_after_lock"]) == (2, v1.pk, True)
    assert v2["amended_after_results"] is True and v2["locked"] is False
    assert v2["amendment_reason"] == "new vendor threshold"

    detail = problem(upload(client, v1.pk, cases_file(tmp_path, "again.csv")), 422)
    assert "a later version of this protocol exists" in detail
    assert AcceptanceRun.objects.count() == 1


# --- runs --------------------------------------------------------------------------------------


def test_runs_by_upload(world: dict[str, Any], tmp_path: Path) -> None:
    protocol = locked_protocol(world)
    client = client_for(world["scientist"])
    made = run_of(client, upload(client, protocol.pk, cases_file(tmp_path)))
    made.pop("result")
    assert made["passed"] is True and made["synthetic"] is False and made["n_cases"] == 3000
    assert made["run_by"] == "ev-scientist" and made["protocol_version"] == 1

    failed = run_of(client, upload(client, protocol.pk, cases_file(tmp_path, "small.csv", n=1000)))
    assert failed["passed"] is False

    got = client.get(f"{API}/runs/{made['id']}").json()
    assert got["result"]["passed"] is True and got["result"]["cases"]["n_rows"] == 3000
    canonical = json.dumps(got["result"], sort_keys=True, separators=(",", ":"))
    assert got["result_sha256"] == services.result_hash(got["result"]) == made["result_sha256"]
    assert got["result_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()

    listed = client.get(f"{API}/protocols/{protocol.pk}/runs").json()["items"]
    assert sorted(r["id"] for r in listed) == sorted([made["id"], failed["id"]])
    assert client.get(f"{API}/protocols/{protocol.pk}").json()["run_ids"] == sorted(
        r["id"] for r in listed
    )
    [entry] = AuditEntry.objects.filter(
        object_type="evaluation.acceptancerun", object_id=str(made["id"]), action="create"
    )
    assert entry.actor_name == "ev-scientist" and entry.channel == "worker"
    assert json.loads(entry.changes_json)["result_sha256"][1] == made["result_sha256"]


def test_run_before_lock_is_refused_and_audited(world: dict[str, Any], tmp_path: Path) -> None:
    draft = services.create_protocol(
        world["scientist"], deployment=world["deployment"], source=passing_source()
    )
    client = client_for(world["scientist"])
    last = AuditEntry.objects.order_by("-seq").first()
    assert last is not None
    detail = problem(upload(client, draft.pk, cases_file(tmp_path)), 422)
    assert "IV.E.2: the protocol must be approved and locked" in detail
    assert not AcceptanceRun.objects.exists()
    [refusal] = AuditEntry.objects.filter(seq__gt=last.seq)
    assert refusal.action == "denied" and refusal.object_id == "api:evaluation_create_run"


def test_identifier_columns_over_the_api(world: dict[str, Any], tmp_path: Path) -> None:
    protocol = locked_protocol(world)
    frame = generate_ich_cases(3000, seed=11).drop("synthetic")
    path = cases_file(tmp_path, frame=frame.with_columns(pl.lit("Roe, Ann").alias("patient_name")))
    client = client_for(world["scientist"])
    job = run_of(client, upload(client, protocol.pk, path))
    detail = job["error"]
    assert job["status"] == "failed"
    assert "column 'patient_name': name" in detail and "Roe" not in detail
    assert not AcceptanceRun.objects.exists()

    governance.record_baa(
        world["privacy"], vendor="acme ai", signed_on=timezone.localdate() - dt.timedelta(days=1)
    )
    made = run_of(client, upload(client, protocol.pk, path))
    assert made["identifier_columns"] == [{"column": "patient_name", "kind": "name"}]
    assert "BAA with Acme AI" in made["identifiers_allowed_because"]


def test_bad_cases_are_refused_naming_the_row(world: dict[str, Any], tmp_path: Path) -> None:
    protocol = locked_protocol(world)
    path = tmp_path / "bad.csv"
    path.write_text(
        "case_id,label,ai_score,sex,age,manufacturer\nA,1,0.9,F,40,GE\nB,2,0.1,M,50,GE\n"
    )
    client = client_for(world["scientist"])
    job = run_of(client, upload(client, protocol.pk, path))
    assert job["status"] == "failed"
    assert (
        "column 'label', data row 2 (spreadsheet row 3): '2' is not a valid label" in job["error"]
    )
    assert not AcceptanceRun.objects.exists()


def test_upload_limits(
    world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADGOV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RADGOV_MAX_UPLOAD_MB", "1")
    protocol = locked_protocol(world)
    client = client_for(world["scientist"])
    url = f"{API}/protocols/{protocol.pk}/runs"
    big = SimpleUploadedFile("big.csv", b"case_id\n" + b"x" * (1024 * 1024 + 1))
    detail = problem(client.post(url, {"cases": big}), 422)
    assert "over the 1 MB limit (RADGOV_MAX_UPLOAD_MB)" in detail
    text = SimpleUploadedFile("cases.txt", cases_file(tmp_path).read_bytes())
    detail = problem(client.post(url, {"cases": text}), 422)
    assert "must be CSV (.csv) or Parquet (.parquet); got 'cases.txt'" in detail
    assert "cases" in problem(client.post(url, {}), 422)
    assert not AcceptanceRun.objects.exists()

    assert run_of(client, upload(client, protocol.pk, cases_file(tmp_path, "ok.csv", n=300)))["id"]
    incoming = tmp_path / "data" / "evaluation" / "incoming"
    assert incoming.is_dir() and list(incoming.iterdir()) == []  # the cases file is not kept


def test_unknown_ids_are_404(world: dict[str, Any]) -> None:
    client = client_for(world["scientist"])
    assert "no acceptance-test protocol 999999" in problem(
        client.get(f"{API}/protocols/999999"), 404
    )
    assert "no acceptance run 999999" in problem(client.get(f"{API}/runs/999999"), 404)
    assert "no deployment 999999" in problem(
        post_json(client, f"{API}/protocols", {"deployment_id": 999999, "source": "x"}), 404
    )
    problem(client.post(f"{API}/protocols/999999/lock"), 404)
    assert not AcceptanceProtocol.objects.exists()


def test_a_technologist_may_read_but_not_write(world: dict[str, Any]) -> None:
    client = client_for(world["tech"])
    assert client.get(f"{API}/protocols").status_code == 200
    body = {"deployment_id": world["deployment"].pk, "source": passing_source()}
    assert "never by a vendor" in problem(post_json(client, f"{API}/protocols", body), 403)
    assert not AcceptanceProtocol.objects.exists()


# --- denials -----------------------------------------------------------------------------------

ROUTES = [
    ("get", "/protocols"),
    ("post", "/protocols"),
    ("get", "/protocols/{p}"),
    ("put", "/protocols/{p}"),
    ("post", "/protocols/{p}/amend"),
    ("post", "/protocols/{p}/lock"),
    ("get", "/protocols/{p}/runs"),
    ("post", "/protocols/{p}/runs"),
    ("get", "/runs/{r}"),
]


@pytest.mark.parametrize(("who", "status"), [("vendor", 403), ("anonymous", 401)])
def test_vendor_and_anonymous_are_refused_everywhere(
    world: dict[str, Any], tmp_path: Path, who: str, status: int
) -> None:
    protocol = locked_protocol(world)
    made = services.run_test(
        world["scientist"], protocol, path=cases_file(tmp_path, n=300), name="cases.csv"
    )
    client = client_for(world["vendor"]) if who == "vendor" else Client()
    body = {"deployment_id": world["deployment"].pk, "source": passing_source(), "reason": "r"}
    for method, route in ROUTES:
        url = API + route.format(p=protocol.pk, r=made.pk)
        if method == "get":
            response = client.get(url)
        else:
            response = getattr(client, method)(url, body, content_type="application/json")
        problem(response, status)
    assert AcceptanceProtocol.objects.count() == 1 and AcceptanceRun.objects.count() == 1
    protocol.refresh_from_db()
    assert protocol.source == passing_source()
