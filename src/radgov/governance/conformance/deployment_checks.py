"""The conformance checks of one deployment in pilot or deployed: its key
documentation (IV.B.2 a..i), approval, output release, acceptance testing,
training, monitoring, extra oversight, privacy and regulation, and every other
condition the lifecycle's registered guards set for its stage."""

from __future__ import annotations

from typing import Any

from radgov.evaluation import guards as evaluation
from radgov.evaluation.models import AcceptanceProtocol
from radgov.governance import guards as gov_guards
from radgov.governance import selectors as gov
from radgov.governance.conformance.registry import (
    DEPLOYMENT,
    REGISTRY,
    Context,
    Result,
    check,
    failed,
    guard_check,
    lacking,
    names,
    not_applicable,
    passed,
)
from radgov.governance.models import DecisionKind, Framework, ItemStatus, RegulatoryProfile
from radgov.inventory import lifecycle
from radgov.inventory import selectors as inventory
from radgov.inventory.people import people_problems
from radgov.inventory.stages import Stage
from radgov.training import access as training
from radgov.training import guards as training_guards

# --- what the evaluation app records of a deployment's acceptance testing (IV.E) -------------


def _justified_waiver(d: Any) -> Any:
    """The group's first passed waiver of acceptance testing with a justification, or None."""
    waivers = gov.passed_decisions(DecisionKind.ACCEPTANCE_TEST_WAIVER, deployment=d)
    return next((w for w in waivers if w.justification.strip()), None)


def _locked_sentence(locked: Any) -> str:
    text = (
        f"Protocol version {locked.version} ({locked.name}) locked by "
        f"{locked.locker_name} on {locked.locked_at:%Y-%m-%d}"
    )
    return f"{text}, {locked.amendment}." if locked.amendment else f"{text}."


def acceptance_records(d: Any) -> str:
    """The latest locked protocol (who locked it, when, an amendment after lock), the
    latest run, and why they are not acceptance evidence when they are not."""
    locked, run = evaluation.latest_locked(d), evaluation.latest_run(d)
    parts = [_locked_sentence(locked)] if locked is not None else []
    if run is not None:
        parts.append(
            f"Latest run {run.created_at:%Y-%m-%d} (protocol version {run.protocol.version}): "
            f"{'passed' if run.passed else 'FAILED'}, {run.n_cases:,} "
            f"{'synthetic' if run.synthetic else 'real'} cases."
        )
        parts += [
            n for n in (evaluation.post_hoc_note(run.protocol), evaluation.rerun_note(run)) if n
        ]
    draft = AcceptanceProtocol.objects.filter(deployment=d, locked_at__isnull=True).first()
    if draft is not None:  # only ever the latest version
        parts.append(f"Version {draft.version} is a draft, not locked yet.")
    gap = evaluation.gap_of(locked, run)
    if gap:  # with no record at all, the gap is all there is to say
        parts.append(f"Not acceptance evidence: {gap}." if parts else f"{gap.capitalize()}.")
    return " ".join(parts)


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


def _ifu_on_file(d: Any) -> str:
    ifu = inventory.current_ifu(d.model_version)
    return f"IFU {ifu.title or ifu.original_name} (version {ifu.version_label})."


guard_check(
    "doc_ifu",
    "IV.B.2.c",
    "IFU on file (and available to end-users, IV.F.2)",
    lifecycle.ifu_guard,
    fix=lambda d: f"Upload the IFU (PDF) for version {d.model_version.version}.",
    ok=_ifu_on_file,
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
    records = acceptance_records(d)
    run = evaluation.latest_run(d)
    if run is not None and not run.synthetic:
        return passed(f"Results on real cases are kept with the deployment. {records}")
    waiver = _justified_waiver(d)
    if waiver is not None:
        return passed(
            f"No results on real cases: the group waived acceptance testing ({waiver.meeting}). "
            + records
        )
    return failed(
        f"No local acceptance-testing results on real cases. {records}",
        "Run the locked acceptance-test protocol on local cases (Acceptance testing pages or "
        "radgov evaluate); the run keeps its result and report with the deployment.",
    )


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
        return lacking(
            missing,
            "Record the routing rules and the inclusion/exclusion criteria on the deployment.",
            capital=True,
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
            f"No training record for {d.model_version} in the log of: {names(without)}.",
            "Record their training (Training pages).",
        )
    return passed(f"A training record is logged for each of the {len(people)} end-users.")


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
        missing.append(f"no e-mail address for champion(s) {names(no_email)}")
    product = d.model_version.product
    if not product.support_contact.strip():
        missing.append(f"no vendor support contact for {product}")
    if missing:
        return lacking(
            missing,
            "Name the clinical champion(s) with their e-mail and record the vendor's support "
            "contact on the product.",
            capital=True,
        )
    return passed(
        f"Champion(s) {', '.join(f'{u.get_username()} <{u.email}>' for u in champions)}; "
        f"vendor support: {product.support_contact.strip()[:120]}."
    )


@check(
    "people_fit_roles",
    "IV.A.4",
    "The people recorded fit their roles: champions are not group members or vendors, "
    "end-users are licensed physicians (III.A.1)",
    DEPLOYMENT,
)
def people_fit_roles(d: Any, ctx: Context) -> Result:
    problems = people_problems(
        clinical_champions=d.clinical_champions.all(),
        end_users=d.end_users.all(),
        pilot_users=d.pilot_users.all(),
        technical_contact=d.technical_contact,
    )
    if problems:
        return lacking(
            problems,
            "Name designated clinical champions who are not members of the governance group, "
            "and licensed physicians as end-users (deployment page; licenses on the Users page).",
        )
    return passed(
        f"{d.clinical_champions.count()} champion(s) outside the group; "
        f"{len(training.end_users_of(d))} end-user(s), each a licensed physician."
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
        return lacking(missing, "The group votes on approving the deployment.")
    approvals = gov.passed_decisions(DecisionKind.APPROVE, deployment=d)
    if not approvals:  # the guard found the approval elsewhere than on the deployment
        return passed("The governance group's approval is on record.")
    return passed(f"Approved: {approvals[-1].motion} ({approvals[-1].meeting}).")


guard_check(
    "output_release",
    "IV.C.2",
    "How AI results reach the medical record is recorded",
    lifecycle.release_policy_guard,
    fix=lambda d: "Record the output-release policy on the deployment (V: release after review).",
    ok=lambda d: f"Output release: {d.output_release_policy.strip()[:160]}",
)


@check(
    "acceptance_test",
    "IV.E.2",
    "Local acceptance test passed on predefined metrics, or a justified waiver",
    DEPLOYMENT,
    covers=(lifecycle.acceptance_guard,),
)
def acceptance_test(d: Any, ctx: Context) -> Result:
    records = acceptance_records(d)
    if lifecycle.acceptance_guard(d):
        return failed(
            f"{lifecycle.ACCEPTANCE_MISSING}. {records}",
            "Have a governance-group member lock the protocol (metrics and pass criteria) "
            "before any run, and run it on real, de-identified local cases until it passes; "
            "or the group records a justified waiver.",
        )
    waiver = _justified_waiver(d)
    if evaluation.evidence_gap(d) is None or waiver is None:
        return passed(f"A passed local acceptance test is on record. {records}")
    why = waiver.justification.strip()
    return passed(
        f"Acceptance testing waived by the group ({waiver.meeting}): "
        f"{why[:160]}{'…' if len(why) > 160 else ''} {records}"
    )


guard_check(
    "training_procedure",
    "IV.F.1",
    "A documented training procedure for the version",
    training_guards.procedure_guard,
    fix=lambda d: f"Write the training procedure for {d.model_version} (Training pages).",
    ok=lambda d: f"A training procedure is documented for {d.model_version}.",
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
            f"({names(untrained)}): " + "; ".join(reasons) + ".",
            "Train them and have each attest reading the current IFU, or remove their access.",
        )
    return passed(f"All {len(people)} end-users are trained: {names(people)}.")


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
        return lacking(
            missing,
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
    run = evaluation.latest_run(d)
    if run is None:
        return not_applicable("No acceptance-test run on record: no test data to check.")
    cases = f"The cases file of the latest run ({run.created_at:%Y-%m-%d}, {run.n_cases:,} cases)"
    if not run.identifier_columns:
        return passed(f"{cases} had no identifier columns (Safe Harbor screen).")
    found = ", ".join(f"{c['column']} ({c['kind']})" for c in run.identifier_columns)
    if run.identifiers_allowed_because.strip():
        return passed(
            f"{cases} had identifier columns ({found}); {run.identifiers_allowed_because}."
        )
    return failed(
        f"{cases} had identifier columns ({found}) and no BAA covered them.",
        "De-identify the cases (radgov deid) or hold a BAA with "
        f"{d.model_version.product.vendor} that covers PHI, then run the test again.",
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
    missing = lifecycle.missing_for(d, d.status, leaving_out=covered)
    if missing:
        return lacking(
            missing,
            "Record what is missing (deployment page), or move the deployment back.",
        )
    return passed(f"Every other condition of the {Stage(d.status).label.lower()} stage holds.")
