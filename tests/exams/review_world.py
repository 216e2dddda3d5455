"""Review test data: a physician made a qualified end-user of the ICH deployment, trained
on its model version (training record and IFU attestation, through the training services),
and a governance decision allowing direct release.  Setup writes go through services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from radgov.core.roles import Role
from radgov.core.services import service
from radgov.governance.models import Decision, GovernanceGroup, Meeting
from radgov.inventory.models import Deployment
from radgov.training import services as training
from tests.factories import make_user
from tests.training.helpers import upload_ifu


@service
def add_end_user(deployment: Deployment, user: Any) -> None:
    deployment.end_users.add(user)


def train(user: Any, deployment: Deployment) -> None:
    """A base training record for the deployment's model version and the IFU attested."""
    mv = deployment.model_version
    admin = make_user(f"trainer-{user.pk}", role=Role.ADMINISTRATOR)
    if not mv.documents.filter(kind="ifu").exists():
        upload_ifu(mv, "1", at=timezone.now() - dt.timedelta(days=1))
    procedure = training.create_procedure(
        admin,
        model_version=mv,
        title="ICH triage for radiologists",
        content="Inputs, outputs, limitations.",
        complexity="basic",
        complexity_note="Changes worklist order.",
        required_roles=[Role.PHYSICIAN],
        self_attestation=True,
    )
    training.record_completion(user, procedure=procedure, attest_ifu=True)
    training.attest_ifu(user, mv)


def accepted_by_trained(doctor: Any, inference: Any) -> Any:
    """``doctor`` made a trained end-user of the result's deployment, then accepting it
    (concordant, the report stating it), which releases it."""
    from radgov.exams.services import review as gate

    add_end_user(inference.deployment, doctor)
    train(doctor, inference.deployment)
    return gate.review(
        doctor, inference, decision="accept", concordance="concordant", report_states_ai=True
    )


@service
def direct_release_decision(deployment: Deployment, *, why: str = "") -> Decision:
    group, _ = GovernanceGroup.objects.get_or_create(name="AI governance group")
    meeting = Meeting.objects.create(group=group, held_on=dt.date(2026, 1, 15))
    return Decision.objects.create(
        meeting=meeting,
        kind="other",
        motion="Release ICH triage notifications directly" if why else "",
        rationale=why,
        deployment=deployment,
    )
