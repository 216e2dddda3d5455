"""The governance part of the demo practice: the group (dr.chen chairs), a member
with a declared conflict, the vendor's representative recused, a request from
the clinical champion dr.okafor, selection criteria and scores, the November meeting
with its decisions and votes (its minutes approved: the meeting is closed and its
decisions final), the regulatory checklist and an issue report; and the December
meeting, still open, where the group accepts a protocol amended after results.

Runs after the inventory's demo, which leaves the deployments it means to take further
waiting in acceptance testing for the group's approval; parts that need inventory rows
are skipped when there are none.  Idempotent: a second run changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model

from radgov.governance import services
from radgov.governance.models import GovernanceGroup, Meeting

GROUP_NAME = "Radiology AI governance group"
MEETING_TITLE = "AI governance group: November meeting"
MEETING_DAY = dt.date(2026, 11, 2)
DECEMBER_TITLE = "AI governance group: December meeting"
DECEMBER_DAY = dt.date(2026, 12, 1)

CRITERIA = [
    ("clinical", "Sensitivity on local data", 3),
    ("clinical", "Fit with the reading workflow", 2),
    ("technical", "PACS/RIS integration (DICOM, HL7)", 2),
    ("technical", "On-premise deployment, no PHI leaves", 1),
    ("business", "Total cost over three years", 1.5),
    ("business", "Vendor support and release notice", 1),
]
# member -> scores per criterion, for the first and the second candidate
SCORES = {
    "dr.chen": ([5, 4, 4, 3, 3, 4], [4, 3, 3, 5, 4, 3]),
    "physicist": ([4, 4, 5, 3, 3, 4], [3, 4, 3, 5, 4, 3]),
    "privacy": ([4, 3, 4, 2, 3, 4], [4, 3, 3, 5, 5, 3]),
}


def _people() -> dict[str, Any] | None:
    names = [
        "admin",
        "dr.chen",
        "dr.okafor",
        "physicist",
        "informatics",
        "privacy",
        "vendor.rep",
        "tech",
    ]
    found = {u.username: u for u in get_user_model().objects.filter(username__in=names)}
    return found if len(found) == len(names) else None


def _to_approve() -> list[Any]:
    """Deployments waiting in acceptance testing for the group's approval (the inventory's
    demo leaves those it means to take further there), or else the first cleared one and
    the first one that needs extra oversight."""
    from radgov.inventory.demo import awaiting_approval

    Deployment = apps.get_model("inventory", "Deployment")
    waiting = awaiting_approval()
    if waiting:
        return waiting
    rows = list(
        Deployment.objects.exclude(status="sunset")
        .select_related("model_version__product__company")
        .order_by("pk")
    )
    cleared = next((d for d in rows if not d.model_version.product.needs_extra_oversight), None)
    extra = next((d for d in rows if d.model_version.product.needs_extra_oversight), None)
    return [d for d in (cleared, extra) if d is not None]


def _requested_product() -> Any:
    Product = apps.get_model("inventory", "Product")
    named = Product.objects.filter(name="MammoInsight").first()
    return named or Product.objects.exclude(regulatory_pathway="not_fda").order_by("pk").first()


def load(stdout: Any) -> None:
    p = _people()
    if p is None:
        stdout.write("Governance: demo accounts missing; skipped.")
        return
    if not Meeting.objects.filter(title=MEETING_TITLE).exists():
        _november(p, stdout)
    accepted = _december(p)
    stdout.write(
        f"Governance: {GROUP_NAME}, the November meeting closed (minutes approved), "
        f"{accepted} protocol amendment(s) after results accepted at the December meeting."
    )


def _december(p: dict[str, Any]) -> int:
    """The December meeting (open): the group accepts each protocol amended after results
    that it has not accepted yet (IV.E.2), with the reason as its rationale."""
    from radgov.governance.models import Decision, DecisionKind

    group = GovernanceGroup.objects.filter(name=GROUP_NAME).first()
    Protocol = apps.get_model("evaluation", "AcceptanceProtocol")
    waiting = [
        proto
        for proto in Protocol.objects.filter(amended_after_results=True).order_by("pk")
        if not Decision.objects.filter(kind=DecisionKind.ACCEPT_AMENDMENT, protocol=proto).exists()
    ]
    if group is None or not waiting:
        return Decision.objects.filter(kind=DecisionKind.ACCEPT_AMENDMENT).count()
    meeting = Meeting.objects.filter(title=DECEMBER_TITLE).first() or services.create_meeting(
        p["dr.chen"],
        group,
        held_on=DECEMBER_DAY,
        title=DECEMBER_TITLE,
        attendees=[p["dr.chen"], p["physicist"], p["privacy"], p["informatics"]],
    )
    if not meeting.notes:
        services.record_notes(
            p["dr.chen"],
            meeting,
            "The group reviewed the re-test of the ED deployment and accepted the protocol's "
            "amendment. The minutes are approved at the January meeting.",
        )
    for proto in waiting:
        decision = services.record_decision(
            p["dr.chen"],
            meeting,
            kind="accept_amendment",
            protocol=proto,
            motion=f"Accept version {proto.version} of the acceptance test of {proto.deployment}",
            rationale="The amendment adds the scanner model as a subgroup because the ED "
            "scanner's software changed; it drops no criterion and lowers no threshold, so "
            "the group accepts it although the first run was seen (IV.E.2).",
        )
        for member in ("dr.chen", "physicist", "privacy"):
            services.cast_vote(p[member], decision, "yes")
    return Decision.objects.filter(kind=DecisionKind.ACCEPT_AMENDMENT).count()


def _november(p: dict[str, Any], stdout: Any) -> None:
    group = GovernanceGroup.objects.filter(name=GROUP_NAME).first() or services.create_group(
        p["admin"],
        name=GROUP_NAME,
        charter="IV.A.1: oversight of selection, local acceptance testing, deployment, "
        "monitoring and sunsetting of the practice's AI models.",
        members=[
            (p["dr.chen"], "chair"),
            (p["physicist"], "member"),
            (p["informatics"], "member"),
            (p["privacy"], "member"),
        ],
        joined_on=dt.date(2026, 1, 5),
    )
    deployments = _to_approve()
    product = _requested_product()
    if product is not None:  # a conflicted member: recused from everything of that vendor
        services.declare_conflict(
            p["informatics"],
            p["informatics"],
            vendor=product.vendor,
            description=f"Paid advisor to {product.vendor} on PACS integration (2025-2026)",
            declared_on=dt.date(2026, 3, 1),
        )
    meeting = services.create_meeting(
        p["dr.chen"],
        group,
        held_on=MEETING_DAY,
        title=MEETING_TITLE,
        attendees=[
            p["dr.chen"],
            p["physicist"],
            p["informatics"],
            p["privacy"],
            p["dr.okafor"],
            p["vendor.rep"],
        ],
    )
    _selection(p, group, meeting, product)
    for deployment in deployments:
        _approve(p, meeting, deployment)
    cleared = next(
        (d for d in deployments if not d.model_version.product.needs_extra_oversight), None
    )
    if cleared is not None:
        _regulatory(p, cleared)
        services.report_issue(
            p["tech"],
            deployment=cleared,
            severity="moderate",
            description="Alerts on post-operative heads with clips: metal artifact seems "
            "to be flagged as a finding.",
        )
    if product is not None and product.category == "cadx":
        # using a diagnosis aid to reorder the screening worklist: flagged off-label (V)
        services.set_regulatory_profile(
            p["privacy"],
            product,
            local_use="cadt",
            scope_of_clearance=f"{product.fda_number}: characterization of findings",
        )
    services.record_notes(
        p["dr.chen"],
        meeting,
        "Next meeting in December: first monitoring report and the issue queue.",
    )
    services.close_meeting(p["dr.chen"], meeting)  # the minutes approved: decisions final
    stdout.write(
        f"Governance: {group} with {group.active_memberships().count()} members, "
        f"1 request, meeting of {MEETING_DAY:%Y-%m-%d}, "
        f"{len(deployments)} deployment(s) approved"
        + ("" if deployments else " (no inventory deployments: decisions on them skipped)")
        + "."
    )


def _selection(p: dict[str, Any], group: Any, meeting: Meeting, product: Any) -> None:
    """dr.okafor's request, two candidates scored against the criteria, the selection."""
    request = services.submit_request(
        p["dr.okafor"],
        group,
        clinical_need="Screening mammography reads run two weeks behind; a second reader "
        "that scores each exam would let the breast radiologists read the suspicious ones "
        "first.",
        proposed_product=product,
        candidate_name="" if product else "A mammography CADx product",
        expected_benefit="Shorter time to call-back for suspicious screening exams.",
    )
    criteria = [
        services.define_criterion(p["dr.chen"], group, category=c, name=n, weight=w)
        for c, n, w in CRITERIA
    ]
    first = services.add_candidate(
        p["dr.chen"], request, product=product, name="" if product else "Mammography CADx A"
    )
    second = services.add_candidate(p["dr.chen"], request, name="RivalMammo (not in inventory)")
    for member, (a, b) in SCORES.items():
        for criterion, va, vb in zip(criteria, a, b, strict=True):
            services.score_candidate(p[member], first, criterion, va)
            services.score_candidate(p[member], second, criterion, vb)
    item = services.add_agenda_item(
        p["dr.chen"],
        meeting,
        title="Request for a screening mammography second reader",
        request=request,
        discussion="dr.okafor presented the screening backlog. The vendor's representative "
        "answered questions on integration and left before the vote. Two candidates compared.",
    )
    chosen = services.record_decision(
        p["dr.chen"],
        meeting,
        kind="approve",
        agenda_item=item,
        motion=f"Select {first.label} for local acceptance testing",
        rationale="Highest weighted total, chiefly on sensitivity and integration; "
        "the alternative's lower cost does not outweigh it.",
    )
    for member in ("dr.chen", "physicist", "privacy"):
        services.cast_vote(p[member], chosen, "yes")
    services.set_request_status(p["dr.chen"], request, status="accepted", decision=chosen)


def _approve(p: dict[str, Any], meeting: Meeting, deployment: Any) -> None:
    """Approve a deployment for pilot and deployment.  Where a pilot group is named
    the pilot is its local acceptance test (II.A), a waiver the group records with
    its justification; extra oversight (IV.H) for the models that need it."""
    product = deployment.model_version.product
    item = services.add_agenda_item(
        p["dr.chen"],
        meeting,
        title=f"Pilot and deployment of {deployment}",
        deployment=deployment,
        discussion="IFU, routing and output-release policy reviewed.",
    )
    approve = services.record_decision(
        p["dr.chen"],
        meeting,
        kind="approve",
        agenda_item=item,
        motion=f"Approve {deployment} for pilot and deployment",
        rationale="Meets the practice's selection criteria; pilot group and end-users named.",
    )
    for member, choice in (("dr.chen", "yes"), ("physicist", "yes"), ("privacy", "abstain")):
        services.cast_vote(p[member], approve, choice)
    if deployment.pilot_users.exists():
        motion = f"Test {deployment} locally during its pilot rather than before it"
        rationale = (
            "II.A: local acceptance testing may take place after deployment to a small number "
            "of qualified end-users."
        )
        justification = (
            "The named pilot group reads every eligible case with and without the model for "
            "six weeks against the agreed metrics; the results return to the group before any "
            "wider deployment."
        )
    else:
        motion = f"Accept the vendor's multi-site validation for {deployment}"
        rationale = "The vendor's validation covers the practice's scanners and population."
        justification = (
            "The vendor's validation used the practice's scanner models and protocols; the "
            "first three months of use are reviewed against the IFU's claims."
        )
    waiver = services.record_decision(
        p["dr.chen"],
        meeting,
        kind="acceptance_test_waiver",
        agenda_item=item,
        motion=motion,
        rationale=rationale,
        justification=justification,
    )
    for member in ("dr.chen", "physicist", "privacy"):
        services.cast_vote(p[member], waiver, "yes")
    if product.needs_extra_oversight:
        services.record_decision(
            p["dr.chen"],
            meeting,
            kind="irb_determination",
            agenda_item=item,
            product=product,
            motion=f"Record the IRB determination for {product}",
            rationale="Submitted to the IRB in October (IV.H.3).",
            determination="Quality improvement, not human-subjects research; no consent "
            "needed; re-review on any change of use.",
        )
        services.record_decision(
            p["privacy"],
            meeting,
            kind="legal_review",
            agenda_item=item,
            product=product,
            motion=f"Legal/compliance review of {product}",
            rationale="Contract, liability, data use and patient transparency reviewed; "
            "the output is a draft the radiologist edits and signs.",
        )


def _regulatory(p: dict[str, Any], deployment: Any) -> None:
    version, product = deployment.model_version, deployment.model_version.product
    privacy = p["privacy"]
    lines = [
        ("hipaa_hitech", "compliant", "Security risk assessment SRA-2026-11; BAA on file"),
        (
            "fda_samd",
            "compliant",
            f"FDA {product.fda_number or 'clearance'}: used within its indication",
        ),
        ("eu_mdr", "not_applicable", "Not marketed or used in the EU by this practice"),
        ("eu_ai_act", "not_applicable", "No use in the EU"),
        ("gdpr", "not_applicable", "No EU data subjects processed"),
        ("civil_rights_ada", "in_progress", ""),
        ("state_local", "in_progress", ""),
    ]
    for framework, status, evidence in lines:
        services.set_regulatory_item(
            privacy, version, framework, status=status, owner=privacy, evidence=evidence
        )
    services.set_regulatory_profile(
        privacy,
        product,
        local_use=product.category,
        scope_of_clearance=product.description[:500] if product.description else "",
        phi_reaches_vendor=True,
    )
    services.record_baa(
        privacy,
        vendor=product.vendor,
        signed_on=dt.date(2026, 6, 1),
        expires_on=dt.date(2029, 5, 31),
        document_reference="Contracts/BAA/2026-06",
    )
