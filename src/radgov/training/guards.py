"""The training conditions on a deployment's lifecycle (IV.F), registered with
the inventory's lifecycle in ``TrainingConfig.ready``.

No pilot and no deployment without a documented training procedure for the
model version; and no pilot until every member of the pilot group is trained.
A guard returns sentences saying what is missing (empty when nothing is)."""

from __future__ import annotations

from radgov.training.access import missing_training
from radgov.training.models import TrainingProcedure


def has_procedure(model_version) -> bool:  # type: ignore[no-untyped-def]
    return TrainingProcedure.objects.filter(
        model_version=model_version, is_supplemental=False
    ).exists()


def procedure_guard(deployment) -> list[str]:  # type: ignore[no-untyped-def]
    if has_procedure(deployment.model_version):
        return []
    return [f"IV.F.1: no training procedure for {deployment.model_version}"]


def pilot_guard(deployment) -> list[str]:  # type: ignore[no-untyped-def]
    problems = procedure_guard(deployment)
    untrained = [
        u.get_username()
        for u in deployment.pilot_users.order_by("username")
        if missing_training(u, deployment.model_version) is not None
    ]
    if untrained:
        problems.append(f"IV.F: pilot users not yet trained: {', '.join(untrained)}")
    return problems


def register() -> None:
    from radgov.inventory.lifecycle import register_guard
    from radgov.inventory.stages import Stage

    register_guard(Stage.PILOT, pilot_guard)
    register_guard(Stage.DEPLOYED, procedure_guard)
