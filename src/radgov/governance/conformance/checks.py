"""The registry of conformance checks.

A check has an id, the clause of the practice parameter it cites (numbered as in
the spec's text, e.g. "IV.B.2.e"), a scope (the practice, or one deployment) and
a function returning a :class:`Result`: a status, a plain sentence of what was
found and, unless it passed, what would fix it.

Checks reuse the other apps' own rules rather than re-deriving them: the
inventory lifecycle's guards (``radgov.inventory.lifecycle``), the governance
guards and selectors, and the training gate (``radgov.training.access``).  A
requirement whose records live in a component that does not exist yet (local
acceptance testing, monitoring) is reported as ``not_checkable_yet``: never a
pass, never left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.apps import apps

from radgov.core.roles import Role
from radgov.governance import guards as gov_guards
from radgov.governance import selectors as gov
from radgov.governance.models import (
    CriterionCategory,
    DecisionKind,
    Framework,
    GovernanceGroup,
    ItemStatus,
    RegulatoryProfile,
)
from radgov.inventory import lifecycle
from radgov.inventory import selectors as inventory
from radgov.inventory.stages import Stage
from radgov.training import access as training
from radgov.training import guards as training_guards
from radgov.training.services import add_months

PRACTICE, DEPLOYMENT = "practice", "deployment"
# The stages a deployment is audited in: the model is in clinical use.
AUDITED_STAGES = (Stage.PILOT, Stage.DEPLOYED)


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a secret
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    NOT_CHECKABLE_YET = "not_checkable_yet"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {
    Status.PASS: "pass",
    Status.FAIL: "FAIL",
    Status.NOT_APPLICABLE: "not applicable",
    Status.NOT_CHECKABLE_YET: "not checkable yet",
}


@dataclass(frozen=True)
class Result:
    status: Status
    found: str
    fix: str = ""


def passed(found: str) -> Result:
    return Result(Status.PASS, found)


def failed(found: str, fix: str) -> Result:
    return Result(Status.FAIL, found, fix)


def not_applicable(found: str) -> Result:
    return Result(Status.NOT_APPLICABLE, found)


def not_checkable(component: str, found: str, fix: str) -> Result:
    return Result(
        Status.NOT_CHECKABLE_YET,
        f"not checkable yet: the {component} component does not exist. {found}",
        fix,
    )


@dataclass(frozen=True)
class Context:
    """What every check sees: the moment audited and the settings in force."""

    at: dt.datetime
    meeting_months: int

    @property
    def day(self) -> dt.date:
        from django.utils import timezone

        return timezone.localtime(self.at).date()


@dataclass(frozen=True)
class Check:
    id: str
    clause: str
    title: str
    scope: str
    run: Callable[..., Result]
    # lifecycle guards whose findings this check reports (the catch-all leaves them out)
    covers: tuple[Callable[..., list[str]], ...] = field(default=())


REGISTRY: dict[str, Check] = {}


def check(
    id: str, clause: str, title: str, scope: str, *, covers: tuple[Any, ...] = ()
) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Register a check: ``fn(deployment, ctx)`` for a deployment; for the practice
    ``fn(ctx, groups)``, run only when the practice has a governance group (without
    one, every practice line fails with IV.A.1)."""

    def register(fn: Callable[..., Result]) -> Callable[..., Result]:
        if id in REGISTRY:
            raise ValueError(f"conformance check {id!r} is registered twice")
        run = fn
        if scope == PRACTICE:

            def run(ctx: Context) -> Result:
                groups = list(GovernanceGroup.objects.order_by("pk"))
                return fn(ctx, groups) if groups else NO_GROUP

        REGISTRY[id] = Check(id, clause, title, scope, run, tuple(covers))
        return fn

    return register


def from_guard(guard: Callable[[Any], list[str]], d: Any, *, fix: str, ok: str) -> Result:
    """A lifecycle guard's findings as a result: what it says is missing fails."""
    missing = guard(d)
    if missing:
        return failed("; ".join(missing) + ".", fix)
    return passed(ok)


def checks(scope: str) -> list[Check]:
    return [c for c in REGISTRY.values() if c.scope == scope]


def component_exists(app_label: str) -> bool:
    """Whether an app keeps records in the database yet (it has models)."""
    try:
        return bool(list(apps.get_app_config(app_label).get_models()))
    except LookupError:
        return False


def _names(users: Any) -> str:
    return ", ".join(u.get_username() for u in users)


NO_GROUP = failed(
    "IV.A.1: the practice has no AI governance group.",
    "An administrator creates the governance group with its first members (Governance page).",
)


# --- practice-wide: the governance group (IV.A) and selection (IV.D) --------------------------


@check("group_exists", "IV.A.1", "An AI governance group is established", PRACTICE)
def group_exists(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    return passed(f"Governance group: {', '.join(g.name for g in groups)}.")


@check(
    "group_physician",
    "IV.A.2",
    "The group includes at least one physician/qualified end-user",
    PRACTICE,
)
def group_physician(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    without = [g for g in groups if gov.physician_count(g) < 1]
    if without:
        return failed(
            f"{', '.join(g.name for g in without)} has no physician/qualified end-user among "
            "its current members.",
            "Add a physician (role physician) to the group.",
        )
    counts = "; ".join(
        f"{g.name}: {n} physician member{'s' if n != 1 else ''}"
        for g, n in ((g, gov.physician_count(g)) for g in groups)
    )
    return passed(f"{counts}.")


@check(
    "group_interdisciplinary",
    "IV.A.2",
    "The rest of the group is interdisciplinary (the roles of section III)",
    PRACTICE,
)
def group_interdisciplinary(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    problems, found = [], []
    for g in groups:
        roles = sorted(
            {m.user.role for m in gov.memberships_on(g, ctx.day)} - {Role.PHYSICIAN.value}
        )
        labels = [Role(r).label for r in roles]
        if not roles:
            problems.append(g.name)
        found.append(f"{g.name}: {', '.join(labels) or 'physicians only'}")
    if problems:
        return failed(
            f"Members besides physicians: {'; '.join(found)}.",
            "Add members from the other roles of section III (medical physics, informatics/IT, "
            "data science, technologists, administration, legal/compliance).",
        )
    return passed(f"Members besides physicians: {'; '.join(found)}.")


@check(
    "meetings_recent",
    "IV.A.5",
    "The group meets regularly: a meeting within the meeting window",
    PRACTICE,
)
def meetings_recent(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    since = add_months(ctx.day, -ctx.meeting_months)  # type: ignore[arg-type]
    stale, found = [], []
    for g in groups:
        last = g.meetings.filter(held_on__lte=ctx.day).order_by("-held_on").first()
        if last is None or last.held_on < since:
            stale.append(g.name)
        found.append(
            f"{g.name} last met on {last.held_on:%Y-%m-%d}" if last else f"{g.name} never met"
        )
    months = f"{ctx.meeting_months} month{'s' if ctx.meeting_months != 1 else ''}"
    if stale:
        return failed(
            f"{'; '.join(found)}: no meeting since {since:%Y-%m-%d} (the last {months}).",
            "Hold a governance group meeting and record it with its notes.",
        )
    return passed(f"{'; '.join(found)} (within the last {months}).")


@check("meeting_notes", "IV.A.5", "Meetings in the period have notes", PRACTICE)
def meeting_notes(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    since = add_months(ctx.day, -ctx.meeting_months)  # type: ignore[arg-type]
    held = [
        m
        for g in groups
        for m in g.meetings.filter(held_on__gte=since, held_on__lte=ctx.day).order_by("held_on")
    ]
    if not held:
        return not_applicable(f"No meeting since {since:%Y-%m-%d} to keep notes of (see above).")
    bare = [m for m in held if not m.notes.strip()]
    if bare:
        return failed(
            f"{len(bare)} of {len(held)} meetings since {since:%Y-%m-%d} have no notes: "
            f"{', '.join(str(m) for m in bare)}.",
            "Record the notes of each meeting (meeting page).",
        )
    if len(held) == 1:
        return passed(f"The one meeting since {since:%Y-%m-%d} ({held[0]}) has notes.")
    return passed(f"All {len(held)} meetings since {since:%Y-%m-%d} have notes.")


@check("selection_criteria", "IV.D.1", "Selection criteria are defined", PRACTICE)
def selection_criteria(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    counts = {g.name: len(gov.criteria_of(g)) for g in groups}
    if not any(counts.values()):
        return failed(
            "The group has defined no active selection criteria.",
            "Define the criteria the group scores candidate models on (Requests page).",
        )
    return passed("; ".join(f"{name}: {n} active criteria" for name, n in counts.items()) + ".")


@check(
    "selection_considerations",
    "IV.D.2",
    "The criteria cover clinical, technical and business considerations",
    PRACTICE,
)
def selection_considerations(ctx: Context, groups: list[GovernanceGroup]) -> Result:
    present = {c.category for g in groups for c in gov.criteria_of(g)}
    missing = [c.label.lower() for c in CriterionCategory if c.value not in present]
    if missing:
        return failed(
            f"No active {' or '.join(missing)} selection criterion.",
            f"Define at least one {', one '.join(missing)} criterion.",
        )
    return passed("Active criteria in each category: clinical, technical and business.")


# --- per deployment: key documentation (IV.B.2 a..i) -----------------------------------------


@check("doc_version", "IV.B.2.a", "Documented model version", DEPLOYMENT)
def doc_version(d: Any, ctx: Context) -> Result:
    from radgov.inventory.models import DocumentKind

    mv = d.model_version
    if not mv.version.strip():
        return failed("The model version has no version string.", "Record the version string.")
    notes = (
        mv.release_notes.strip() or mv.documents.filter(kind=DocumentKind.RELEASE_NOTES).exists()
    )
    if not notes:
        return failed(
            f"Version {mv.version} is recorded but not documented: no release notes "
            "(text or document).",
            f"Record the vendor's release notes for version {mv.version} (III.F.1).",
        )
    return passed(f"Version {mv.version}, with release notes.")


@check("doc_deployment_date", "IV.B.2.b", "Deployment date", DEPLOYMENT)
def doc_deployment_date(d: Any, ctx: Context) -> Result:
    if d.status == Stage.PILOT:
        start = d.transitions.filter(to_stage=Stage.PILOT).order_by("-at").first()
        if start is None:
            return failed(
                "In pilot, but no record of when the pilot started.",
                "Move the deployment through the lifecycle so the date is recorded.",
            )
        return passed(
            f"In pilot since {start.at:%Y-%m-%d}; the deployment date is set when it is deployed."
        )
    if d.deployment_date is None:
        return failed(
            "Deployed, but no deployment date is recorded.",
            "Record the date the model went into clinical use.",
        )
    return passed(f"Deployed on {d.deployment_date:%Y-%m-%d}.")


@check(
    "doc_ifu",
    "IV.B.2.c",
    "IFU on file (and available to end-users, IV.F.2)",
    DEPLOYMENT,
    covers=(lifecycle.ifu_guard,),
)
def doc_ifu(d: Any, ctx: Context) -> Result:
    ifu = inventory.current_ifu(d.model_version)
    return from_guard(
        lifecycle.ifu_guard,
        d,
        fix=f"Upload the IFU (PDF) for version {d.model_version.version}.",
        ok=f"IFU {ifu.title or ifu.original_name} (version {ifu.version_label})." if ifu else "",
    )


@check("doc_intended_purpose", "IV.B.2.d", "Intended purpose", DEPLOYMENT)
def doc_intended_purpose(d: Any, ctx: Context) -> Result:
    text = d.model_version.intended_purpose.strip()
    if not text:
        return failed(
            "No intended purpose recorded for the model version.",
            "Record the intended purpose (from the IFU) on the model version.",
        )
    return passed(f"Intended purpose: {text[:160]}{'…' if len(text) > 160 else ''}")


@check("doc_acceptance_results", "IV.B.2.e", "Local acceptance testing results", DEPLOYMENT)
def doc_acceptance_results(d: Any, ctx: Context) -> Result:
    if not component_exists("evaluation"):
        waiver = (
            " A justified waiver of acceptance testing is recorded (see IV.E)."
            if (gov_guards.waiver_evidence(d))
            else ""
        )
        return not_checkable(
            "evaluation (local acceptance testing)",
            "Acceptance-test results are kept by it." + waiver,
            "Keep the acceptance-test report with the deployment's records until the "
            "evaluation component records it.",
        )
    if lifecycle.acceptance_guard(d):
        return failed(
            "No local acceptance-testing result on record.",
            "Run the local acceptance test and record its result.",
        )
    return passed("Local acceptance-testing evidence is on record.")


@check(
    "doc_routing_criteria", "IV.B.2.f", "Routing rules and inclusion/exclusion criteria", DEPLOYMENT
)
def doc_routing_criteria(d: Any, ctx: Context) -> Result:
    lines = inventory.criteria_lines(d)
    notes = d.routing_notes.strip()
    missing = []
    if not notes:
        missing.append("no DICOM/HL7/FHIR routing notes")
    if not lines:
        missing.append("no inclusion or exclusion criteria (every study would be included)")
    if missing:
        return failed(
            "; ".join(missing).capitalize() + ".",
            "Record the routing rules and the inclusion/exclusion criteria on the deployment.",
        )
    return passed(f"Routing notes recorded; criteria: {'; '.join(lines)}.")


@check("doc_training_logs", "IV.B.2.g", "Qualified end-user training logs", DEPLOYMENT)
def doc_training_logs(d: Any, ctx: Context) -> Result:
    people = training.end_users_of(d)
    if not people:
        return failed(
            "No qualified end-users or pilot users are named, so there are no training logs.",
            "Name the deployment's qualified end-users.",
        )
    without = [u for u in people if training.base_record(u, d.model_version, at=ctx.at) is None]
    if without:
        return failed(
            f"No training record for {d.model_version} in the log of: {_names(without)}.",
            "Record their training (Training pages).",
        )
    return passed(f"A training record is logged for each of the {len(people)} end-users.")


@check("doc_monitoring_data", "IV.B.2.h", "Post-deployment monitoring data", DEPLOYMENT)
def doc_monitoring_data(d: Any, ctx: Context) -> Result:
    return not_checkable(
        "monitoring",
        "Post-deployment monitoring data are kept by it.",
        "Keep the monitoring reports with the deployment's records until the monitoring "
        "component records them.",
    )


@check(
    "doc_contacts",
    "IV.B.2.i",
    "Contacts: clinical champion(s) and manufacturer/developer support",
    DEPLOYMENT,
)
def doc_contacts(d: Any, ctx: Context) -> Result:
    champions = list(d.clinical_champions.order_by("username"))
    missing = []
    if not champions:
        missing.append("no clinical champion named")
    no_email = [u for u in champions if not (u.email or "").strip()]
    if no_email:
        missing.append(f"no e-mail address for champion(s) {_names(no_email)}")
    product = d.model_version.product
    if not product.support_contact.strip():
        missing.append(f"no vendor support contact for {product}")
    if missing:
        return failed(
            "; ".join(missing).capitalize() + ".",
            "Name the clinical champion(s) with their e-mail and record the vendor's support "
            "contact on the product.",
        )
    return passed(
        f"Champion(s) {', '.join(f'{u.get_username()} <{u.email}>' for u in champions)}; "
        f"vendor support: {product.support_contact.strip()[:120]}."
    )


# --- per deployment: approval, release, acceptance, training, monitoring, oversight ----------


@check(
    "approval",
    "IV.A.1",
    "The governance group approved the deployment",
    DEPLOYMENT,
    covers=(gov_guards.approval_guard,),
)
def approval(d: Any, ctx: Context) -> Result:
    missing = gov_guards.approval_guard(d)
    if missing:
        return failed("; ".join(missing) + ".", "The group votes on approving the deployment.")
    approvals = gov.passed_decisions(DecisionKind.APPROVE, deployment=d)
    if not approvals:  # the guard found the approval elsewhere than on the deployment
        return passed("The governance group's approval is on record.")
    return passed(f"Approved: {approvals[-1].motion} ({approvals[-1].meeting}).")


@check(
    "output_release",
    "IV.C.2",
    "How AI results reach the medical record is recorded",
    DEPLOYMENT,
    covers=(lifecycle.release_policy_guard,),
)
def output_release(d: Any, ctx: Context) -> Result:
    return from_guard(
        lifecycle.release_policy_guard,
        d,
        fix="Record the output-release policy on the deployment (V: release after review).",
        ok=f"Output release: {d.output_release_policy.strip()[:160]}",
    )


@check(
    "acceptance_test",
    "IV.E.2",
    "Local acceptance test passed on predefined metrics, or a justified waiver",
    DEPLOYMENT,
    covers=(lifecycle.acceptance_guard,),
)
def acceptance_test(d: Any, ctx: Context) -> Result:
    if not lifecycle.acceptance_guard(d):
        waivers = [
            w
            for w in gov.passed_decisions(DecisionKind.ACCEPTANCE_TEST_WAIVER, deployment=d)
            if w.justification.strip()
        ]
        if waivers:
            w = waivers[0]
            return passed(
                f"Acceptance testing waived by the group ({w.meeting}): "
                f"{w.justification.strip()[:160]}"
            )
        return passed("A passed local acceptance test is on record.")
    if not component_exists("evaluation"):
        return not_checkable(
            "evaluation (local acceptance testing)",
            "No justified waiver is recorded either.",
            "Run the acceptance test against metrics agreed beforehand; until the evaluation "
            "component records it, the group may record a justified waiver.",
        )
    return failed(
        f"{lifecycle.ACCEPTANCE_MISSING}.",
        "Run the local acceptance test against metrics agreed beforehand and record it.",
    )


@check(
    "training_procedure",
    "IV.F.1",
    "A documented training procedure for the version",
    DEPLOYMENT,
    covers=(training_guards.procedure_guard,),
)
def training_procedure(d: Any, ctx: Context) -> Result:
    return from_guard(
        training_guards.procedure_guard,
        d,
        fix=f"Write the training procedure for {d.model_version} (Training pages).",
        ok=f"A training procedure is documented for {d.model_version}.",
    )


@check(
    "end_users_trained",
    "IV.F",
    "Every end-user with access is trained and has read the current IFU",
    DEPLOYMENT,
    covers=(lifecycle.end_users_guard, training_guards.pilot_guard),
)
def end_users_trained(d: Any, ctx: Context) -> Result:
    people = training.end_users_of(d)
    if not people:
        return failed(
            "; ".join(lifecycle.end_users_guard(d)) or "No end-users named.",
            "Name the deployment's qualified end-users.",
        )
    untrained = training.untrained_end_users(d, at=ctx.at)
    if untrained:
        reasons = [
            training.missing_training(u, d.model_version, at=ctx.at) or u.get_username()
            for u in untrained
        ]
        return failed(
            f"{len(untrained)} of {len(people)} end-users not trained "
            f"({_names(untrained)}): " + "; ".join(reasons) + ".",
            "Train them and have each attest reading the current IFU, or remove their access.",
        )
    return passed(f"All {len(people)} end-users are trained: {_names(people)}.")


@check("monitoring_active", "IV.G.1", "Monitoring of performance is active", DEPLOYMENT)
def monitoring_active(d: Any, ctx: Context) -> Result:
    return not_checkable(
        "monitoring",
        "Whether performance is being tracked cannot be read from the records.",
        "Track performance outside radgov until the monitoring component exists.",
    )


@check(
    "extra_oversight",
    "IV.H.3",
    "Non-FDA-regulated or generative model: IRB determination and legal review",
    DEPLOYMENT,
    covers=(gov_guards.extra_oversight_guard,),
)
def extra_oversight(d: Any, ctx: Context) -> Result:
    product = d.model_version.product
    if not product.needs_extra_oversight:
        return not_applicable(f"{product} is FDA-regulated and not generative.")
    missing = gov_guards.extra_oversight_guard(d)
    if missing:
        return failed(
            "; ".join(missing) + ".",
            "Record the IRB's determination and the legal/compliance review at a meeting.",
        )
    return passed(f"IRB determination and legal/compliance review recorded for {product}.")


# --- per deployment: privacy and regulation (III.H, V) ---------------------------------------


def _profile(d: Any) -> RegulatoryProfile | None:
    return RegulatoryProfile.objects.filter(product=d.model_version.product).first()


NO_PROFILE_FIX = (
    "Record the product's regulatory profile (Regulatory page): its local use and whether "
    "PHI reaches the vendor."
)


@check(
    "baa",
    "V",
    "A BAA is on file when PHI reaches the vendor (HIPAA)",
    DEPLOYMENT,
    covers=(gov_guards.regulatory_guard,),
)
def baa(d: Any, ctx: Context) -> Result:
    product = d.model_version.product
    profile = _profile(d)
    if profile is None:
        return failed(
            f"No regulatory profile for {product}: whether PHI reaches {product.vendor} is "
            "not recorded.",
            NO_PROFILE_FIX,
        )
    if not profile.phi_reaches_vendor:
        return not_applicable(f"PHI does not reach {product.vendor} (regulatory profile).")
    if not gov.baa_covers(product, on=ctx.day):
        return failed(
            f"PHI reaches {product.vendor} but no business associate agreement covering PHI "
            f"is in force on {ctx.day:%Y-%m-%d}.",
            f"Execute a BAA with {product.vendor} and record it (III.H.1.e).",
        )
    return passed(f"PHI reaches {product.vendor}; a BAA covering PHI is in force.")


@check("off_label", "V", "Off-label use only by an informed decision of the group", DEPLOYMENT)
def off_label(d: Any, ctx: Context) -> Result:
    product = d.model_version.product
    profile = _profile(d)
    if profile is None:
        return failed(
            f"No regulatory profile for {product}: its local use is not recorded.",
            NO_PROFILE_FIX,
        )
    why = gov.off_label(product)
    if not why:
        return passed(f"{product} is used within its clearance ({product.get_category_display()}).")
    if not profile.off_label_decision.strip():
        return failed(
            f"{why}; no informed decision recorded.",
            "The group records its informed decision on the regulatory profile.",
        )
    return passed(f"{why}; informed decision recorded: {profile.off_label_decision[:120]}")


@check(
    "regulatory_frameworks",
    "V",
    "Laws and rules evaluated (HIPAA, FDA SaMD, EU MDR, EU AI Act, GDPR, civil rights, state law)",
    DEPLOYMENT,
)
def regulatory_frameworks(d: Any, ctx: Context) -> Result:
    lines = [ln for ln in gov.checklist(d.model_version) if ln["key"] in Framework.values]
    open_ = [ln for ln in lines if ln["status"] in (ItemStatus.NOT_STARTED, ItemStatus.IN_PROGRESS)]
    bad = [ln for ln in lines if ln["status"] == ItemStatus.NON_COMPLIANT]
    if open_ or bad:
        parts = []
        if bad:
            parts.append(f"non-compliant: {', '.join(ln['label'] for ln in bad)}")
        if open_:
            parts.append(f"not evaluated yet: {', '.join(ln['label'] for ln in open_)}")
        return failed(
            f"Regulatory checklist of {d.model_version}: " + "; ".join(parts) + ".",
            "Evaluate each framework and record the evidence (Regulatory page).",
        )
    return passed(f"All {len(lines)} frameworks evaluated (compliant or not applicable).")


@check(
    "deidentified_test_data",
    "V",
    "Data used for local acceptance testing de-identified, or covered by a BAA",
    DEPLOYMENT,
)
def deidentified_test_data(d: Any, ctx: Context) -> Result:
    return not_checkable(
        "evaluation (local acceptance testing)",
        "Which data the acceptance test used is kept by it.",
        "De-identify acceptance-test data (radgov deid) or hold a BAA that covers its use.",
    )


# --- per deployment: whatever else the lifecycle asks of the stage ---------------------------


@check(
    "lifecycle_other",
    "IV.A.1",
    "Every other condition the lifecycle sets for the stage still holds",
    DEPLOYMENT,
)
def lifecycle_other(d: Any, ctx: Context) -> Result:
    """The registered guards of the deployment's stage that no other check reports."""
    covered = {g for c in REGISTRY.values() for g in c.covers}
    missing = []
    for guard in lifecycle.guards_for(d.status):
        if guard not in covered:
            missing.extend(guard(d))
    if missing:
        return failed(
            "; ".join(missing) + ".",
            "Record what is missing (deployment page), or move the deployment back.",
        )
    return passed(f"Every other condition of the {Stage(d.status).label.lower()} stage holds.")
