"""The training gate: who may see a model version's outputs (IV.F)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from radgov.core.models import AuditEntry
from radgov.core.roles import Role
from radgov.training import services
from radgov.training.access import (
    is_trained,
    missing_training,
    trained_users,
    untrained_end_users,
)
from radgov.training.models import TrainingRecord
from tests.factories import make_user
from tests.training.helpers import ago, make_deployment, make_version, upload_ifu

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(world):  # type: ignore[no-untyped-def]
    return world["admin"], world["mv"], world["procedure"]


def test_no_record_is_refused_with_the_reason(setup) -> None:  # type: ignore[no-untyped-def]
    _, mv, _ = setup
    doctor = make_user("dr.x")
    assert not is_trained(doctor, mv)
    assert missing_training(doctor, mv) == (
        "IV.F: dr.x has no current training record for Acme AI ICH Triage 2.1"
    )


def test_current_training_with_attestation_is_allowed(setup) -> None:  # type: ignore[no-untyped-def]
    _, mv, procedure = setup
    doctor = make_user("dr.x")
    record = services.record_completion(doctor, procedure=procedure, attest_ifu=True)
    assert record.ifu_document.version_label == "3" and record.ifu_attested_at is not None
    assert record.expires_at.year == record.completed_at.year + 1
    assert is_trained(doctor, mv) and missing_training(doctor, mv) is None
    assert list(trained_users(mv)) == [doctor]
    assert AuditEntry.objects.filter(
        object_type="training.trainingrecord", action="create"
    ).exists()


def test_expired_training_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    admin, mv, procedure = setup
    doctor = make_user("dr.x")
    services.attest_ifu(doctor, mv)
    services.record_completion(admin, procedure=procedure, user=doctor, completed_at=ago(days=370))
    reason = missing_training(doctor, mv)
    assert reason is not None and "training for Acme AI ICH Triage 2.1 expired on" in reason
    # it was current when it was fresh ...
    assert is_trained(doctor, mv, at=ago(days=300)) is False  # ... but the attestation came later
    # a renewal is a new record, and the old one is untouched
    services.record_completion(doctor, procedure=procedure)
    assert is_trained(doctor, mv)
    assert TrainingRecord.objects.filter(user=doctor).count() == 2


def test_the_check_at_a_past_moment(setup) -> None:  # type: ignore[no-untyped-def]
    admin, mv, procedure = setup
    doctor = make_user("dr.x")
    services.record_completion(admin, procedure=procedure, user=doctor, completed_at=ago(days=370))
    assert not is_trained(doctor, mv, at=ago(days=300))  # not attested then
    services.attest_ifu(doctor, mv)
    assert is_trained(doctor, mv, at=timezone.now() - dt.timedelta(days=400)) is False
    assert not is_trained(doctor, mv)  # expired now


def test_no_ifu_attestation_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    admin, mv, procedure = setup
    doctor = make_user("dr.x")
    record = services.record_completion(admin, procedure=procedure, user=doctor)
    assert record.ifu_attestation is None
    assert "dr.x has not attested reading the IFU (version 3)" in missing_training(doctor, mv)
    services.attest_ifu(doctor, mv)
    assert is_trained(doctor, mv)


def test_attesting_an_older_ifu_is_refused_after_a_new_one_is_uploaded(setup) -> None:  # type: ignore[no-untyped-def]
    _, mv, procedure = setup
    doctor = make_user("dr.x")
    services.record_completion(doctor, procedure=procedure, attest_ifu=True)
    assert is_trained(doctor, mv)
    upload_ifu(mv, "4")
    assert "not attested reading the IFU (version 4)" in missing_training(doctor, mv)
    assert list(trained_users(mv)) == []
    services.attest_ifu(doctor, mv)  # reading the new IFU restores access; no retraining
    assert is_trained(doctor, mv)


def test_no_ifu_on_file_means_nobody_is_trained(setup) -> None:  # type: ignore[no-untyped-def]
    admin, _, _ = setup
    mv = make_version(version="3.0")
    procedure = services.create_procedure(
        admin,
        model_version=mv,
        title="ICH Triage 3.0",
        content="What changed in 3.0.",
        complexity="basic",
        complexity_note="Same workflow as 2.1.",
        required_roles=[Role.PHYSICIAN],
        self_attestation=True,
    )
    doctor = make_user("dr.x")
    with pytest.raises(services.TrainingError, match="no IFU on file"):
        services.record_completion(doctor, procedure=procedure, attest_ifu=True)
    services.record_completion(doctor, procedure=procedure)
    assert re.search(r"IV\.F\.2: .* has no IFU on file", missing_training(doctor, mv))


def test_training_on_one_version_does_not_cover_another(setup) -> None:  # type: ignore[no-untyped-def]
    _, mv, procedure = setup
    other = make_version(version="2.2")
    upload_ifu(other, "1")
    doctor = make_user("dr.x")
    services.record_completion(doctor, procedure=procedure, attest_ifu=True)
    services.attest_ifu(doctor, other)
    assert is_trained(doctor, mv) and not is_trained(doctor, other)


def test_supplemental_training_does_not_replace_the_base_record(setup) -> None:  # type: ignore[no-untyped-def]
    admin, mv, procedure = setup
    supplemental = services.create_procedure(
        admin,
        model_version=mv,
        title="Six months in: false positives near the skull base",
        content="Cases shared by readers.",
        complexity="basic",
        complexity_note="A short briefing on one issue.",
        self_attestation=True,
        required_roles=[Role.PHYSICIAN],
        is_supplemental=True,
    )
    doctor = make_user("dr.x")
    with pytest.raises(services.TrainingError, match=r"IV\.F\.3: supplemental training follows"):
        services.record_completion(doctor, procedure=supplemental, attest_ifu=True)
    services.record_completion(admin, procedure=procedure, user=doctor, completed_at=ago(days=370))
    record = services.record_completion(doctor, procedure=supplemental, attest_ifu=True)
    assert record.is_supplemental
    # the fresh supplemental record does not count
    assert "expired on" in missing_training(doctor, mv)


def test_untrained_end_users_of_a_deployment(setup) -> None:  # type: ignore[no-untyped-def]
    admin, mv, procedure = setup
    trained, untrained, pilot = make_user("dr.a"), make_user("dr.b"), make_user("dr.c")
    services.record_completion(trained, procedure=procedure, attest_ifu=True)
    deployment = make_deployment(mv, end_users=[trained, untrained], pilot_users=[pilot, trained])
    assert untrained_end_users(deployment) == [untrained, pilot]
