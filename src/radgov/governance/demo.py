"""The governance part of the demo practice: the group (dr.chen chairs), a member
with a declared conflict, the vendor's representative recused, a request from
the clinical champion dr.okafor, selection criteria and scores, a meeting with
decisions and votes, the regulatory checklist and an issue report.

Runs after the inventory's demo; parts that need inventory rows are skipped
when there are none.  Idempotent: a second run changes nothing."""

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


def _inventory() -> tuple[Any, Any]:
    """(a deployment of an FDA-cleared product, a deployment needing extra oversight)."""
    Deployment = apps.get_model("inventory", "Deployment")
    cleared = extra = None
    for d in Deployment.objects.select_related("model_version__product").order_by("pk"):
        product = d.model_version.product
        if product.needs_extra_oversight:
            extra = extra or d
        else:
            cleared = cleared or d
    return cleared, extra


def load(stdout: Any) -> None:
    if Meeting.objects.filter(title=MEETING_TITLE).exists():
        stdout.write("Governance: demo group and meeting already there.")
        return
    p = _people()
    if p is None:
        stdout.write("Governance: demo accounts missing; skipped.")
        return
    admin = p["admin"]
    group = GovernanceGroup.objects.filter(name=GROUP_NAME).first() or services.create_group(
        admin,
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
    cleared, extra = _inventory()
    product = cleared.model_version.product if cleared else None

    # a conflicted member: recused from everything of that vendor
    if product is not None:
        services.declare_conflict(
            p["informatics"],
            p["informatics"],
            vendor=product.vendor,
            description=f"Paid advisor to {product.vendor} on PACS integration (2025-2026)",
            declared_on=dt.date(2026, 3, 1),
        )

    request = services.submit_request(
        p["dr.okafor"],
        group,
        clinical_need="Intracranial hemorrhage on overnight non-contrast head CT waits for the "
        "morning read when the on-call radiologist is busy.",
        proposed_product=product,
        candidate_name="" if product else "An ICH triage (CADt) product",
        expected_benefit="Positive studies read first; shorter time to neurosurgical consult.",
    )
    criteria = [
        services.define_criterion(p["dr.chen"], group, category=c, name=n, weight=w)
        for c, n, w in CRITERIA
    ]
    first = services.add_candidate(
        p["dr.chen"], request, product=product, name="" if product else "ICH triage, vendor A"
    )
    second = services.add_candidate(p["dr.chen"], request, name="RivalScan ICH (not in inventory)")
    for member, (a, b) in SCORES.items():
        for criterion, va, vb in zip(criteria, a, b, strict=True):
            services.score_candidate(p[member], first, criterion, va)
            services.score_candidate(p[member], second, criterion, vb)

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
    item = services.add_agenda_item(
        p["dr.chen"],
        meeting,
        title="Request for ICH triage",
        request=request,
        discussion="dr.okafor presented the overnight backlog. The vendor's representative "
        "answered questions on integration and left before the vote. Two candidates compared.",
    )
    chosen = services.record_decision(
        p["dr.chen"],
        meeting,
        kind="approve",
        agenda_item=item,
        motion=f"Select {first.label} for local acceptance testing",
        rationale="Highest weighted total, chiefly on sensitivity and integration; "
        "the alternative's on-premise option does not outweigh it.",
    )
    for member in ("dr.chen", "physicist", "privacy"):
        services.cast_vote(p[member], chosen, "yes")
    services.set_request_status(p["dr.chen"], request, status="accepted", decision=chosen)

    if cleared is not None:
        dep_item = services.add_agenda_item(
            p["dr.chen"],
            meeting,
            title=f"Pilot of {cleared}",
            deployment=cleared,
            discussion="Acceptance-test plan reviewed; pilot with three radiologists.",
        )
        approve = services.record_decision(
            p["dr.chen"],
            meeting,
            kind="approve",
            agenda_item=dep_item,
            motion=f"Approve {cleared} for pilot and deployment",
            rationale="Meets the practice's criteria; pilot group named; IFU on file.",
        )
        services.cast_vote(p["dr.chen"], approve, "yes")
        services.cast_vote(p["physicist"], approve, "yes")
        services.cast_vote(p["privacy"], approve, "abstain")
        _regulatory(p, cleared)
        services.report_issue(
            p["tech"],
            deployment=cleared,
            severity="moderate",
            description="Hemorrhage alerts on post-operative heads with clips: looks like "
            "metal artifact is flagged as bleed.",
        )
    if extra is not None:
        x_product = extra.model_version.product
        services.add_agenda_item(
            p["dr.chen"],
            meeting,
            title=f"Extra oversight for {x_product} (IV.H)",
            product=x_product,
        )
        services.record_decision(
            p["dr.chen"],
            meeting,
            kind="irb_determination",
            product=x_product,
            motion=f"Record the IRB determination for {x_product}",
            rationale="Submitted to the IRB in October.",
            determination="Quality improvement, not human-subjects research; "
            "no consent needed; re-review on any change of use.",
        )
        services.record_decision(
            p["privacy"],
            meeting,
            kind="legal_review",
            product=x_product,
            motion=f"Legal/compliance review of {x_product}",
            rationale="Contract, liability, data use and patient transparency reviewed; "
            "output is a draft a radiologist edits.",
        )
    services.record_notes(
        p["dr.chen"],
        meeting,
        "Next meeting in December: first monitoring report and the issue queue.",
    )
    stdout.write(
        f"Governance: {group} with {group.active_memberships().count()} members, "
        f"1 request, meeting of {MEETING_DAY:%Y-%m-%d}"
        + ("" if cleared else " (no inventory deployments: decisions on deployments skipped)")
        + "."
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
