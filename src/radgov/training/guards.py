"""The training conditions on a deployment's lifecycle (IV.F), registered with
the inventory's lifecycle in ``TrainingConfig.ready``.

No pilot and no deployment without a documented training procedure for the
model version; and no pilot until every member of the pilot group is trained.
A guard returns sentences saying what is missing (empty when nothing is)."""

from __future__ import annotations

from radgov.inventory.lifecycle import fact, remember
from radgov.training.access import missing_training, training_statuses
from radgov.training.models import TrainingProcedure


def has_procedure(model_version) -> bool:  # type: ignore[no-untyped-def]
    return TrainingProcedure.objects.filter(
        model_version=model_version, is_supplemental=False
    ).exists()


def procedure_guard(deployment) -> list[str]:  # type: ignore[no-untyped-def]
    version = deployment.model_version
    if fact("training.has_procedure", version.pk, lambda: has_procedure(version)):
        return []
    return [f"IV.F.1: no training procedure for {deployment.model_version}"]


def pilot_guard(deployment) -> list[str]:  # type: ignore[no-untyped-def]
    problems = procedure_guard(deployment)
    untrained = fact(
        "training.untrained_pilots",
        deployment.pk,
        lambda: [
            u.get_username()
            for u in sorted(deployment.pilot_users.all(), key=lambda u: u.username)
            if missing_training(u, deployment.model_version) is not None
        ],
    )
    if untrained:
        problems.append(f"IV.F: pilot users not yet trained: {', '.join(untrained)}")
    return problems


def preload(deployments) -> None:  # type: ignore[no-untyped-def]
    """What the guards above read, for a whole list of deployments (pilot users loaded)."""
    versions = {d.model_version_id for d in deployments}
    with_procedure = set(
        TrainingProcedure.objects.filter(model_version_id__in=versions, is_supplemental=False)
        .order_by()
        .values_list("model_version_id", flat=True)
        .distinct()
    )
    for version in versions:
        remember("training.has_procedure", version, version in with_procedure)
    pairs = [(u, d.model_version) for d in deployments for u in d.pilot_users.all()]
    statuses = training_statuses(pairs) if pairs else {}
    for d in deployments:
        pilots = sorted(d.pilot_users.all(), key=lambda u: u.username)
        untrained = [
            u.get_username() for u in pilots if not statuses[(u.pk, d.model_version_id)].trained
        ]
        remember("training.untrained_pilots", d.pk, untrained)


def register() -> None:
    from radgov.inventory.lifecycle import LIFECYCLE
    from radgov.inventory.stages import Stage

    LIFECYCLE.register(pilot_guard, Stage.PILOT)
    LIFECYCLE.register(procedure_guard, Stage.DEPLOYED)
    LIFECYCLE.register_preload(preload)
