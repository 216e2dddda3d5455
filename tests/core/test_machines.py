"""Machine principals: registered by an administrator, known by their peer identity or
credential, holding only declared grants, and named in the audit trail when they act."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import models
from django.utils import timezone

from radgov.core import identity, machines, policy
from radgov.core.audit import record
from radgov.core.models import AuditEntry, Machine, MachineCredential
from radgov.core.roles import Role
from tests.factories import make_user

from .audit_support import audit_key  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("audit_key")]
SUSPEND = "inventory.suspend_on_alarm"


@pytest.fixture
def admin():
    return make_user("machine-admin", role=Role.ADMINISTRATOR)


@pytest.fixture
def declared_task(monkeypatch):
    """A periodic task declared with the suspension grant, as an app's TASKS would."""
    monkeypatch.setitem(policy.all_tasks(), "tests.drift_alarm", frozenset({SUSPEND}))
    return "tests.drift_alarm"


def pacs(admin, **extra):
    fields = {
        "kind": "dicom_peer",
        "name": "dicom:PACS_MAIN",
        "ae_title": "PACS_MAIN",
        "address": "10.1.2.3",
    }
    return machines.register(admin, **{**fields, **extra})


def client_machine(admin, grants=()):
    return machines.register(admin, kind="api_client", name="api:orchestrator", grants=grants)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "robot", "name": "x:y"}, "kind: 'robot' is not a kind of machine"),
        ({"kind": "task", "name": "task:x"}, "kind: 'task' is not a kind of machine to register"),
        ({"kind": "api_client", "name": "dicom:X"}, "name: 'dicom:X' must be api:"),
        ({"kind": "api_client", "name": "api:has space"}, "must be api:"),
        (
            {"kind": "dicom_peer", "name": "dicom:PACS", "address": "10.0.0.1"},
            "calling AE title and its address",
        ),
        (
            {"kind": "dicom_peer", "name": "dicom:P", "ae_title": "X" * 17, "address": "h"},
            "at most 16",
        ),
        ({"kind": "mllp_peer", "name": "mllp:RIS"}, "an MLLP peer is known by its address"),
        (
            {"kind": "api_client", "name": "api:a", "grants": ["made.up"]},
            "'made.up' is not a declared grant",
        ),
        (
            {
                "kind": "dicom_peer",
                "name": "dicom:P",
                "ae_title": "P",
                "address": "h",
                "grants": [SUSPEND],
            },
            "cannot be held by a dicom peer",
        ),
    ],
)
def test_registration_refuses_what_breaks_a_rule_naming_it(admin, fields, message):
    with pytest.raises(machines.MachineError, match=message):
        machines.register(admin, **fields)
    assert not Machine.objects.exists()


def test_only_an_active_administrator_registers_and_it_is_audited(admin):
    for role in (Role.PHYSICIAN, Role.INFORMATICS, Role.COMPLIANCE):
        with pytest.raises(machines.NotPermitted):
            pacs(make_user(f"not-admin-{role}", role=role))
    peer = pacs(admin)
    with pytest.raises(machines.NotPermitted):  # a machine cannot register machines
        machines.register(peer, kind="api_client", name="api:sneaky")
    entry = AuditEntry.objects.get(object_type="core.machine", action="create")
    assert entry.changes["name"][1] == "dicom:PACS_MAIN"
    assert entry.changes["created_by_id"][1] == admin.pk
    machines.register(None, kind="mllp_peer", name="mllp:RIS", address="10.9.9.9")  # the console


def test_a_peer_is_found_by_address_and_calling_ae_title_while_active(admin):
    peer = pacs(admin)
    ris = machines.register(
        admin, kind="mllp_peer", name="mllp:RIS", address="10.9.9.9", application="RIS^HOSP"
    )
    assert machines.find_peer("dicom_peer", address="10.1.2.3", ae_title="PACS_MAIN") == peer
    assert machines.find_peer("dicom_peer", address="10.1.2.3", ae_title="OTHER") is None
    assert machines.find_peer("dicom_peer", address="10.6.6.6", ae_title="PACS_MAIN") is None
    assert machines.find_peer("mllp_peer", address="10.9.9.9", application="RIS^HOSP") == ris
    assert machines.find_peer("mllp_peer", address="10.9.9.9", application="LAB^HOSP") is None
    machines.deactivate(admin, peer)
    assert machines.find_peer("dicom_peer", address="10.1.2.3", ae_title="PACS_MAIN") is None


def test_what_a_machine_does_names_it_in_the_audit_trail_reads_of_patient_data_too(admin):
    peer = pacs(admin)
    patient = identity.get_or_create_patient("MRN-4242", issuer="HOSP")
    with machines.acting_as(peer, channel="dicom", client_address="10.1.2.3"):
        record(action="read", obj=patient, detail={"purpose": "hand the study to a model"})
        record(action="read", obj=patient, detail={"purpose": "match the model's result"})
    reads = list(AuditEntry.objects.filter(action="read").order_by("seq"))
    assert len(reads) == 2
    for entry in reads:
        assert (entry.actor_id, entry.actor_name, entry.actor_role) == (
            None,
            "dicom:PACS_MAIN",
            "machine:dicom_peer",
        )
        assert (entry.channel, entry.client_address, entry.event_code) == (
            "dicom",
            "10.1.2.3",
            "110110",
        )
    assert "MRN-4242" not in "".join(
        e.detail_json + e.changes_json for e in AuditEntry.objects.all()
    )


def test_a_machine_holds_only_declared_grants_for_its_kind_and_only_while_active(
    admin, declared_task
):
    api = client_machine(admin, grants=[SUSPEND])
    assert policy.machine_may(api, SUSPEND)
    assert not policy.machine_may(api, "inventory.something_else")
    assert not policy.machine_may(make_user("person", role=Role.ADMINISTRATOR), SUSPEND)
    task = machines.task_principal(declared_task)
    assert policy.machine_may(task, SUSPEND) and task.grants == []
    with pytest.raises(machines.MachineError, match="declared with the task"):
        machines.set_grants(admin, task, [SUSPEND])
    peer = pacs(admin)
    assert not policy.machine_may(peer, SUSPEND)
    machines.set_grants(admin, api, [])
    assert not policy.machine_may(Machine.objects.get(pk=api.pk), SUSPEND)
    machines.deactivate(admin, task)
    assert not policy.machine_may(Machine.objects.get(pk=task.pk), SUSPEND)


def test_a_periodic_task_runs_as_its_own_principal_made_once(declared_task):
    @machines.task(declared_task)
    def tick():
        return record(action="execute", object_type="test.tick")

    tick(), tick()
    (principal,) = Machine.objects.filter(kind="task")
    assert principal.name == "task:tests.drift_alarm"
    names = set(
        AuditEntry.objects.filter(object_type="test.tick").values_list("actor_name", "actor_role")
    )
    assert names == {("task:tests.drift_alarm", "machine:task")}
    with pytest.raises(machines.MachineError, match="not declared"):
        machines.task_principal("tests.undeclared")


def test_a_credential_is_issued_to_an_api_client_shown_once_and_refused_when_it_should_be(admin):
    api = client_machine(admin)
    with pytest.raises(machines.MachineError, match="only those get credentials"):
        machines.issue_credential(admin, pacs(admin), name="x")
    credential, secret = machines.issue_credential(admin, api, name="prod", days=30)
    assert secret.startswith("rgm_") and secret not in str(list(AuditEntry.objects.values()))
    assert machines.authenticate(secret) == (api, credential)
    assert MachineCredential.objects.get().last_used_at is not None
    for bad, why in [
        ("rgm_nonsense", "malformed"),
        (secret[:-2] + "xx", "unknown"),
        ("rg_abc_def", "malformed"),
    ]:
        with pytest.raises(machines.CredentialError, match=why):
            machines.authenticate(bad)
    models.QuerySet(MachineCredential).filter(pk=credential.pk).update(  # time passes
        expires_at=timezone.now() - timedelta(1)
    )
    with pytest.raises(machines.CredentialError, match="expired"):
        machines.authenticate(secret)
    second, secret2 = machines.issue_credential(admin, api, name="spare")
    machines.revoke_credential(admin, second)
    with pytest.raises(machines.CredentialError, match="revoked"):
        machines.authenticate(secret2)
    third, secret3 = machines.issue_credential(admin, api, name="last")
    machines.deactivate(admin, api)
    with pytest.raises(machines.CredentialError, match="revoked"):  # deactivating revokes
        machines.authenticate(secret3)
    created = AuditEntry.objects.filter(
        object_type="core.machinecredential", action="create"
    ).first()
    assert created.changes["digest"] == [None, "<changed>"]
