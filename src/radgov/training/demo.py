"""The demo practice's training (IV.F): a procedure for every model version with an
approved, piloted or deployed deployment, and training records for its people, with
gaps left on purpose so that the conformance audit has something to show:

* everyone in a pilot group is trained (a pilot cannot start otherwise);
* of the end-users who are in no pilot group, the first (by deployment, then
  username) has training that expired and the second has none;
* everyone else is trained and has attested reading the current IFU: a guided or
  assessed training signed off by its trainer (the clinical champion, or the chair for
  the champion), basic self-study self-attested;
* the first model anyone is trained on has a supplemental training (IV.F.3) that
  one trained end-user completed.

The inventory's demo runs first and moves deployments only as far as the guards
allow (training's among them), so a second ``radgov demo`` takes the approved ones
on to pilot or deployment.  This part is idempotent: a model version with a
procedure gets no other, a person with a record for a version gets no other.
Without the inventory's deployments it says so and skips."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from radgov.accounts.models import User
from radgov.inventory.selectors import current_ifu
from radgov.training import services
from radgov.training.access import end_users_of, trained_users
from radgov.training.models import SELF_ATTESTABLE, TrainingProcedure, TrainingRecord

# Who signs off a guided or assessed training (IV.F.1), first choice first: the clinical
# champion, the chair (who trains the champion), the administrator.
TRAINERS = ("dr.okafor", "dr.chen", "admin")

# Deployments that are live, or approved and about to go live (the inventory demo moves
# them on when the guards, training's among them, allow).
STAGES = ("approved", "pilot", "deployed")

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
        self_attestation=complexity in SELF_ATTESTABLE,  # else the trainer signs it off
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
        self_attestation=True,
    )


def _trainer(trainee: User, trainers: list[User]) -> User:
    """The first trainer who is not the trainee: nobody signs off their own training."""
    return next(t for t in trainers if t.pk != trainee.pk)


def _pairs(deployments: list[Any]) -> tuple[list[tuple[Any, User]], list[tuple[Any, User]]]:
    """(model version, person) pairs, each once: those in a pilot group (who must be
    trained before the pilot can start) and those who are end-users only."""
    pilots: dict[tuple[int, int], tuple[Any, User]] = {}
    others: dict[tuple[int, int], tuple[Any, User]] = {}
    for deployment in deployments:
        mv = deployment.model_version
        for person in deployment.pilot_users.order_by("username"):
            pilots[(mv.pk, person.pk)] = (mv, person)
        for person in deployment.end_users.order_by("username"):
            others.setdefault((mv.pk, person.pk), (mv, person))
    return list(pilots.values()), [v for k, v in others.items() if k not in pilots]


def load(stdout: Any) -> None:
    from radgov.inventory.models import Deployment

    admin = User.objects.filter(username="admin").first()
    deployments = list(
        Deployment.objects.filter(status__in=STAGES)
        .select_related("model_version__product__company")
        .order_by("pk")
    )
    if admin is None or not deployments:
        stdout.write("Training: no approved, piloted or deployed model in the demo; skipped.")
        return
    procedures: dict[int, TrainingProcedure] = {}
    made = records = 0
    for deployment in deployments:
        people = end_users_of(deployment)
        if people and deployment.model_version_id not in procedures:
            roles = sorted({p.role for p in people})
            procedures[deployment.model_version_id], new = _procedure(admin, deployment, roles)
            made += new
    pilots, others = _pairs(deployments)
    found = {u.username: u for u in User.objects.filter(username__in=TRAINERS)}
    trainers = [found[name] for name in TRAINERS if name in found]
    now = timezone.now()
    plan = [(mv, person, "trained") for mv, person in pilots]
    for index, (mv, person) in enumerate(others):
        plan.append((mv, person, {0: "expired", 1: "untrained"}.get(index, "trained")))
    for mv, person, fate in plan:
        procedure = procedures.get(mv.pk)
        if procedure is None or person.role not in procedure.required_roles:
            continue
        if (
            fate == "untrained"
            or TrainingRecord.objects.filter(user=person, model_version=mv).exists()
        ):
            continue
        if fate == "expired":  # trained 14 months ago on a 12-month procedure
            services.record_completion(
                admin,
                procedure=procedure,
                user=person,
                completed_at=now - dt.timedelta(days=425),
                trainer=admin,
                notes="Demo: left to expire on purpose.",
            )
            if current_ifu(mv) is not None:
                services.attest_ifu(person, mv)
        elif procedure.self_attestation:
            services.record_completion(
                person, procedure=procedure, attest_ifu=current_ifu(mv) is not None
            )
        else:  # the trainer signs it off; the trainee attests the IFU themselves
            services.record_completion(
                _trainer(person, trainers),
                procedure=procedure,
                user=person,
                notes="Guided session with the practice's teaching cases.",
            )
            if current_ifu(mv) is not None:
                services.attest_ifu(person, mv)
        records += 1
    records += _supplemental_training(admin, deployments, procedures)
    stdout.write(
        f"Training: {made} procedures and {records} records added; of the end-users who are "
        "not in a pilot group, one has training that expired and one none, on purpose."
    )


def _supplemental_training(
    admin: User, deployments: list[Any], procedures: dict[int, TrainingProcedure]
) -> int:
    """A supplemental training on the first model that anyone is trained on, completed
    by the first person trained on it (once)."""
    for deployment in deployments:
        mv = deployment.model_version
        procedure = procedures.get(mv.pk)
        if procedure is None:
            continue
        if TrainingProcedure.objects.filter(model_version=mv, is_supplemental=True).exists():
            return 0
        trained = trained_users(mv).order_by("username").first()
        if trained is None:
            continue
        extra = _supplemental(admin, deployment, procedure.required_roles)
        services.record_completion(trained, procedure=extra)
        return 1
    return 0
