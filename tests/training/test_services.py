"""The training services' rules: each refusal names the rule and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from radgov.accounts.models import User
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.training import services
from radgov.training.models import TrainingProcedure, TrainingRecord
from tests.factories import make_user
from tests.training.helpers import ago, make_deployment

pytestmark = pytest.mark.django_db
UTC = dt.UTC


@pytest.mark.parametrize(
    "start,months,end",
    [
        (dt.datetime(2026, 1, 31, 9, tzinfo=UTC), 1, dt.datetime(2026, 2, 28, 9, tzinfo=UTC)),
        (dt.datetime(2028, 1, 31, 9, tzinfo=UTC), 1, dt.datetime(2028, 2, 29, 9, tzinfo=UTC)),
        (dt.datetime(2026, 11, 23, 9, tzinfo=UTC), 12, dt.datetime(2027, 11, 23, 9, tzinfo=UTC)),
        (dt.datetime(2026, 11, 30, 9, tzinfo=UTC), 3, dt.datetime(2027, 2, 28, 9, tzinfo=UTC)),
    ],
)
def test_add_months(start: dt.datetime, months: int, end: dt.datetime) -> None:
    assert services.add_months(start, months) == end


def procedure_args(world, **changes):  # type: ignore[no-untyped-def]
    args = {
        "model_version": world["mv"],
        "title": "t",
        "content": "c",
        "complexity": "basic",
        "complexity_note": "n",
        "required_roles": ["physician"],
    }
    return {**args, **changes}


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"title": "  "}, "needs a title"),
        ({"content": ""}, r"IV\.F\.1: a training procedure is documented"),
        ({"complexity_note": ""}, r"IV\.F\.1: say why this complexity suits"),
        ({"complexity": "expert"}, "unknown complexity 'expert'"),
        ({"required_roles": []}, r"IV\.F\.1: say which roles"),
        ({"required_roles": ["radiologist"]}, "unknown role 'radiologist'"),
        ({"validity_months": 0}, "validity must be 1 to 60 months, not 0"),
        ({"validity_months": 61}, "validity must be 1 to 60 months, not 61"),
    ],
)
def test_bad_procedures_are_refused(world, changes, message) -> None:  # type: ignore[no-untyped-def]
    before = TrainingProcedure.objects.count()
    with pytest.raises(services.TrainingError, match=message):
        services.create_procedure(world["admin"], **procedure_args(world, **changes))
    assert TrainingProcedure.objects.count() == before


def test_who_writes_procedures(world) -> None:  # type: ignore[no-untyped-def]
    for outsider in (
        make_user("dr.x"),
        make_user("dr.champ", is_clinical_champion=True),
        make_user("it", role=Role.INFORMATICS),
    ):
        with pytest.raises(services.NotAllowed, match="governance-group members and admin"):
            services.create_procedure(outsider, **procedure_args(world))
    member = make_user("physicist", role=Role.MEDICAL_PHYSICIST, is_governance_member=True)
    assert services.create_procedure(member, **procedure_args(world)).created_by == member


def test_editing_a_procedure_keeps_the_expiry_of_records_already_made(world) -> None:  # type: ignore[no-untyped-def]
    doctor = make_user("dr.x")
    record = services.record_completion(doctor, procedure=world["procedure"])
    procedure = world["procedure"]
    services.update_procedure(
        world["admin"],
        procedure,
        title=procedure.title,
        content=procedure.content,
        complexity="advanced",
        complexity_note="Now with an assessment.",
        required_roles=["physician"],
        validity_months=6,
    )
    record.refresh_from_db()
    assert record.expires_at == services.add_months(record.completed_at, 12)
    later = services.record_completion(world["admin"], procedure=procedure, user=doctor)
    assert later.expires_at == services.add_months(later.completed_at, 6)


@service
def _disable(user: User) -> None:
    user.is_active = False
    user.save()


def test_completion_rules(world) -> None:  # type: ignore[no-untyped-def]
    admin, procedure = world["admin"], world["procedure"]
    doctor = make_user("dr.x")
    with pytest.raises(services.TrainingError, match="dated now; a trainer records past"):
        services.record_completion(doctor, procedure=procedure, completed_at=ago(days=2))
    with pytest.raises(services.TrainingError, match="cannot be completed in the future"):
        services.record_completion(
            admin,
            procedure=procedure,
            user=doctor,
            completed_at=timezone.now() + dt.timedelta(days=1),
        )
    with pytest.raises(services.TrainingError, match="someone other than the trainee"):
        services.record_completion(admin, procedure=procedure, user=doctor, trainer=doctor)
    with pytest.raises(services.NotAllowed, match="clinical champions record training"):
        services.record_completion(make_user("dr.y"), procedure=procedure, user=doctor)
    gone = make_user("dr.gone")
    _disable(gone)
    with pytest.raises(services.TrainingError, match="dr.gone's account is disabled"):
        services.record_completion(admin, procedure=procedure, user=gone)
    assert not TrainingRecord.objects.exists()


def test_a_champion_records_only_for_the_model_they_champion(world) -> None:  # type: ignore[no-untyped-def]
    doctor = make_user("dr.x")
    champion = make_user("dr.champ", is_clinical_champion=True)
    with pytest.raises(services.NotAllowed):
        services.record_completion(champion, procedure=world["procedure"], user=doctor)
    make_deployment(world["mv"], end_users=[doctor], champions=[champion])
    record = services.record_completion(champion, procedure=world["procedure"], user=doctor)
    assert record.recorded_by == champion and record.trainer == champion


def test_attesting_twice_is_one_attestation(world) -> None:  # type: ignore[no-untyped-def]
    doctor = make_user("dr.x")
    first = services.attest_ifu(doctor, world["mv"])
    again = services.record_completion(doctor, procedure=world["procedure"], attest_ifu=True)
    assert again.ifu_attestation == first
    assert services.attest_ifu(doctor, world["mv"]) == first


# --- who signs a training off (IV.F.1) ---------------------------------------------------------


def test_an_assessed_or_guided_training_is_signed_off_by_its_trainer(world) -> None:  # type: ignore[no-untyped-def]
    guided = services.create_procedure(
        world["admin"], **procedure_args(world, title="Guided", complexity="intermediate")
    )
    doctor, trainer = make_user("dr.x"), make_user("dr.trainer", is_governance_member=True)
    with pytest.raises(services.TrainingError, match="signed off by a trainer"):
        services.record_completion(doctor, procedure=guided)
    with pytest.raises(services.TrainingError, match="the trainer signs it off"):
        services.record_completion(world["admin"], procedure=guided, user=doctor, trainer=trainer)
    assert not TrainingRecord.objects.exists()
    record = services.record_completion(trainer, procedure=guided, user=doctor)
    assert (record.trainer, record.recorded_by, record.user) == (trainer, trainer, doctor)


def test_self_attestation_only_where_the_procedure_allows_it(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(services.TrainingError, match="IV.F.1: an advanced .*trainer"):
        services.create_procedure(
            world["admin"], **procedure_args(world, complexity="advanced", self_attestation=True)
        )
    basic = services.create_procedure(world["admin"], **procedure_args(world, title="Self-study"))
    assert not basic.self_attestation  # a procedure says so, or it is signed off
    with pytest.raises(services.TrainingError, match="signed off by a trainer"):
        services.record_completion(make_user("dr.x"), procedure=basic)
    record = services.record_completion(make_user("dr.y"), procedure=world["procedure"])
    assert record.trainer is None  # self-study the procedure allows
