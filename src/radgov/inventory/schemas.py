"""The inventory API's schemas.  Out schemas read the records themselves (attributes,
dotted aliases and ``resolve_*`` methods), as the governance API's do; what a vendor account
may not see is decided here, from the request in the serializer's context."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from radgov.inventory import selectors
from radgov.inventory.models import Deployment, DeploymentTransition, VendorCompany


def _vendor_viewer(context: dict[str, Any]) -> bool:
    """Is the caller whose answer is being written a vendor account?"""
    return selectors.is_vendor(context["request"].user)


def _usernames(people: Any) -> list[str]:
    return [u.username for u in people.all()]


class ProductIn(Schema):
    vendor: str
    name: str
    category: str
    regulatory_pathway: str
    vendor_contact: str = ""
    support_contact: str = ""
    description: str = ""
    fda_number: str = ""
    fda_product_code: str = ""
    ce_ukca: str = ""
    not_regulated_reason: str = ""


class ProductOut(Schema):
    id: int
    vendor: str
    name: str
    category: str
    regulatory_pathway: str
    fda_number: str
    fda_product_code: str
    ce_ukca: str
    not_regulated_reason: str
    vendor_contact: str
    support_contact: str
    description: str
    needs_extra_oversight: bool


class ProductPatch(Schema):
    vendor: str | None = None
    name: str | None = None
    category: str | None = None
    regulatory_pathway: str | None = None
    vendor_contact: str | None = None
    support_contact: str | None = None
    description: str | None = None
    fda_number: str | None = None
    fda_product_code: str | None = None
    ce_ukca: str | None = None
    not_regulated_reason: str | None = None


class VersionIn(Schema):
    version: str
    release_date: date | None = None
    release_notes: str = ""
    advance_notice_date: date | None = None
    intended_purpose: str = ""
    inputs: str = ""
    outputs: str = ""
    limitations: str = ""
    performance_factors: str = ""
    claimed_sensitivity: float | None = None
    claimed_specificity: float | None = None
    claim_source: str = ""
    model_type: str = ""
    intended_users: str = ""
    target_population: str = ""
    decision_role: str = ""
    out_of_scope_use: str = ""
    known_biases: str = ""
    clinical_risk_level: str = ""
    development_data: str = ""
    bias_mitigation: str = ""
    external_validation: str = ""
    maintenance: str = ""
    funding_source: str = ""
    references: str = ""


class DocumentOut(Schema):
    id: int
    kind: str
    version_label: str
    title: str
    original_name: str
    size: int
    sha256: str
    uploaded_at: datetime


class VersionOut(VersionIn):
    id: int
    product_id: int
    documents: list[DocumentOut]


class VersionPatch(Schema):
    version: str | None = None  # given only to be refused: a version string never changes
    release_date: date | None = None
    release_notes: str | None = None
    advance_notice_date: date | None = None
    intended_purpose: str | None = None
    inputs: str | None = None
    outputs: str | None = None
    limitations: str | None = None
    performance_factors: str | None = None
    claimed_sensitivity: float | None = None
    claimed_specificity: float | None = None
    claim_source: str | None = None
    model_type: str | None = None
    intended_users: str | None = None
    target_population: str | None = None
    decision_role: str | None = None
    out_of_scope_use: str | None = None
    known_biases: str | None = None
    clinical_risk_level: str | None = None
    development_data: str | None = None
    bias_mitigation: str | None = None
    external_validation: str | None = None
    maintenance: str | None = None
    funding_source: str | None = None
    references: str | None = None


class DeploymentIn(Schema):
    site: str
    clinical_champion_ids: list[int] = []
    end_user_ids: list[int] = []
    pilot_user_ids: list[int] = []
    technical_contact_id: int | None = None
    inclusion_criteria: dict[str, Any] = {}
    routing_notes: str = ""
    output_release_policy: str = ""


class DeploymentPatch(Schema):
    site: str | None = None
    clinical_champion_ids: list[int] | None = None
    end_user_ids: list[int] | None = None
    pilot_user_ids: list[int] | None = None
    technical_contact_id: int | None = None
    inclusion_criteria: dict[str, Any] | None = None
    routing_notes: str | None = None
    output_release_policy: str | None = None


class TransitionOut(Schema):
    from_stage: str
    to_stage: str
    by: str | None = Field(alias="by_name")
    at: datetime
    reason: str

    @staticmethod
    def resolve_reason(t: DeploymentTransition, context: dict[str, Any]) -> str:
        return "" if _vendor_viewer(context) else t.reason


HIDDEN = "null: not visible to your role (a vendor account)"


# Read once the API has loaded the deployments (``api._load_for_out``): a vendor account sees
# no lifecycle blockers, no reasons for moves (a suspension's, say) and no names of end-users.
class DeploymentBrief(Schema):
    """A row of the deployments list: everything but what each next move lacks (the
    lifecycle's guards read a dozen tables; ``GET /api/inventory/deployments/{id}`` says it)."""

    id: int
    model_version_id: int
    product: str
    version: str = Field(alias="model_version.version")
    site: str
    status: str
    deployment_date: date | None
    clinical_champions: list[str]
    end_users: list[str] | None = Field(description=HIDDEN)
    pilot_users: list[str] | None = Field(description=HIDDEN)
    technical_contact: str | None
    inclusion_criteria: dict[str, Any]
    routing_notes: str
    output_release_policy: str
    replaces_id: int | None
    history: list[TransitionOut] = Field(
        alias="transitions", description="the reasons are '' for a vendor account"
    )

    @staticmethod
    def resolve_product(d: Deployment) -> str:
        return str(d.model_version.product)

    @staticmethod
    def resolve_clinical_champions(d: Deployment) -> list[str]:
        return _usernames(d.clinical_champions)

    @staticmethod
    def resolve_end_users(d: Deployment, context: dict[str, Any]) -> list[str] | None:
        return None if _vendor_viewer(context) else _usernames(d.end_users)

    @staticmethod
    def resolve_pilot_users(d: Deployment, context: dict[str, Any]) -> list[str] | None:
        return None if _vendor_viewer(context) else _usernames(d.pilot_users)

    @staticmethod
    def resolve_technical_contact(d: Deployment) -> str | None:
        return d.technical_contact.username if d.technical_contact else None


class DeploymentOut(DeploymentBrief):
    """One deployment, with what each move it may make next is missing."""

    missing: dict[str, list[str]] | None = Field(
        description="what each allowed move lacks; " + HIDDEN
    )

    @staticmethod
    def resolve_missing(d: Deployment, context: dict[str, Any]) -> dict[str, list[str]] | None:
        return None if _vendor_viewer(context) else d.blockers  # type: ignore[attr-defined]


class TransitionIn(Schema):
    to: str
    reason: str = ""


class UpgradeIn(Schema):
    model_version_id: int


class CriteriaIn(Schema):
    attributes: dict[str, Any]
    criteria: dict[str, Any] | None = None
    deployment_id: int | None = None


class CriteriaOut(Schema):
    included: bool
    reasons: list[str]
    criteria: dict[str, Any]


class CompanyOut(Schema):
    id: int
    name: str
    products: list[str]
    representatives: list[str]

    @staticmethod
    def resolve_products(c: VendorCompany) -> list[str]:
        return [p.name for p in c.products.all()]

    @staticmethod
    def resolve_representatives(c: VendorCompany) -> list[str]:
        return _usernames(c.representatives)


class RepresentativeIn(Schema):
    user_id: int
