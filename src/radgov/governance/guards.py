"""The governance group's lifecycle guards and its acceptance-evidence provider,
registered with ``radgov.inventory.lifecycle`` by ``GovernanceConfig.ready``."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from radgov.governance import selectors
from radgov.governance.models import Baa, Decision, DecisionKind, RegulatoryProfile
from radgov.inventory.lifecycle import fact, remember

ABOUT_PRODUCT = (DecisionKind.IRB_DETERMINATION, DecisionKind.LEGAL_REVIEW)
READ = (*selectors.VERDICTS, *ABOUT_PRODUCT, DecisionKind.ACCEPTANCE_TEST_WAIVER)


def approval_guard(deployment: Any) -> list[str]:
    """IV.A.1: no pilot or deployment without the group's approval of that
    deployment; a later rejection by the group withdraws it."""
    latest = fact("governance.verdict", deployment.pk, lambda: selectors.latest_verdict(deployment))
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
    irb = fact(
        f"governance.{DecisionKind.IRB_DETERMINATION}",
        deployment.pk,
        lambda: selectors.passed_decisions(
            DecisionKind.IRB_DETERMINATION, deployment=deployment, product=product
        ),
    )
    if not irb:
        missing.append(f"IV.H: no IRB determination recorded for {product} ({why})")
    legal = fact(
        f"governance.{DecisionKind.LEGAL_REVIEW}",
        deployment.pk,
        lambda: selectors.legal_reviews(deployment=deployment, product=product),
    )
    if not legal:
        missing.append(f"III.H: no legal/compliance review recorded for {product} ({why})")
    return missing


def regulatory_guard(deployment: Any) -> list[str]:
    """V: a BAA before PHI reaches the vendor; off-label use only by an informed decision."""
    product = deployment.model_version.product
    profile = fact(
        "governance.profile",
        product.pk,
        lambda: RegulatoryProfile.objects.filter(product=product).first(),
    )
    if profile is None:
        return []
    missing = []
    baa = fact("governance.baa", product.pk, lambda: selectors.baa_covers(product))
    if profile.phi_reaches_vendor and not baa:
        missing.append(
            f"V (HIPAA): PHI reaches {product.vendor} but no business associate agreement "
            "covering PHI is on file"
        )
    why = selectors.off_label(product, profile=profile)
    if why and not profile.off_label_decision:
        missing.append(f"{why}; the group has not recorded an informed decision to use it so")
    return missing


def waiver_gap(deployment: Any) -> str | None:
    """IV.E: None when the group recorded (and passed) a justified waiver of acceptance
    testing; otherwise that it has not."""
    waivers = fact(
        f"governance.{DecisionKind.ACCEPTANCE_TEST_WAIVER}",
        deployment.pk,
        lambda: selectors.passed_decisions(
            DecisionKind.ACCEPTANCE_TEST_WAIVER, deployment=deployment
        ),
    )
    waived = any(d.justification.strip() for d in waivers)
    return None if waived else "the governance group has passed no justified waiver"


def preload(deployments: list[Any]) -> None:
    """What the guards above read, for a whole list of deployments: the decisions about
    them and their products, the products' regulatory profiles and the BAAs."""
    products = {d.model_version.product_id: d.model_version.product for d in deployments}
    about = Q(deployment__in=deployments) | Q(product_id__in=products, kind__in=ABOUT_PRODUCT)
    decisions = list(selectors.with_outcomes(Decision.objects.filter(about, kind__in=READ)))
    standing = {x.pk for x in decisions if selectors.standing(x)}
    for d in deployments:
        own = [x for x in decisions if x.deployment_id == d.pk]
        remember(
            "governance.verdict",
            d.pk,
            selectors.latest_standing(x for x in own if x.kind in selectors.VERDICTS),
        )
        waivers = [
            x for x in own if x.kind == DecisionKind.ACCEPTANCE_TEST_WAIVER and x.pk in standing
        ]
        remember(f"governance.{DecisionKind.ACCEPTANCE_TEST_WAIVER}", d.pk, waivers)
        for kind in ABOUT_PRODUCT:
            either = [
                x
                for x in decisions
                if x.kind == kind
                and (x.deployment_id == d.pk or x.product_id == d.model_version.product_id)
                and x.pk in standing
            ]
            remember(f"governance.{kind}", d.pk, either)
    profiles = {p.product_id: p for p in RegulatoryProfile.objects.filter(product_id__in=products)}
    baas = list(Baa.objects.filter(covers_phi=True, signed_on__lte=timezone.localdate()))
    for pk, product in products.items():
        remember("governance.profile", pk, profiles.get(pk))
        remember("governance.baa", pk, selectors.baa_covers(product, baas=baas))


def register() -> None:
    from radgov.inventory import lifecycle

    # approved means the group approved it (IV.A.1), as every later move requires
    registry, stage = lifecycle.LIFECYCLE, lifecycle.Stage
    registry.register(approval_guard, stage.APPROVED, stage.PILOT, stage.DEPLOYED)
    registry.register(extra_oversight_guard, stage.PILOT, stage.DEPLOYED)
    registry.register(regulatory_guard, stage.PILOT, stage.DEPLOYED)
    registry.register_evidence(waiver_gap)
    registry.register_preload(preload)
