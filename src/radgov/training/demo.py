"""The demo practice's training (IV.F): a procedure for every model version that
is piloted or deployed, and training records for their end-users, with gaps left
on purpose so that the conformance audit has something to show:

* the first end-user (by deployment, then username) has training that expired;
* the second has no training at all;
* everyone else is trained and has attested reading the current IFU;
* the first deployed model also has a supplemental training (IV.F.3) that one
  trained end-user completed.

Idempotent: a model version that has a procedure gets no other, and a person who
has a record for a model version gets no other.  Runs after the inventory's and
the governance group's demo; without their deployments it says so and skips."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from radgov.accounts.models import User
from radgov.training import services
from radgov.training.access import current_ifu, end_users_of
from radgov.training.models import TrainingProcedure, TrainingRecord

LIVE = ("pilot", "deployed")

COMPLEXITY = {  # by the product's category: how much a reader must learn
    "cadt": (
        "intermediate",
        "Triage reorders the worklist without a reader looking first: readers must know "
        "what the notification means, how often it misses, and that a study without one "
        "is not cleared.",
    ),
    "cade": (
        "intermediate",
        "Detection marks change what a reader looks at: readers work through cases with "
        "true and false marks before relying on them.",
    ),
    "cadx": (
        "advanced",
        "A diagnostic output can change the report's conclusion: hands-on cases with a "
        "trainer and a short assessment.",
    ),
    "generative": (
        "advanced",
        "Generated text can be fluent and wrong: readers are assessed on catching errors "
        "before they sign.",
    ),
    "quantification": (
        "basic",
        "A measurement the reader checks on the image: the IFU and a short briefing on "
        "where it fails suffice.",
    ),
}
DEFAULT_COMPLEXITY = (
    "intermediate",
    "A guided session with worked cases, as the use case is new to the practice.",
)


def _content(mv: Any) -> str:
    parts = [
        f"Training for {mv}.",
        "1. Read the instructions for use (IFU) and attest it on My training.",
    ]
    for label, text in (
        ("Intended purpose", mv.intended_purpose),
        ("Inputs it needs", mv.inputs),
        ("What it outputs and how to read it", mv.outputs),
        ("Known limitations", mv.limitations),
        ("What changes its performance", mv.performance_factors),
    ):
        if text:
            parts.append(f"{label}: {text}")
    parts.append(
        "2. Work through the practice's teaching cases (true and false positives, "
        "a missed finding) with the clinical champion."
    )
    parts.append(
        "3. Know how to report a problem: the issue form in radgov, or the clinical champion."
    )
    return "\n\n".join(parts)


def _procedure(admin: User, deployment: Any, roles: list[str]) -> tuple[TrainingProcedure, bool]:
    mv = deployment.model_version
    existing = TrainingProcedure.objects.filter(model_version=mv, is_supplemental=False).first()
    if existing is not None:
        return existing, False
    complexity, note = COMPLEXITY.get(mv.product.category, DEFAULT_COMPLEXITY)
    made = services.create_procedure(
        admin,
        model_version=mv,
        title=f"Using {mv.product.name} {mv.version}",
        content=_content(mv),
        complexity=complexity,
        complexity_note=note,
        required_roles=roles,
        validity_months=12,
    )
    return made, True


def _supplemental(admin: User, deployment: Any, roles: list[str]) -> TrainingProcedure:
    mv = deployment.model_version
    existing = TrainingProcedure.objects.filter(model_version=mv, is_supplemental=True).first()
    if existing is not None:
        return existing
    return services.create_procedure(
        admin,
        model_version=mv,
        title=f"{mv.product.name} {mv.version}: what readers reported after six months",
        content=(
            "Cases readers flagged since go-live, what the governance group decided about "
            "each, and how to tell the vendor."
        ),
        complexity="basic",
        complexity_note="A 20-minute briefing on issues found in use (IV.F.3).",
        required_roles=roles,
        validity_months=12,
        is_supplemental=True,
    )


def load(stdout: Any) -> None:
    from radgov.inventory.models import Deployment

    admin = User.objects.filter(username="admin").first()
    deployments = list(
        Deployment.objects.filter(status__in=LIVE)
        .select_related("model_version__product")
        .order_by("pk")
    )
    if admin is None or not deployments:
        stdout.write("Training: no piloted or deployed model in the demo inventory; skipped.")
        return
    procedures = records = 0
    pairs: list[tuple[Any, User]] = []
    seen: set[tuple[int, int]] = set()
    for deployment in deployments:
        people = end_users_of(deployment)
        if not people:
            continue
        roles = sorted({p.role for p in people})
        procedure, made = _procedure(admin, deployment, roles)
        procedures += made
        for person in people:
            key = (deployment.model_version_id, person.pk)
            if key not in seen:
                seen.add(key)
                pairs.append((procedure, person))
    now = timezone.now()
    supplemental_done = False
    for index, (procedure, person) in enumerate(pairs):
        mv = procedure.model_version
        if person.role not in procedure.required_roles:
            continue
        if TrainingRecord.objects.filter(user=person, model_version=mv).exists():
            continue
        if index == 0:  # training that expired: trained 14 months ago, valid 12
            services.record_completion(
                admin,
                procedure=procedure,
                user=person,
                completed_at=now - dt.timedelta(days=425),
                trainer=admin,
                notes="Demo: expired on purpose.",
            )
            if current_ifu(mv) is not None:
                services.attest_ifu(person, mv)
            records += 1
        elif index == 1:
            continue  # left untrained on purpose
        else:
            services.record_completion(
                person, procedure=procedure, attest_ifu=current_ifu(mv) is not None
            )
            records += 1
            deployment = next(d for d in deployments if d.model_version_id == mv.pk)
            if not supplemental_done and deployment.status == "deployed":
                extra = _supplemental(admin, deployment, procedure.required_roles)
                services.record_completion(person, procedure=extra)
                records += 1
                supplemental_done = True
    stdout.write(
        f"Training: {procedures} procedures and {records} records added "
        f"({len(pairs)} end-user and model pairs; one expired and one untrained on purpose)."
    )
