"""The governance group's lifecycle guards and its acceptance-evidence provider,
registered with ``radgov.inventory.lifecycle`` by ``GovernanceConfig.ready``."""

from __future__ import annotations

from typing import Any

from radgov.governance import selectors
from radgov.governance.models import DecisionKind, RegulatoryProfile


def approval_guard(deployment: Any) -> list[str]:
    """IV.A.1: no pilot or deployment without the group's approval of that
    deployment; a later rejection by the group withdraws it."""
    latest = selectors.latest_verdict(deployment)
    if latest is None:
        return [f"IV.A: no approval decision by the governance group for {deployment}"]
    if latest.kind == DecisionKind.REJECT:
        return [
            f"IV.A: the governance group's latest decision on {deployment} rejected it "
            f"(decision #{latest.pk} of {latest.meeting.held_on:%Y-%m-%d})"
        ]
    return []


def extra_oversight_guard(deployment: Any) -> list[str]:
    """IV.H: non-FDA-regulated and generative models need a recorded IRB
    determination and a legal/compliance review (III.H)."""
    product = deployment.model_version.product
    if not product.needs_extra_oversight:
        return []
    missing = []
    why = "not FDA-regulated" if not product.is_fda_regulated else "generative AI"
    irb = selectors.passed_decisions(
        DecisionKind.IRB_DETERMINATION, deployment=deployment, product=product
    )
    if not irb:
        missing.append(f"IV.H: no IRB determination recorded for {product} ({why})")
    if not selectors.legal_reviews(deployment=deployment, product=product):
        missing.append(f"III.H: no legal/compliance review recorded for {product} ({why})")
    return missing


def regulatory_guard(deployment: Any) -> list[str]:
    """V: a BAA before PHI reaches the vendor; off-label use only by an informed decision."""
    product = deployment.model_version.product
    profile = RegulatoryProfile.objects.filter(product=product).first()
    if profile is None:
        return []
    missing = []
    if profile.phi_reaches_vendor and not selectors.baa_covers(product):
        missing.append(
            f"V (HIPAA): PHI reaches {product.vendor} but no business associate agreement "
            "covering PHI is on file"
        )
    why = selectors.off_label(product)
    if why and not profile.off_label_decision:
        missing.append(f"{why}; the group has not recorded an informed decision to use it so")
    return missing


def waiver_gap(deployment: Any) -> str | None:
    """IV.E: None when the group recorded (and passed) a justified waiver of acceptance
    testing; otherwise that it has not."""
    waived = any(
        d.justification.strip()
        for d in selectors.passed_decisions(
            DecisionKind.ACCEPTANCE_TEST_WAIVER, deployment=deployment
        )
    )
    return None if waived else "the governance group has passed no justified waiver"


def register() -> None:
    from radgov.inventory import lifecycle

    for stage in (lifecycle.Stage.PILOT, lifecycle.Stage.DEPLOYED):
        lifecycle.register_guard(stage, approval_guard)
        lifecycle.register_guard(stage, extra_oversight_guard)
        lifecycle.register_guard(stage, regulatory_guard)
    lifecycle.register_acceptance_evidence(waiver_gap)
