"""The lifecycle guards: no pilot or deployment without a training procedure, and
no pilot with untrained pilot users (IV.F)."""

from __future__ import annotations

import pytest

from radgov.core.roles import Role
from radgov.inventory import lifecycle
from radgov.training import guards, services
from tests.factories import make_user
from tests.training.helpers import make_deployment, make_version, upload_ifu

pytestmark = pytest.mark.django_db


def test_no_procedure_blocks_pilot_and_deployment() -> None:
    mv = make_version()
    deployment = make_deployment(mv)
    message = "IV.F.1: no training procedure for Acme AI ICH Triage 2.1"
    assert guards.procedure_guard(deployment) == [message]
    assert message in lifecycle.missing_for(deployment, "deployed")
    assert message in lifecycle.missing_for(deployment, "pilot")
    assert message not in lifecycle.missing_for(deployment, "approved")


def test_supplemental_procedure_alone_is_not_a_training_procedure(world) -> None:  # type: ignore[no-untyped-def]
    mv = make_version(version="9")
    services.create_procedure(
        world["admin"],
        model_version=mv,
        title="Tips",
        content="x",
        complexity="basic",
        complexity_note="short",
        required_roles=[Role.PHYSICIAN],
        is_supplemental=True,
    )
    assert guards.procedure_guard(make_deployment(mv)) != []


def test_pilot_needs_every_pilot_user_trained(world) -> None:  # type: ignore[no-untyped-def]
    mv, procedure = world["mv"], world["procedure"]
    a, b, c = make_user("dr.a"), make_user("dr.b"), make_user("dr.c")
    services.record_completion(b, procedure=procedure, attest_ifu=True)
    deployment = make_deployment(mv, pilot_users=[c, a, b])
    assert guards.procedure_guard(deployment) == []
    assert guards.pilot_guard(deployment) == ["IV.F: pilot users not yet trained: dr.a, dr.c"]
    for person in (a, c):
        services.record_completion(person, procedure=procedure, attest_ifu=True)
    assert guards.pilot_guard(deployment) == []


def test_the_transition_is_refused_with_the_training_reasons(world) -> None:  # type: ignore[no-untyped-def]
    mv = world["mv"]
    pilot = make_user("dr.p")
    deployment = make_deployment(mv, pilot_users=[pilot])
    with pytest.raises(lifecycle.LifecycleError) as refused:
        lifecycle.transition(world["admin"], deployment, "pilot")
    assert "IV.F: pilot users not yet trained: dr.p" in refused.value.missing
    deployment.refresh_from_db()
    assert deployment.status == "approved"


def test_new_ifu_makes_pilot_users_untrained_again(world) -> None:  # type: ignore[no-untyped-def]
    mv, procedure = world["mv"], world["procedure"]
    a = make_user("dr.a")
    services.record_completion(a, procedure=procedure, attest_ifu=True)
    deployment = make_deployment(mv, pilot_users=[a])
    assert guards.pilot_guard(deployment) == []
    upload_ifu(mv, "4")
    assert guards.pilot_guard(deployment) == ["IV.F: pilot users not yet trained: dr.a"]
