"""Acceptance-test protocols and runs through the services (IV.E): drafts, the lock by a
governance-group member, amendments as new versions, runs that refuse identifiers and bad
files without changing anything, and a passed run on real cases as lifecycle evidence."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from django.utils import timezone

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.evaluation import services
from radgov.evaluation.models import AcceptanceProtocol, AcceptanceRun
from radgov.evaluation.synthetic import generate_ich_cases, write_cases
from radgov.governance import services as governance
from radgov.governance.selectors import baa_covers
from radgov.inventory import services as inventory
from radgov.inventory.lifecycle import acceptance_guard
from tests.factories import cleared_product, make_user

from .conftest import EXAMPLE_PROTOCOL

pytestmark = pytest.mark.django_db

PROTOCOL_TYPE = "evaluation.acceptanceprotocol"
RUN_TYPE = "evaluation.acceptancerun"
# seven people a test: hashing their passwords the production way takes seconds
QUICK_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def passing_source(**changes: Any) -> str:
    """The example protocol with a criterion 3000 synthetic cases meet (the example's AUC
    criterion on every subgroup fails on the few children), and a quick ROC band."""
    data = yaml.safe_load(EXAMPLE_PROTOCOL.read_text())
    data["criteria"][2] = {"metric": "auc", "ci_low_at_least": 0.85, "subgroups": ["sex"]}
    data["roc_band_resamples"] = 50
    data.update(changes)
    return yaml.safe_dump(data, sort_keys=False)


def cases_file(
    folder: Path,
    name: str = "cases.csv",
    *,
    n: int = 3000,
    synthetic: bool = False,
    frame: pl.DataFrame | None = None,
) -> Path:
    """``n`` synthetic ICH cases; without the synthetic flag they count as real cases.
    With seed 11, 3000 cases pass the protocol of :func:`passing_source` and 1000 fail its
    sensitivity criterion."""
    if frame is None:
        frame = generate_ich_cases(n, seed=11)
        if not synthetic:
            frame = frame.drop("synthetic")
    return write_cases(frame, folder / name)


def make_world() -> dict[str, Any]:
    """People in each part the services tell apart, and a deployment of an Acme AI model."""
    people = {
        "admin": make_user("ev-admin", role=Role.ADMINISTRATOR),
        "informatics": make_user("ev-informatics", role=Role.INFORMATICS),
        "scientist": make_user("ev-scientist", role=Role.DATA_SCIENTIST),
        "member": make_user("ev-member", role=Role.PHYSICIAN, is_governance_member=True),
        "tech": make_user("ev-tech", role=Role.TECHNOLOGIST),
        "vendor": make_user("ev-vendor", role=Role.VENDOR),
        "privacy": make_user("ev-privacy", role=Role.COMPLIANCE),
    }
    product = cleared_product(people["informatics"])
    version = inventory.add_model_version(people["informatics"], product, version="2.1")
    deployment = inventory.create_deployment(people["informatics"], version, site="Main hospital")
    return {**people, "product": product, "deployment": deployment}


def locked_protocol(world: dict[str, Any], source: str | None = None) -> AcceptanceProtocol:
    draft = services.create_protocol(
        world["scientist"], deployment=world["deployment"], source=source or passing_source()
    )
    return services.lock(world["member"], draft)


def run(world: dict[str, Any], protocol: AcceptanceProtocol, path: Path) -> AcceptanceRun:
    return services.run_test(world["scientist"], protocol, path=path, name=path.name)


def entries(object_type: str, pk: int, action: str | None = None) -> list[AuditEntry]:
    rows = AuditEntry.objects.filter(object_type=object_type, object_id=str(pk))
    if action:
        rows = rows.filter(action=action)
    return list(rows.order_by("seq"))


@pytest.fixture(autouse=True)
def _quick_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = QUICK_HASHERS


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    return make_world()


# --- drafts ------------------------------------------------------------------------------------


def test_draft_create_and_edit(world: dict[str, Any]) -> None:
    source = passing_source()
    draft = services.create_protocol(
        world["scientist"], deployment=world["deployment"], source=source
    )
    assert (draft.version, draft.is_locked, draft.amends_id) == (1, False, None)
    assert draft.name == "ICH triage local acceptance test" and draft.task == "binary"
    assert draft.content_hash == services.parse(source).canonical_hash()
    [created] = entries(PROTOCOL_TYPE, draft.pk, "create")
    assert json.loads(created.changes_json)["content_hash"] == [None, draft.content_hash]

    edited = services.edit_draft(world["member"], draft, source=passing_source(threshold=0.4))
    assert edited.content_hash != draft.content_hash and "threshold: 0.4" in edited.source
    update = entries(PROTOCOL_TYPE, draft.pk, "update")
    assert len(update) == 1 and "content_hash" in json.loads(update[0].changes_json)

    with pytest.raises(services.EvaluationError, match="already has a protocol"):
        services.create_protocol(world["admin"], deployment=world["deployment"], source=source)
    with pytest.raises(services.EvaluationError):
        services.edit_draft(world["scientist"], draft, source="name: [unclosed")
    with pytest.raises(services.EvaluationError, match="still a draft: edit it"):
        services.amend(world["scientist"], draft, source=source, reason="why not")
    assert AcceptanceProtocol.objects.get().content_hash == edited.content_hash


@pytest.mark.parametrize("who", ["vendor", "tech"])
def test_only_evaluators_write_protocols(world: dict[str, Any], who: str) -> None:
    with pytest.raises(services.NotAllowed, match="never by a vendor"):
        services.create_protocol(
            world[who], deployment=world["deployment"], source=passing_source()
        )
    assert not AcceptanceProtocol.objects.exists()


# --- the lock ----------------------------------------------------------------------------------


def test_lock_by_a_governance_member_only(world: dict[str, Any]) -> None:
    draft = services.create_protocol(
        world["scientist"], deployment=world["deployment"], source=passing_source()
    )
    with pytest.raises(services.NotAllowed, match="IV.A.1: only a governance-group member"):
        services.lock(world["scientist"], draft)
    vendor_member = make_user("ev-vendor-member", role=Role.VENDOR, is_governance_member=True)
    with pytest.raises(services.NotAllowed):
        services.lock(vendor_member, draft)
    conflicted = make_user("ev-conflicted", role=Role.PHYSICIAN, is_governance_member=True)
    governance.declare_conflict(
        conflicted, conflicted, description="Consults for Acme AI", vendor="Acme AI"
    )
    with pytest.raises(services.NotAllowed, match="IV.A.3: ev-conflicted .* is recused"):
        services.lock(conflicted, draft)
    draft.refresh_from_db()
    assert not draft.is_locked and draft.locked_by is None
    assert not entries(PROTOCOL_TYPE, draft.pk, "update")

    locked = services.lock(world["member"], draft)
    assert locked.is_locked and locked.locked_by == world["member"]
    [entry] = entries(PROTOCOL_TYPE, draft.pk, "update")
    changes = json.loads(entry.changes_json)
    assert changes["locked_by_id"] == [None, world["member"].pk] and changes["locked_at"][0] is None
    with pytest.raises(services.EvaluationError, match="already locked"):
        services.lock(world["member"], locked)


def test_locked_protocol_cannot_be_edited(world: dict[str, Any]) -> None:
    protocol = locked_protocol(world)
    with pytest.raises(services.EvaluationError, match="IV.E.2: the protocol is locked"):
        services.edit_draft(world["member"], protocol, source=passing_source(threshold=0.3))
    protocol.refresh_from_db()
    assert "threshold: 0.5" in protocol.source
    assert protocol.content_hash == services.parse(passing_source()).canonical_hash()


# --- runs --------------------------------------------------------------------------------------


def test_run_before_lock_changes_nothing(world: dict[str, Any], tmp_path: Path) -> None:
    draft = services.create_protocol(
        world["scientist"], deployment=world["deployment"], source=passing_source()
    )
    before = AuditEntry.objects.count()
    with pytest.raises(services.EvaluationError, match="IV.E.2: the protocol must be approved"):
        run(world, draft, cases_file(tmp_path))
    assert not AcceptanceRun.objects.exists()
    assert AuditEntry.objects.count() == before


def test_run_stores_the_result_and_its_hash(world: dict[str, Any], tmp_path: Path) -> None:
    protocol = locked_protocol(world)
    path = cases_file(tmp_path)
    result = run(world, protocol, path)
    result.refresh_from_db()
    assert result.passed and not result.synthetic and result.n_cases == 3000
    assert result.protocol_hash == protocol.content_hash and result.run_by == world["scientist"]
    assert result.cases_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.cases_name == "cases.csv" and result.result["cases"]["file"] == "cases.csv"
    canonical = json.dumps(result.result, sort_keys=True, separators=(",", ":"))
    assert result.result_sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    assert "approved and locked by ev-member" in result.result["protocol"]["lock"]
    assert "<svg" in result.report_html
    [entry] = entries(RUN_TYPE, result.pk, "create")
    changes = json.loads(entry.changes_json)
    assert changes["result_sha256"] == [None, result.result_sha256]
    assert changes["result"] == [None, "<changed>"]  # the result itself is kept out of the trail


def test_a_failed_criterion_is_a_stored_result(world: dict[str, Any], tmp_path: Path) -> None:
    result = run(world, locked_protocol(world), cases_file(tmp_path, n=1000))
    assert AcceptanceRun.objects.get() == result and not result.passed
    failing = [c for c in result.result["criteria"] if not c["passed"]]
    assert [c["metric"] for c in failing] == ["sensitivity"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda f: f.rename({"ai_score": "score"}),
            "column 'ai_score' (columns.score) is not in the cases file; did you mean 'score'?",
        ),
        (
            lambda f: f.with_columns(
                pl.when(pl.int_range(pl.len()) == 4)
                .then(2)
                .otherwise(pl.col("label"))
                .alias("label")
            ),
            "column 'label', data row 5 (spreadsheet row 6): '2' is not a valid label",
        ),
        (
            lambda f: f.with_columns(
                pl.when(pl.int_range(pl.len()) == 2)
                .then(float("nan"))
                .otherwise(pl.col("ai_score"))
                .alias("ai_score")
            ),
            "column 'ai_score', data row 3 (spreadsheet row 4): 'NaN' is NaN",
        ),
    ],
    ids=["missing-column", "label-2", "nan-score"],
)
def test_bad_cases_name_column_and_row(
    world: dict[str, Any], tmp_path: Path, change: Any, message: str
) -> None:
    protocol = locked_protocol(world)
    frame = change(generate_ich_cases(300, seed=3).drop("synthetic"))
    before = AuditEntry.objects.count()
    with pytest.raises(services.EvaluationError) as err:
        run(world, protocol, cases_file(tmp_path, frame=frame))
    assert "the cases file 'cases.csv' cannot be used" in str(err.value)
    assert message in str(err.value)
    assert not AcceptanceRun.objects.exists() and AuditEntry.objects.count() == before


def test_identifiers_need_a_baa(world: dict[str, Any], tmp_path: Path) -> None:
    protocol = locked_protocol(world)
    frame = generate_ich_cases(3000, seed=11).drop("synthetic")
    frame = frame.with_columns(
        pl.lit("Doe, Jane").alias("patient_name"),
        pl.Series("mrn", [f"{4400000 + i}" for i in range(frame.height)]),
    )
    path = cases_file(tmp_path, frame=frame)
    with pytest.raises(services.EvaluationError) as err:
        run(world, protocol, path)
    message = str(err.value)
    assert "no BAA with Acme AI covering PHI is in force" in message
    assert "column 'patient_name': name" in message
    assert "column 'mrn': medical record number" in message
    assert "Doe" not in message and "4400000" not in message  # never the values
    assert not AcceptanceRun.objects.exists()

    governance.record_baa(
        world["privacy"], vendor="Acme AI", signed_on=timezone.localdate() - dt.timedelta(days=30)
    )
    assert baa_covers(world["product"])
    stored = run(world, protocol, path)
    assert stored.identifiers_allowed_because == ("a BAA with Acme AI covering PHI is in force (V)")
    assert {"column": "patient_name", "kind": "name"} in stored.identifier_columns
    assert {c["column"] for c in stored.identifier_columns} == {"patient_name", "mrn"}
    assert stored.result["privacy"]["reason"] == stored.identifiers_allowed_because


def test_an_expired_baa_does_not_cover(world: dict[str, Any], tmp_path: Path) -> None:
    today = timezone.localdate()
    governance.record_baa(
        world["privacy"],
        vendor="Acme AI",
        signed_on=today - dt.timedelta(days=400),
        expires_on=today - dt.timedelta(days=1),
    )
    frame = generate_ich_cases(300, seed=3).with_columns(pl.lit("x").alias("patient_name"))
    with pytest.raises(services.EvaluationError, match="no BAA with Acme AI"):
        run(world, locked_protocol(world), cases_file(tmp_path, frame=frame))


# --- amendments --------------------------------------------------------------------------------


def test_amendment_after_results(world: dict[str, Any], tmp_path: Path) -> None:
    v1 = locked_protocol(world)
    first = run(world, v1, cases_file(tmp_path, synthetic=True))
    changed = passing_source(threshold=0.45)
    with pytest.raises(services.EvaluationError, match="say why"):
        services.amend(world["scientist"], v1, source=changed, reason="  ")
    same_content = "# reformatted\n" + yaml.safe_dump(yaml.safe_load(v1.source), indent=4)
    with pytest.raises(services.EvaluationError, match="same content"):
        services.amend(world["scientist"], v1, source=same_content, reason="tidy")
    assert AcceptanceProtocol.objects.filter(deployment=world["deployment"]).count() == 1

    v2 = services.amend(world["scientist"], v1, source=changed, reason="vendor's new threshold")
    assert (v2.version, v2.amends, v2.amended_after_lock) == (2, v1, True)
    assert v2.amended_after_results and not v2.is_locked
    assert v2.amendment_reason == "vendor's new threshold"
    assert [e.action for e in entries(PROTOCOL_TYPE, v2.pk)] == ["create"]

    with pytest.raises(services.EvaluationError, match="a later version of this protocol exists"):
        run(world, v1, cases_file(tmp_path, synthetic=True))
    with pytest.raises(services.EvaluationError, match="a later version"):
        services.amend(world["scientist"], v1, source=passing_source(threshold=0.4), reason="x")
    assert list(AcceptanceRun.objects.all()) == [first]

    v2 = services.edit_draft(world["scientist"], v2, source=changed, reason="vendor's advice")
    assert v2.amendment_reason == "vendor's advice"
    v2 = services.lock(world["member"], v2)
    second = run(world, v2, cases_file(tmp_path, synthetic=True))
    lock = second.result["protocol"]["lock"]
    assert "AMENDED AFTER LOCK" in lock and "after results were seen" in lock
    assert second.result["protocol"]["version"] == 2


def test_amendment_before_results(world: dict[str, Any]) -> None:
    v1 = locked_protocol(world)
    v2 = services.amend(world["member"], v1, source=passing_source(threshold=0.6), reason="typo")
    assert v2.amended_after_lock and not v2.amended_after_results


# --- lifecycle evidence ------------------------------------------------------------------------


def test_only_a_passed_run_on_real_cases_is_evidence(world: dict[str, Any], tmp_path: Path) -> None:
    deployment = world["deployment"]

    def refusal() -> str:
        """The lifecycle's refusal, which repeats why each provider holds no evidence."""
        (missing,) = acceptance_guard(deployment)
        assert "the governance group has passed no justified waiver" in missing
        return missing

    assert "no approved and locked acceptance-test protocol" in refusal()
    protocol = locked_protocol(world)
    assert f"no run of the locked protocol {protocol} yet" in refusal()

    synthetic = run(world, protocol, cases_file(tmp_path, "s.csv", synthetic=True))
    assert synthetic.passed and synthetic.synthetic
    assert "used synthetic cases" in refusal()

    failed = run(world, protocol, cases_file(tmp_path, "f.csv", n=1000))
    assert not failed.passed and not failed.synthetic
    assert "failed its criteria" in refusal()

    passed = run(world, protocol, cases_file(tmp_path, "p.csv"))
    assert passed.passed and not passed.synthetic
    assert acceptance_guard(deployment) == []

    run(world, protocol, cases_file(tmp_path, "f2.csv", n=1000))  # a later failure replaces it
    assert acceptance_guard(deployment) != []


def test_a_non_member_is_refused_as_such_even_on_a_locked_protocol(world: dict[str, Any]) -> None:
    protocol = locked_protocol(world)
    with pytest.raises(services.NotAllowed, match="IV.A.1"):
        services.lock(world["scientist"], protocol)


def test_an_amendment_cannot_be_edited_back_to_the_locked_content(world: dict[str, Any]) -> None:
    v1 = locked_protocol(world)
    v2 = services.amend(
        world["scientist"], v1, source=passing_source(threshold=0.4), reason="Vendor's new point."
    )
    with pytest.raises(services.EvaluationError, match="same content as the locked one"):
        services.edit_draft(world["scientist"], v2, source=passing_source())
    v2.refresh_from_db()
    assert "threshold: 0.4" in v2.source
    with pytest.raises(services.EvaluationError, match="a draft is edited"):
        services.amend(world["scientist"], v1, source=passing_source(threshold=0.3), reason="x")


# --- amendments after results (IV.E.2) and reruns of a cases file -----------------------------


def _accept(world: dict[str, Any], protocol: AcceptanceProtocol) -> Any:
    """The governance group's passed decision accepting a post-hoc amendment."""
    from radgov.governance.models import GovernanceGroup

    group = GovernanceGroup.objects.first() or governance.create_group(
        world["admin"], name="AI group", members=[(world["member"], "chair")]
    )
    meeting = governance.create_meeting(
        world["member"], group, held_on=timezone.localdate(), attendees=[world["member"]]
    )
    decision = governance.record_decision(
        world["member"],
        meeting,
        kind="accept_amendment",
        motion="Accept protocol version 2",
        rationale="The vendor's threshold was known before the run; the subgroups stay",
        protocol=protocol,
    )
    governance.cast_vote(world["member"], decision, "yes")
    return decision


def test_an_amendment_after_any_run_is_post_hoc(world: dict[str, Any], tmp_path: Path) -> None:
    v1 = locked_protocol(world)
    run(world, v1, cases_file(tmp_path, "f.csv", n=1000))
    v2 = services.lock(
        world["member"],
        services.amend(world["scientist"], v1, source=passing_source(threshold=0.4), reason="x"),
    )
    assert v2.amended_after_results
    # v2 had no runs of its own; results of v1 were seen all the same
    v3 = services.amend(world["scientist"], v2, source=passing_source(threshold=0.3), reason="y")
    assert v3.amended_after_results


def test_a_post_hoc_amendment_is_evidence_only_once_the_group_accepts_it(
    world: dict[str, Any], tmp_path: Path
) -> None:
    deployment = world["deployment"]
    v1 = locked_protocol(world, passing_source(threshold=0.9))
    failed = run(world, v1, cases_file(tmp_path, "cases.csv"))
    assert not failed.passed
    v2 = services.amend(
        world["scientist"], v1, source=passing_source(), reason="drop the failing threshold"
    )
    v2 = services.lock(world["member"], v2)
    rerun = run(world, v2, cases_file(tmp_path, "renamed.csv"))  # the same file, renamed
    assert rerun.passed
    (missing,) = acceptance_guard(deployment)
    assert "amended after results" in missing and "not accepted the amendment" in missing
    assert rerun.repeats == failed  # the same SHA-256 as the failed run's file
    assert failed.repeats is None

    decision = _accept(world, v2)
    assert acceptance_guard(deployment) == []
    assert decision.deployment == deployment


def test_only_a_post_hoc_amendment_is_accepted_by_decision(world: dict[str, Any]) -> None:
    v1 = locked_protocol(world)
    v2 = services.amend(world["scientist"], v1, source=passing_source(threshold=0.6), reason="t")
    assert not v2.amended_after_results
    with pytest.raises(governance.GovernanceError, match="was not amended after results"):
        _accept(world, v2)
    with pytest.raises(governance.GovernanceError, match="names the protocol"):
        _accept(world, None)  # type: ignore[arg-type]
