"""``Lookup``: a queryset's SQL made once, then run with each call's arguments."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from radgov.core import identity, machines
from radgov.core.models import AuditEntry, Machine, MachineKind, PatientIdentity
from radgov.core.models.lookup import Lookup, LookupShapeError
from radgov.core.roles import Role
from radgov.core.services import service
from tests.factories import make_user

from .audit_support import audit_key  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("audit_key")]


@pytest.fixture
def peers():
    admin = make_user("lookup-admin", role=Role.ADMINISTRATOR)
    return [
        machines.register(
            admin,
            kind="dicom_peer",
            name=f"dicom:{ae}",
            ae_title=ae,
            address=f"10.0.0.{n}",
            grants=["gateway.store"],
        )
        for n, ae in enumerate(["CT_ONE", "CT_TWO", "MR_ONE"], start=1)
    ]


def fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_each_call_runs_the_sql_made_on_the_first_with_its_own_arguments(peers):
    by_name = Lookup[Machine](lambda name: Machine.objects.filter(name=name).order_by("pk"))
    for peer in [*peers, peers[0]]:
        found = by_name(peer.name)
        assert [fields(m) for m in found] == [fields(Machine.objects.get(pk=peer.pk))]
        assert found[0].grants == ["gateway.store"]  # a JSON column, converted as the ORM does
    assert by_name("dicom:NOBODY") == []
    with pytest.raises(LookupShapeError, match="not None"):
        by_name(None)  # the ORM's filter(name=None) is IS NULL, which this SQL is not


def test_constant_filters_come_before_the_arguments_and_rows_can_be_values(peers):
    older = Lookup[int](
        lambda last: (
            Machine.objects.filter(kind=MachineKind.DICOM_PEER)
            .filter(pk__lte=last)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    )
    pairs = Lookup[tuple](
        lambda address, ae: (
            Machine.objects.filter(address=address)
            .filter(ae_title=ae)
            .values_list("name", "is_active")
        )
    )
    keys = [p.pk for p in peers]
    assert older(keys[1]) == keys[:2]
    assert older(keys[2]) == keys
    assert pairs("10.0.0.3", "MR_ONE") == [("dicom:MR_ONE", True)]
    assert pairs("10.0.0.3", "CT_ONE") == []


def test_annotations_and_encrypted_columns_come_back_as_the_orm_gives_them(peers):
    with_kind = Lookup[Machine](
        lambda name: Machine.objects.annotate(what=F("kind")).filter(name=name)
    )
    assert with_kind(peers[2].name)[0].what == MachineKind.DICOM_PEER
    patients = [identity.get_or_create_patient(mrn) for mrn in ("MRN-1", "MRN-2")]
    by_pseudonym = Lookup[PatientIdentity](
        lambda key: PatientIdentity.objects.filter(pseudonym=key)
    )
    for patient in patients:
        (found,) = by_pseudonym(patient.pseudonym)
        assert fields(found) == fields(PatientIdentity.objects.get(pk=patient.pk))


@pytest.mark.parametrize(
    "build, words",
    [
        (lambda name: Machine.objects.filter(name=name).filter(kind="task"), "last parameters"),
        (lambda name: Machine.objects.filter(name__icontains=name), "one comparison each"),
        (lambda name: Machine.objects.filter(name=name).select_related("created_by"), "relations"),
        (lambda name: Machine.objects.filter(name=name).values("pk"), "values_list rows"),
        (lambda name: Machine.objects.filter(name=F("description")), "one comparison each"),
    ],
    ids=["argument-not-last", "icontains", "select-related", "values", "expression"],
)
def test_a_queryset_it_cannot_run_from_its_sql_is_refused_by_name(peers, build, words):
    with pytest.raises(LookupShapeError, match=words):
        Lookup[Machine](build)(peers[0].name)


def test_a_row_locked_in_a_service_is_saved_without_being_read_again(peers):
    locked = Lookup[Machine](lambda pk: Machine.objects.select_for_update().filter(pk=pk))

    def rename(load):
        @service
        def run():
            machine = load()
            machine.description = f"renamed {machine.pk}"
            machine.save()

        with CaptureQueriesContext(connection) as queries:
            run()
        return [q["sql"] for q in queries.captured_queries if "core_machine" in q["sql"]]

    by_lookup = rename(lambda: locked(peers[0].pk)[0])
    by_orm = rename(lambda: Machine.objects.select_for_update().get(pk=peers[1].pk))
    assert len(by_lookup) == len(by_orm) == 2  # the lock and the update: no read before
    entry = AuditEntry.objects.filter(object_id=str(peers[0].pk)).order_by("-pk").first()
    assert entry.changes["description"] == ["", f"renamed {peers[0].pk}"]
