"""The regulatory checklist (III.H, V): a line per model version and framework, each
product's regulatory profile, and the business associate agreements with vendors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from radgov.core.bounds import date_refusal, past_refusal, planned_refusal, years_from_today
from radgov.core.roles import Role
from radgov.core.services import service
from radgov.governance import selectors
from radgov.governance.models import (
    Baa,
    Framework,
    ItemStatus,
    RegulatoryItem,
    RegulatoryProfile,
)
from radgov.governance.services import common
from radgov.governance.services.errors import GovernanceError, GovernancePermissionError

REGULATORY_ROLES = {Role.COMPLIANCE, Role.ADMINISTRATOR}


def keeps_checklist(actor: Any) -> bool:
    return getattr(actor, "role", None) in REGULATORY_ROLES or selectors.is_member(actor)


def _require_regulatory(actor: Any, what: str) -> None:
    if keeps_checklist(actor):
        return
    raise GovernancePermissionError(
        f"III.H: the regulatory checklist is kept by the governance group and legal/compliance; "
        f"{common.who(actor)} may not {what}"
    )


@service
def set_regulatory_item(
    actor: Any,
    model_version: Any,
    framework: str,
    *,
    status: str,
    owner: Any = None,
    evidence: str = "",
    evidence_document: Any = None,
    reviewed_on: dt.date | None = None,
) -> RegulatoryItem:
    _require_regulatory(actor, "change the regulatory checklist")
    common.choice(framework, Framework, "framework")
    common.choice(status, ItemStatus, "checklist status")
    evidence = (evidence or "").strip()
    if status in (ItemStatus.COMPLIANT, ItemStatus.NOT_APPLICABLE) and not (
        evidence or evidence_document
    ):
        raise GovernanceError(
            f"III.H: a {Framework(framework).label} line marked {ItemStatus(status).label.lower()} "
            "needs its evidence"
        )
    common.refuse(past_refusal("reviewed_on", reviewed_on, what="a review"))
    if evidence_document is not None and evidence_document.model_version_id != model_version.pk:
        raise GovernanceError("the evidence document belongs to another model version")
    return common.upsert(
        RegulatoryItem,
        {"model_version": model_version, "framework": framework},
        status=status,
        owner=owner,
        evidence=evidence,
        evidence_document=evidence_document,
        reviewed_on=reviewed_on or timezone.localdate(),
    )


@service
def set_regulatory_profile(
    actor: Any,
    product: Any,
    *,
    local_use: str,
    scope_of_clearance: str = "",
    off_label_decision: str = "",
    phi_reaches_vendor: bool = False,
) -> RegulatoryProfile:
    _require_regulatory(actor, "change a product's regulatory profile")
    categories = dict(type(product)._meta.get_field("category").choices)
    if local_use not in categories:
        raise GovernanceError(
            f"unknown local use {local_use!r}; choose one of: {', '.join(categories)}"
        )
    return common.upsert(
        RegulatoryProfile,
        {"product": product},
        local_use=local_use,
        scope_of_clearance=scope_of_clearance.strip(),
        off_label_decision=off_label_decision.strip(),
        phi_reaches_vendor=phi_reaches_vendor,
    )


@service
def record_baa(
    actor: Any,
    *,
    vendor: str,
    signed_on: dt.date,
    covers_phi: bool = True,
    expires_on: dt.date | None = None,
    document_reference: str = "",
    notes: str = "",
) -> Baa:
    if getattr(actor, "role", None) not in REGULATORY_ROLES:
        raise GovernancePermissionError(
            f"III.H.1.e: contracts such as a BAA are recorded by legal/compliance or an "
            f"administrator; {common.who(actor)} may not"
        )
    common.refuse(planned_refusal("signed_on", signed_on, what="signing a BAA", years=1))
    if expires_on is not None and expires_on < signed_on:
        raise GovernanceError("a BAA cannot expire before it is signed")
    common.refuse(
        date_refusal(
            "expires_on",
            expires_on,
            what="a BAA's expiry",
            not_before=signed_on,
            not_after=years_from_today(30),
        )
    )
    return Baa.objects.create(
        vendor=common.text(vendor, "the vendor's name"),
        covers_phi=covers_phi,
        signed_on=signed_on,
        expires_on=expires_on,
        document_reference=document_reference.strip(),
        notes=notes.strip(),
    )
