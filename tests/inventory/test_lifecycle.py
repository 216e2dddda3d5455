"""The deployment lifecycle: every guard blocks with its message and changes nothing;
illegal moves are refused; only governance members and administrators move; a new
version re-enters review and replaces the old one only when it is deployed."""

from __future__ import annotations

from typing import Any

import pytest

from radgov.accounts.models import User
from radgov.core.models import AuditEntry
from radgov.core.services import service
from radgov.inventory import lifecycle, services
from radgov.inventory.lifecycle import LifecycleError, NotPermitted
from radgov.inventory.models import Deployment, DeploymentTransition, Document, ModelVersion
from radgov.inventory.stages import Stage
from tests.factories import cleared_product
from tests.inventory.conftest import move, pdf_upload

pytestmark = pytest.mark.django_db


def unchanged(deployment: Deployment, stage: Stage, transitions: int) -> None:
    deployment.refresh_from_db()
    assert deployment.status == stage
    assert DeploymentTransition.objects.filter(deployment=deployment).count() == transitions


def test_transition_records_history_and_audit(
    deployment: Deployment, people: dict[str, User], inventory_guards_only: Any
) -> None:
    before = AuditEntry.objects.filter(object_type="inventory.deployment").count()
    move(people["gov"], deployment, Stage.UNDER_REVIEW)
    deployment.refresh_from_db()
    assert deployment.status == Stage.UNDER_REVIEW
    row = DeploymentTransition.objects.get(deployment=deployment)
    assert (row.from_stage, row.to_stage, row.by) == ("requested", "under_review", people["gov"])
    entries = AuditEntry.objects.filter(object_type="inventory.deployment").count()
    assert entries == before + 1
    assert AuditEntry.objects.filter(object_type="inventory.deploymenttransition").exists()


def test_illegal_transition_is_refused_naming_the_allowed_moves(
    deployment: Deployment, people: dict[str, User], inventory_guards_only: Any
) -> None:
    with pytest.raises(LifecycleError) as err:
        lifecycle.transition(people["admin"], deployment, Stage.DEPLOYED)
    assert "cannot go from requested to deployed" in str(err.value)
    assert "under review, sunset" in str(err.value)
    unchanged(deployment, Stage.REQUESTED, 0)


def test_unknown_stage_is_refused(deployment: Deployment, people: dict[str, User]) -> None:
    with pytest.raises(LifecycleError, match="'live' is not a lifecycle stage"):
        lifecycle.transition(people["admin"], deployment, "live")


@pytest.mark.parametrize("who", ["tech", "physician", "vendor", "informatics"])
def test_only_governance_members_and_administrators_move(
    deployment: Deployment, people: dict[str, User], who: str
) -> None:
    with pytest.raises(NotPermitted, match="IV.A.1"):
        lifecycle.transition(people[who], deployment, Stage.UNDER_REVIEW)
    unchanged(deployment, Stage.REQUESTED, 0)


def test_administrator_moves(
    deployment: Deployment, people: dict[str, User], inventory_guards_only: Any
) -> None:
    assert move(people["admin"], deployment, Stage.UNDER_REVIEW).status == Stage.UNDER_REVIEW


def test_pilot_with_everything_in_place(ready: Deployment, people: dict[str, User]) -> None:
    assert lifecycle.missing_for(ready, Stage.PILOT) == []
    move(people["gov"], ready, Stage.PILOT)
    unchanged(ready, Stage.PILOT, 3)


def _remove_ifu(d: Deployment, people: dict[str, User], evidence: list[Any]) -> None:
    # no service deletes a document (they are kept); the test removes it as a service would
    service(Document.objects.filter(model_version=d.model_version).delete)()


def _remove_policy(d: Deployment, people: dict[str, User], evidence: list[Any]) -> None:
    services.update_deployment(people["admin"], d, output_release_policy="")


def _remove_pilot_group(d: Deployment, people: dict[str, User], evidence: list[Any]) -> None:
    services.update_deployment(people["admin"], d, pilot_users=[])


def _too_big_pilot_group(d: Deployment, people: dict[str, User], evidence: list[Any]) -> None:
    from tests.factories import make_user

    crowd = [make_user(f"pilot-{i}", role="physician") for i in range(11)]
    services.update_deployment(people["admin"], d, pilot_users=crowd)


def _remove_acceptance(d: Deployment, people: dict[str, User], evidence: list[Any]) -> None:
    evidence.clear()
    evidence.append(lambda dep: "no test here")  # a provider that holds nothing for it


# the refusal repeats why the provider holds no evidence
NO_ACCEPTANCE = f"{lifecycle.ACCEPTANCE_MISSING} for Acme AI HeadCheck ICH 2.1: no test here"
GUARDS = [
    (_remove_ifu, Stage.PILOT, "IV.F.2: no IFU document uploaded for version 2.1"),
    (_remove_policy, Stage.PILOT, "IV.C.2: no output-release policy recorded"),
    (_remove_pilot_group, Stage.PILOT, "no pilot group: name the small group of end-users"),
    (_too_big_pilot_group, Stage.PILOT, "the pilot group has 11 end-users"),
    (_remove_acceptance, Stage.PILOT, NO_ACCEPTANCE),
    (_remove_ifu, Stage.DEPLOYED, "IV.F.2: no IFU document uploaded for version 2.1"),
    (_remove_policy, Stage.DEPLOYED, "IV.C.2: no output-release policy recorded"),
    (_remove_acceptance, Stage.DEPLOYED, NO_ACCEPTANCE),
]


@pytest.mark.parametrize(("remove", "target", "message"), GUARDS)
def test_each_missing_piece_blocks_with_its_message(
    ready: Deployment,
    people: dict[str, User],
    inventory_guards_only: list[Any],
    remove: Any,
    target: Stage,
    message: str,
) -> None:
    remove(ready, people, inventory_guards_only)
    with pytest.raises(LifecycleError) as err:
        lifecycle.transition(people["gov"], ready, target)
    assert message in str(err.value)
    assert len(err.value.missing) == 1, err.value.missing
    unchanged(ready, Stage.APPROVED, 2)


def test_deployed_needs_qualified_end_users(ready: Deployment, people: dict[str, User]) -> None:
    services.update_deployment(people["admin"], ready, end_users=[])
    with pytest.raises(LifecycleError, match="III.A: no qualified end-users named"):
        lifecycle.transition(people["gov"], ready, Stage.DEPLOYED)
    unchanged(ready, Stage.APPROVED, 2)


def test_approved_needs_acceptance_evidence(
    deployment: Deployment, people: dict[str, User], inventory_guards_only: list[Any]
) -> None:
    move(people["gov"], deployment, Stage.UNDER_REVIEW)
    with pytest.raises(LifecycleError, match="IV.E: no passed local acceptance test"):
        lifecycle.transition(people["gov"], deployment, Stage.APPROVED)
    unchanged(deployment, Stage.UNDER_REVIEW, 1)
    inventory_guards_only.append(lambda d: None)  # a passed acceptance test or a waiver
    move(people["gov"], deployment, Stage.APPROVED)
    unchanged(deployment, Stage.APPROVED, 2)


def test_every_missing_item_is_listed_at_once(
    deployment: Deployment, people: dict[str, User], inventory_guards_only: list[Any]
) -> None:
    inventory_guards_only.append(lambda d: None)
    move(people["gov"], deployment, Stage.UNDER_REVIEW, Stage.APPROVED)
    inventory_guards_only.clear()  # a later run failed: the evidence is gone
    with pytest.raises(LifecycleError) as err:
        lifecycle.transition(people["gov"], deployment, Stage.PILOT)
    assert len(err.value.missing) == 4
    for fragment in ("IV.F.2", "IV.C.2", "no pilot group", "IV.E"):
        assert fragment in str(err.value)
    unchanged(deployment, Stage.APPROVED, 2)


def test_other_apps_guards_and_evidence_plug_in(
    ready: Deployment, people: dict[str, User], inventory_guards_only: list[Any]
) -> None:
    def approval(d: Deployment) -> list[str]:
        return ["IV.A: no approval decision recorded by the governance group"]

    lifecycle.LIFECYCLE.register(approval, Stage.DEPLOYED)
    with pytest.raises(ValueError, match="registered already"):
        lifecycle.LIFECYCLE.register(approval, Stage.DEPLOYED)  # register once
    with pytest.raises(LifecycleError) as err:
        lifecycle.transition(people["gov"], ready, Stage.DEPLOYED)
    assert err.value.missing == ["IV.A: no approval decision recorded by the governance group"]


def test_suspension_and_sunset_need_a_reason_and_sunset_is_final(
    ready: Deployment, people: dict[str, User]
) -> None:
    move(people["gov"], ready, Stage.DEPLOYED)
    with pytest.raises(LifecycleError, match="must say why"):
        lifecycle.transition(people["gov"], ready, Stage.SUSPENDED)
    unchanged(ready, Stage.DEPLOYED, 3)
    move(people["gov"], ready, Stage.SUSPENDED, reason="drift alert on the monitoring dashboard")
    move(people["gov"], ready, Stage.SUNSET, reason="vendor discontinued the product")
    with pytest.raises(LifecycleError, match="sunset is final"):
        lifecycle.transition(people["gov"], ready, Stage.UNDER_REVIEW)
    unchanged(ready, Stage.SUNSET, 5)


def test_deploying_sets_the_deployment_date(ready: Deployment, people: dict[str, User]) -> None:
    assert ready.deployment_date is None
    d = move(people["gov"], ready, Stage.DEPLOYED)
    assert d.deployment_date is not None


# --- a new version re-enters review -----------------------------------------------------------


def _new_version(people: dict[str, User], d: Deployment, label: str = "2.2") -> ModelVersion:
    return services.add_model_version(people["informatics"], d.model_version.product, version=label)


def test_new_version_never_changes_existing_deployments(
    ready: Deployment, people: dict[str, User]
) -> None:
    move(people["gov"], ready, Stage.DEPLOYED)
    _new_version(people, ready)
    ready.refresh_from_db()
    assert ready.model_version.version == "2.1" and ready.status == Stage.DEPLOYED
    with pytest.raises(services.InventoryError, match="model version never changes"):
        services.update_deployment(people["admin"], ready, model_version=ready.model_version)


def test_upgrade_re_enters_review_and_sunsets_the_old_only_when_deployed(
    ready: Deployment, people: dict[str, User], version: ModelVersion
) -> None:
    move(people["gov"], ready, Stage.DEPLOYED)
    v22 = _new_version(people, ready)
    services.upload_document(
        people["informatics"],
        v22,
        kind="ifu",
        version_label="Rev B",
        upload=pdf_upload(),
    )
    new = services.propose_upgrade(people["informatics"], ready, v22)
    assert new.status == Stage.UNDER_REVIEW and new.replaces == ready
    assert new.model_version == v22 and list(new.end_users.all()) == list(ready.end_users.all())
    assert "re-enters review" in new.transitions.get().reason
    ready.refresh_from_db()
    assert ready.status == Stage.DEPLOYED and ready.model_version == version

    with pytest.raises(services.InventoryError, match="already under way"):
        services.propose_upgrade(people["informatics"], ready, v22)

    move(people["gov"], new, Stage.APPROVED)
    ready.refresh_from_db()
    assert ready.status == Stage.DEPLOYED  # still the approved old version
    move(people["gov"], new, Stage.DEPLOYED)
    ready.refresh_from_db()
    assert ready.status == Stage.SUNSET
    last = ready.transitions.last()
    assert last is not None and "replaced by 2.2" in last.reason


def test_upgrade_stays_within_the_product(
    ready: Deployment, people: dict[str, User], version: ModelVersion
) -> None:
    other = cleared_product(
        people["admin"], vendor="Other", name="Other tool", category="cade", fda_number="K200001"
    )
    foreign = services.add_model_version(people["admin"], other, version="1.0")
    with pytest.raises(services.InventoryError, match="is not a version of"):
        services.propose_upgrade(people["admin"], ready, foreign)
    with pytest.raises(services.InventoryError, match="already runs version 2.1"):
        services.propose_upgrade(people["admin"], ready, version)
    assert Deployment.objects.count() == 1
