"""The inventory's REST API: products, versions, deployments, documents, lifecycle moves,
model cards and criteria evaluation.  The services' refusals reach the caller through the
API's one error handler (radgov.core.errors): 403 when the person may not, 422 naming the
rule (and the practice parameter's clause) when the input breaks one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import HttpRequest
from ninja import Field, File, FilterLookup, FilterSchema, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from radgov.accounts.models import User
from radgov.core.errors import Refused, unseen
from radgov.core.paging import Page, PageQuery, paginate
from radgov.dicom.criteria import Criteria, CriteriaError
from radgov.inventory import lifecycle, selectors, services
from radgov.inventory import model_card as cards
from radgov.inventory.alarms_api import router as alarms_router
from radgov.inventory.models import (
    Deployment,
    DeploymentTransition,
    Document,
    ModelVersion,
    Product,
    VendorCompany,
)

router = Router(tags=["inventory"])
router.add_router("", alarms_router)


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


class DeploymentIn(Schema):
    site: str
    clinical_champion_ids: list[int] = []
    end_user_ids: list[int] = []
    pilot_user_ids: list[int] = []
    technical_contact_id: int | None = None
    inclusion_criteria: dict[str, Any] = {}
    routing_notes: str = ""
    output_release_policy: str = ""


class TransitionOut(Schema):
    from_stage: str
    to_stage: str
    by: str | None
    at: datetime
    reason: str


HIDDEN = "null: not visible to your role (a vendor account)"


class DeploymentOut(Schema):
    id: int
    model_version_id: int
    product: str
    version: str
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
    history: list[TransitionOut] = Field(description="the reasons are '' for a vendor account")
    missing: dict[str, list[str]] | None = Field(
        description="what each allowed move lacks; " + HIDDEN
    )


class TransitionIn(Schema):
    to: str
    reason: str = ""


class UpgradeIn(Schema):
    model_version_id: int


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


class DeploymentPatch(Schema):
    site: str | None = None
    clinical_champion_ids: list[int] | None = None
    end_user_ids: list[int] | None = None
    pilot_user_ids: list[int] | None = None
    technical_contact_id: int | None = None
    inclusion_criteria: dict[str, Any] | None = None
    routing_notes: str | None = None
    output_release_policy: str | None = None


class CriteriaIn(Schema):
    attributes: dict[str, Any]
    criteria: dict[str, Any] | None = None
    deployment_id: int | None = None


class CriteriaOut(Schema):
    included: bool
    reasons: list[str]
    criteria: dict[str, Any]


def _product_out(p: Product) -> dict[str, Any]:
    data = {f: getattr(p, f) for f in services.PRODUCT_FIELDS}
    return {"id": p.pk, **data, "needs_extra_oversight": p.needs_extra_oversight}


def _version_out(mv: ModelVersion) -> dict[str, Any]:
    data = {f: getattr(mv, f) for f in services.VERSION_FIELDS}
    return {
        "id": mv.pk,
        "product_id": mv.product_id,
        "version": mv.version,
        **data,
        "documents": list(mv.documents.all()),
    }


def _load_for_out(rows: list[Deployment]) -> None:
    """Read what the answers for ``rows`` need, for all of them at once: versions and
    products, people, histories, and what each next move is missing."""
    prefetch_related_objects(
        rows,
        "model_version__product",
        "technical_contact",
        "clinical_champions",
        "end_users",
        "pilot_users",
        Prefetch(
            "transitions", queryset=DeploymentTransition.objects.select_related("by", "by_machine")
        ),
    )
    for d, missing in zip(rows, lifecycle.blockers(rows).values(), strict=True):
        d.blockers = missing  # type: ignore[attr-defined]


def _deployment_out(d: Deployment, viewer: Any) -> dict[str, Any]:
    """The deployment as ``viewer`` may see it, once ``_load_for_out`` has loaded it: a vendor account sees no lifecycle
    blockers, no reasons for moves (a suspension's, say) and no names of end-users."""
    vendor = selectors.is_vendor(viewer)
    return {
        "id": d.pk,
        "model_version_id": d.model_version_id,
        "product": str(d.model_version.product),
        "version": d.model_version.version,
        "site": d.site,
        "status": d.status,
        "deployment_date": d.deployment_date,
        "clinical_champions": [u.username for u in d.clinical_champions.all()],
        "end_users": None if vendor else [u.username for u in d.end_users.all()],
        "pilot_users": None if vendor else [u.username for u in d.pilot_users.all()],
        "technical_contact": d.technical_contact.username if d.technical_contact else None,
        "inclusion_criteria": d.inclusion_criteria,
        "routing_notes": d.routing_notes,
        "output_release_policy": d.output_release_policy,
        "replaces_id": d.replaces_id,
        "history": [
            {
                "from_stage": t.from_stage,
                "to_stage": t.to_stage,
                "by": t.by_name,
                "at": t.at,
                "reason": "" if vendor else t.reason,
            }
            for t in d.transitions.all()
        ],
        "missing": None if vendor else d.blockers,  # type: ignore[attr-defined]
    }


def _one_deployment(d: Deployment, viewer: Any) -> dict[str, Any]:
    _load_for_out([d])
    return _deployment_out(d, viewer)


def _users(ids: list[int], what: str) -> list[User]:
    found = list(User.objects.filter(pk__in=ids, is_active=True))
    unknown = sorted(set(ids) - {u.pk for u in found})
    if unknown:
        raise Refused(f"{what}: no active user with id {', '.join(map(str, unknown))}")
    return found


# --- products and versions -------------------------------------------------------------------


def _visible(rows: QuerySet[Any], pk: int, kind: str) -> Any:
    """The row if the caller may see it; otherwise 404 whether it exists or not (the API's
    error handler records the refusal)."""
    row = rows.filter(pk=pk).first()
    if row is None:
        raise unseen(kind, pk)
    return row


class ProductFilter(FilterSchema):
    vendor: Annotated[str | None, FilterLookup("company__name__icontains")] = None
    name: Annotated[str | None, FilterLookup("name__icontains")] = None
    category: str | None = None
    regulatory_pathway: str | None = None


@router.get("/products", response=Page[ProductOut])
def list_products(
    request: HttpRequest, filters: Query[ProductFilter], page: Query[PageQuery]
) -> dict[str, Any]:
    rows = selectors.visible_products(request.user).order_by("company__name", "name", "pk")
    return paginate(filters.filter(rows), page, _product_out)


@router.post("/products", response={201: ProductOut})
def create_product(request: HttpRequest, payload: ProductIn) -> Status[dict[str, Any]]:
    row = services.create_product(request.user, **payload.dict())
    return Status(201, _product_out(row))


@router.get("/products/{product_id}", response=ProductOut)
def get_product(request: HttpRequest, product_id: int) -> dict[str, Any]:
    return _product_out(_visible(selectors.visible_products(request.user), product_id, "product"))


@router.patch("/products/{product_id}", response=ProductOut)
def update_product(request: HttpRequest, product_id: int, payload: ProductPatch) -> dict[str, Any]:
    """Change the fields given; the same rules as on creation apply."""
    row = _visible(Product.objects.all(), product_id, "product")
    fields = {k: ("" if v is None else v) for k, v in payload.dict(exclude_unset=True).items()}
    row = services.update_product(request.user, row, **fields)
    return _product_out(row)


@router.get("/products/{product_id}/versions", response=Page[VersionOut])
def list_versions(request: HttpRequest, product_id: int, page: Query[PageQuery]) -> dict[str, Any]:
    product = _visible(selectors.visible_products(request.user), product_id, "product")
    rows = product.versions.prefetch_related("documents").order_by("-release_date", "-id")
    return paginate(rows, page, _version_out)


@router.post("/products/{product_id}/versions", response={201: VersionOut})
def create_version(
    request: HttpRequest, product_id: int, payload: VersionIn
) -> Status[dict[str, Any]]:
    product = _visible(Product.objects.all(), product_id, "product")
    data = payload.dict()
    version = data.pop("version")
    row = services.add_model_version(request.user, product, version=version, **data)
    return Status(201, _version_out(row))


@router.get("/versions/{version_id}", response=VersionOut)
def get_version(request: HttpRequest, version_id: int) -> dict[str, Any]:
    mv = _visible(selectors.visible_versions(request.user), version_id, "model version")
    return _version_out(mv)


@router.patch("/versions/{version_id}", response=VersionOut)
def update_version(request: HttpRequest, version_id: int, payload: VersionPatch) -> dict[str, Any]:
    """Change a version's documentation; its version string never changes (IV.B.2.a)."""
    row = _visible(ModelVersion.objects.all(), version_id, "model version")
    row = services.update_model_version(request.user, row, **payload.dict(exclude_unset=True))
    return _version_out(row)


@router.get("/versions/{version_id}/model-card")
def model_card(request: HttpRequest, version_id: int) -> dict[str, Any]:
    """CHAI Applied Model Card fields and ONC HTI-1 source attributes, with ``empty_fields``."""
    return cards.build(
        _visible(selectors.visible_versions(request.user), version_id, "model version")
    )


@router.post("/versions/{version_id}/documents", response={201: DocumentOut})
def upload_document(
    request: HttpRequest,
    version_id: int,
    kind: Form[str],
    version_label: Form[str],
    file: File[UploadedFile],
    title: Form[str] = "",
) -> Status[Document]:
    """Multipart upload of a PDF (IFU, release notes, other), at most RADGOV_MAX_UPLOAD_MB."""
    mv = _visible(ModelVersion.objects.all(), version_id, "model version")
    doc = services.upload_document(
        request.user, mv, kind=kind, version_label=version_label, title=title, upload=file
    )
    return Status(201, doc)


# --- deployments -----------------------------------------------------------------------------


class DeploymentFilter(FilterSchema):
    stage: Annotated[str | None, FilterLookup("status")] = None
    site: Annotated[str | None, FilterLookup("site__icontains")] = None
    model_version: Annotated[int | None, FilterLookup("model_version_id")] = None
    product: Annotated[int | None, FilterLookup("model_version__product_id")] = None


@router.get("/deployments", response=Page[DeploymentOut])
def list_deployments(
    request: HttpRequest, filters: Query[DeploymentFilter], page: Query[PageQuery]
) -> dict[str, Any]:
    """Each with its history and, for every move it may make next, what is missing."""
    rows = filters.filter(selectors.visible_deployments(request.user).order_by("pk"))
    return paginate(rows, page, lambda d: _deployment_out(d, request.user), prepare=_load_for_out)


@router.post("/versions/{version_id}/deployments", response={201: DeploymentOut})
def create_deployment(
    request: HttpRequest, version_id: int, payload: DeploymentIn
) -> Status[dict[str, Any]]:
    mv = _visible(ModelVersion.objects.all(), version_id, "model version")
    contact = None
    if payload.technical_contact_id is not None:
        contact = _users([payload.technical_contact_id], "technical_contact_id")[0]
    row = services.create_deployment(
        request.user,
        mv,
        site=payload.site,
        clinical_champions=_users(payload.clinical_champion_ids, "clinical_champion_ids"),
        end_users=_users(payload.end_user_ids, "end_user_ids"),
        pilot_users=_users(payload.pilot_user_ids, "pilot_user_ids"),
        technical_contact=contact,
        inclusion_criteria=payload.inclusion_criteria,
        routing_notes=payload.routing_notes,
        output_release_policy=payload.output_release_policy,
    )
    return Status(201, _one_deployment(row, request.user))


@router.get("/deployments/{deployment_id}", response=DeploymentOut)
def get_deployment(request: HttpRequest, deployment_id: int) -> dict[str, Any]:
    rows = selectors.visible_deployments(request.user)
    return _one_deployment(_visible(rows, deployment_id, "deployment"), request.user)


@router.patch("/deployments/{deployment_id}", response=DeploymentOut)
def update_deployment(
    request: HttpRequest, deployment_id: int, payload: DeploymentPatch
) -> dict[str, Any]:
    """Change site, people, criteria and notes; the model version never changes."""
    row = _visible(Deployment.objects.all(), deployment_id, "deployment")
    given = payload.dict(exclude_unset=True)
    fields: dict[str, Any] = {}
    for key in ("site", "inclusion_criteria", "routing_notes", "output_release_policy"):
        if key in given:
            fields[key] = (
                given[key]
                if given[key] is not None
                else ("" if key != "inclusion_criteria" else {})
            )
    people = {
        "clinical_champion_ids": "clinical_champions",
        "end_user_ids": "end_users",
        "pilot_user_ids": "pilot_users",
    }
    for key, name in people.items():
        if key in given:
            fields[name] = _users(given[key] or [], key)
    if "technical_contact_id" in given:
        contact_id = given["technical_contact_id"]
        fields["technical_contact"] = (
            None if contact_id is None else _users([contact_id], "technical_contact_id")[0]
        )
    row = services.update_deployment(request.user, row, **fields)
    return _one_deployment(row, request.user)


@router.post("/deployments/{deployment_id}/transition", response=DeploymentOut)
def transition_deployment(
    request: HttpRequest, deployment_id: int, payload: TransitionIn
) -> dict[str, Any]:
    """Move to another lifecycle stage; a refused move lists everything that is missing."""
    row = _visible(Deployment.objects.all(), deployment_id, "deployment")
    row = lifecycle.transition(request.user, row, payload.to, reason=payload.reason)
    return _one_deployment(row, request.user)


@router.post("/deployments/{deployment_id}/upgrade", response={201: DeploymentOut})
def propose_upgrade(
    request: HttpRequest, deployment_id: int, payload: UpgradeIn
) -> Status[dict[str, Any]]:
    """A new version re-enters review as a new deployment; the current one is unchanged."""
    row = _visible(Deployment.objects.all(), deployment_id, "deployment")
    mv = _visible(ModelVersion.objects.all(), payload.model_version_id, "model version")
    new = services.propose_upgrade(request.user, row, mv)
    return Status(201, _one_deployment(new, request.user))


@router.post("/criteria/evaluate", response=CriteriaOut)
def evaluate_criteria(request: HttpRequest, payload: CriteriaIn) -> dict[str, Any]:
    """Would a study with these DICOM attributes (by keyword) be included?  Criteria come from
    ``criteria`` or from the deployment ``deployment_id``."""
    if (payload.criteria is None) == (payload.deployment_id is None):
        raise Refused("give either criteria or deployment_id")
    if payload.deployment_id is not None:
        rows = selectors.visible_deployments(request.user)
        data = _visible(rows, payload.deployment_id, "deployment").inclusion_criteria
    else:
        data = payload.criteria
    try:
        criteria = Criteria.from_dict(data or {})
        included, reasons = criteria.evaluate(payload.attributes)
    except CriteriaError as exc:  # radgov.dicom is pure: its errors know no HTTP
        raise Refused(str(exc)) from None
    return {"included": included, "reasons": reasons, "criteria": criteria.to_dict()}


# --- vendor companies --------------------------------------------------------------------------


class CompanyOut(Schema):
    id: int
    name: str
    products: list[str]
    representatives: list[str]


class RepresentativeIn(Schema):
    user_id: int


def _company_out(c: VendorCompany) -> dict[str, Any]:
    return {
        "id": c.pk,
        "name": c.name,
        "products": [p.name for p in c.products.all()],
        "representatives": [u.username for u in c.representatives.all()],
    }


@router.get("/companies", response=list[CompanyOut])
def list_companies(request: HttpRequest) -> list[dict[str, Any]]:
    rows = VendorCompany.objects.prefetch_related("products", "representatives")
    return [_company_out(c) for c in rows]


@router.post("/companies/{company_id}/representatives", response=CompanyOut)
def add_representative(
    request: HttpRequest, company_id: int, payload: RepresentativeIn
) -> dict[str, Any]:
    """A vendor account joins its company: from then on it sees that company's products only."""
    company = _visible(VendorCompany.objects.all(), company_id, "vendor company")
    account = _users([payload.user_id], "user_id")[0]
    services.add_representative(request.user, company, account)
    return _company_out(company)


@router.post("/companies/{company_id}/representatives/{user_id}/remove", response=CompanyOut)
def remove_representative(request: HttpRequest, company_id: int, user_id: int) -> dict[str, Any]:
    company = _visible(VendorCompany.objects.all(), company_id, "vendor company")
    account = _visible(company.representatives.all(), user_id, "representative")
    services.remove_representative(request.user, company, account)
    return _company_out(company)
