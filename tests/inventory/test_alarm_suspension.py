"""A monitoring alarm suspends a deployment when, and only when, the governance group allowed
that machine to (IV.G); the move is the alarm's act in the audit trail, naming the standing
permission; people without the governance capacity are refused, and resuming is a person's."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from radgov.accounts.models import User
from radgov.core import machines, policy
from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.inventory import lifecycle
from radgov.inventory.models import AlarmSuspension, Deployment, DeploymentTransition
from radgov.inventory.stages import Stage
from tests.factories import client_for, make_user, post_json, problem
from tests.inventory.conftest import move

pytestmark = pytest.mark.django_db
TASK = "tests.drift_alarm"
OTHER_TASK = "tests.other_alarm"


@pytest.fixture(autouse=True)
def declared_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two periodic tasks declared with the suspension grant, as monitoring's TASKS will."""
    for name in (TASK, OTHER_TASK):
        monkeypatch.setitem(policy.all_tasks(), name, frozenset({lifecycle.SUSPEND_ON_ALARM}))


@db_periodic_task(crontab(minute="*/5"), name="tests.drift_alarm")
@machines.task(TASK)
def drift_alarm() -> list[int]:
    """A periodic task as monitoring will write one: suspend what drifted."""
    suspended = []
    for d in Deployment.objects.filter(status=Stage.DEPLOYED):
        lifecycle.suspend_on_alarm(
            machines.acting_machine(),
            d,
            alarm="drift",
            reason="AUC 0.71 over the last 7 days, below the 0.80 stop rule",
        )
        suspended.append(d.pk)
    return suspended


@pytest.fixture
def live(ready: Deployment, people: dict[str, User]) -> Deployment:
    return move(people["gov"], ready, Stage.DEPLOYED)


def test_a_periodic_task_suspends_a_deployment_as_the_governance_group_allowed(
    live: Deployment, people: dict[str, User]
) -> None:
    task = machines.task_principal(TASK)
    allowed = lifecycle.allow_alarm_suspension(people["gov"], live, task, note="decision 12")
    assert drift_alarm.call_local() == [live.pk]
    live.refresh_from_db()
    assert live.status == Stage.SUSPENDED
    step = DeploymentTransition.objects.filter(deployment=live).order_by("-at", "-id").first()
    assert (step.by, step.by_machine, step.alarm_suspension) == (None, task, allowed)
    assert step.reason.startswith("alarm drift: AUC 0.71")
    act = AuditEntry.objects.get(action="execute", object_type="inventory.deployment")
    assert (act.actor_name, act.actor_role, act.actor_id) == (
        "task:tests.drift_alarm",
        "machine:task",
        None,
    )
    assert act.detail == {
        "act": "suspend on alarm",
        "alarm": "drift",
        "configuration": allowed.pk,
        "allowed_by": people["gov"].pk,
        "from": "deployed",
    }
    moved = AuditEntry.objects.filter(object_type="inventory.deployment", action="update").last()
    assert moved.actor_name == "task:tests.drift_alarm" and moved.changes["status"] == [
        "deployed",
        "suspended",
    ]
    assert drift_alarm.call_local() == []  # firing again on a suspended deployment: nothing


def test_a_person_without_the_governance_capacity_is_refused_everything(
    live: Deployment, people: dict[str, User]
) -> None:
    task = machines.task_principal(TASK)
    for who in ("physician", "tech", "champion", "vendor", "informatics"):
        with pytest.raises(lifecycle.NotPermitted):
            lifecycle.transition(people[who], live, Stage.SUSPENDED, reason="I think it drifts")
        with pytest.raises(lifecycle.NotPermitted):
            lifecycle.allow_alarm_suspension(people[who], live, task)
        with pytest.raises(lifecycle.NotPermitted, match="only a machine"):
            lifecycle.suspend_on_alarm(people[who], live, alarm="drift", reason="x")
    live.refresh_from_db()
    assert live.status == Stage.DEPLOYED and not AlarmSuspension.objects.exists()


def test_a_machine_without_the_configuration_is_refused(
    live: Deployment, people: dict[str, User]
) -> None:
    lifecycle.allow_alarm_suspension(people["gov"], live, machines.task_principal(TASK))
    other = machines.task_principal(OTHER_TASK)  # holds the grant, but not allowed here
    with (
        machines.acting_as(other),
        pytest.raises(lifecycle.NotPermitted, match="has not allowed task:tests.other_alarm"),
    ):
        lifecycle.suspend_on_alarm(other, live, alarm="drift", reason="x")
    live.refresh_from_db()
    assert live.status == Stage.DEPLOYED


def test_a_withdrawn_permission_no_longer_allows_and_a_machine_never_resumes(
    live: Deployment, people: dict[str, User]
) -> None:
    task = machines.task_principal(TASK)
    allowed = lifecycle.allow_alarm_suspension(people["gov"], live, task)
    assert lifecycle.allow_alarm_suspension(people["admin"], live, task) == allowed  # stands once
    drift_alarm.call_local()
    with machines.acting_as(task), pytest.raises(lifecycle.NotPermitted):
        lifecycle.transition(task, live, Stage.DEPLOYED)  # resuming is a person's decision
    move(people["gov"], live, Stage.DEPLOYED)
    lifecycle.withdraw_alarm_suspension(people["gov"], allowed)
    with pytest.raises(lifecycle.NotPermitted, match="has not allowed"):
        drift_alarm.call_local()
    live.refresh_from_db()
    assert live.status == Stage.DEPLOYED


def test_a_machine_must_hold_the_grant_and_act_as_itself(
    live: Deployment, people: dict[str, User]
) -> None:
    admin = people["admin"]
    peer = machines.register(
        admin, kind="dicom_peer", name="dicom:PACS", ae_title="PACS", address="10.0.0.9"
    )
    with pytest.raises(lifecycle.LifecycleError, match="does not hold the grant"):
        lifecycle.allow_alarm_suspension(people["gov"], live, peer)
    with (
        machines.acting_as(peer),
        pytest.raises(lifecycle.NotPermitted, match="only a machine holding"),
    ):
        lifecycle.suspend_on_alarm(peer, live, alarm="drift", reason="x")
    task = machines.task_principal(TASK)
    lifecycle.allow_alarm_suspension(people["gov"], live, task)
    with pytest.raises(lifecycle.NotPermitted, match="must act as itself"):
        lifecycle.suspend_on_alarm(task, live, alarm="drift", reason="x")  # no acting context


def test_an_api_client_suspends_through_the_api_with_its_credential_and_nothing_else(
    live: Deployment, people: dict[str, User]
) -> None:
    admin = client_for(people["admin"])
    made = post_json(
        admin,
        "/api/machines",
        {"kind": "api_client", "name": "api:monitor", "grants": [lifecycle.SUSPEND_ON_ALARM]},
    )
    assert made.status_code == 201, made.content
    issued = post_json(admin, f"/api/machines/{made.json()['id']}/credentials", {"name": "prod"})
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {issued.json()['secret']}"}
    url = f"/api/inventory/deployments/{live.pk}/suspend-on-alarm"
    body = json.dumps({"alarm": "override-rate", "reason": "overrides doubled this week"})
    machine = Client()
    assert "has not allowed api:monitor" in problem(
        machine.post(url, body, content_type="application/json", **bearer), 403
    )
    allowed = post_json(
        client_for(people["gov"]),
        f"/api/inventory/deployments/{live.pk}/alarm-suspensions",
        {"machine_id": made.json()["id"], "note": "decision 14"},
    )
    assert allowed.status_code == 201 and allowed.json()["machine"] == "api:monitor"
    done = machine.post(url, body, content_type="application/json", **bearer)
    assert done.status_code == 200 and done.json()["status"] == "suspended"
    history = (
        client_for(people["gov"]).get(f"/api/inventory/deployments/{live.pk}").json()["history"]
    )
    assert history[-1]["by"] == "api:monitor"
    # the credential opens no other route, and a person cannot use the machine's route
    assert problem(machine.get("/api/inventory/products", **bearer), 403).startswith(
        "no grant of this machine"
    )
    refused = post_json(client_for(people["gov"]), url, body)
    assert "role not permitted" in problem(refused, 403)
    for who in ("physician", "vendor"):
        denied = post_json(
            client_for(people[who]),
            f"/api/inventory/deployments/{live.pk}/alarm-suspensions",
            {"machine_id": made.json()["id"]},
        )
        assert denied.status_code == 403


def test_nobody_but_an_administrator_manages_machines_over_the_api(people: dict[str, User]) -> None:
    for role in (Role.PHYSICIAN, Role.INFORMATICS, Role.COMPLIANCE, Role.VENDOR):
        c = client_for(make_user(f"api-{role}", role=role))
        assert c.get("/api/machines").status_code == 403
        assert (
            post_json(c, "/api/machines", {"kind": "api_client", "name": "api:x"}).status_code
            == 403
        )
