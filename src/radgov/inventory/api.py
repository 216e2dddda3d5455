"""The inventory's REST API: products, versions, deployments, documents, lifecycle moves,
model cards and criteria evaluation.  The services' refusals reach the caller through the
API's one error handler (radgov.core.errors): 403 when the person may not, 422 naming the
rule (and the practice parameter's clause) when the input breaks one."""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from ninja import File, FilterLookup, FilterSchema, Form, Query, Router, Status
from ninja.files import UploadedFile

from radgov.accounts.models import User
from radgov.core.errors import Refused, unseen
from radgov.core.paging import Page, PageQuery, cached_page, paginate
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
from radgov.inventory.schemas import (
    CompanyOut,
    CriteriaIn,
    CriteriaOut,
    DeploymentBrief,
    DeploymentIn,
    DeploymentOut,
    DeploymentPatch,
    DocumentOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    RepresentativeIn,
    TransitionIn,
    UpgradeIn,
    VersionIn,
    VersionOut,
    VersionPatch,
)

router = Router(tags=["inventory"])
router.add_router("", alarms_router)


def _history() -> QuerySet[DeploymentTransition]:
    """The moves as ``TransitionOut`` shows them: the stages, when, why, and who by name."""
    return DeploymentTransition.objects.select_related("by", "by_machine").only(
        "deployment_id",
        "from_stage",
        "to_stage",
        "at",
        "reason",
        "by__username",
        "by_machine__name",
    )


def _load_brief(rows: list[Deployment]) -> None:
    """Read what ``DeploymentBrief`` needs for ``rows``, for all of them at once: versions and
    products, people and histories."""
    people = ("technical_contact", "clinical_champions", "end_users", "pilot_users")
    prefetch_related_objects(
        rows,
        "model_version__product",
        # the schema shows a person by username only
        *(Prefetch(name, queryset=User.objects.only("username")) for name in people),
        Prefetch("transitions", queryset=_history()),
    )


def _loaded(d: Deployment) -> Deployment:
    """The deployment with what ``DeploymentOut`` shows: its brief and what each next move
    is missing."""
    _load_brief([d])
    d.blockers = lifecycle.blockers([d])[d.pk]  # type: ignore[attr-defined]
    return d


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
    return paginate(filters.filter(rows), page)


@router.post("/products", response={201: ProductOut})
def create_product(request: HttpRequest, payload: ProductIn) -> Status[Product]:
    return Status(201, services.create_product(request.user, **payload.dict()))


@router.get("/products/{product_id}", response=ProductOut)
def get_product(request: HttpRequest, product_id: int) -> Product:
    return _visible(selectors.visible_products(request.user), product_id, "product")


@router.patch("/products/{product_id}", response=ProductOut)
def update_product(request: HttpRequest, product_id: int, payload: ProductPatch) -> Product:
    """Change the fields given; the same rules as on creation apply."""
    row = _visible(Product.objects.all(), product_id, "product")
    fields = {k: ("" if v is None else v) for k, v in payload.dict(exclude_unset=True).items()}
    return services.update_product(request.user, row, **fields)


@router.get("/products/{product_id}/versions", response=Page[VersionOut])
def list_versions(request: HttpRequest, product_id: int, page: Query[PageQuery]) -> dict[str, Any]:
    product = _visible(selectors.visible_products(request.user), product_id, "product")
    rows = product.versions.prefetch_related("documents").order_by("-release_date", "-id")
    return paginate(rows, page)


@router.post("/products/{product_id}/versions", response={201: VersionOut})
def create_version(
    request: HttpRequest, product_id: int, payload: VersionIn
) -> Status[ModelVersion]:
    product = _visible(Product.objects.all(), product_id, "product")
    data = payload.dict()
    version = data.pop("version")
    return Status(201, services.add_model_version(request.user, product, version=version, **data))


@router.get("/versions/{version_id}", response=VersionOut)
def get_version(request: HttpRequest, version_id: int) -> ModelVersion:
    return _visible(selectors.visible_versions(request.user), version_id, "model version")


@router.patch("/versions/{version_id}", response=VersionOut)
def update_version(request: HttpRequest, version_id: int, payload: VersionPatch) -> ModelVersion:
    """Change a version's documentation; its version string never changes (IV.B.2.a)."""
    row = _visible(ModelVersion.objects.all(), version_id, "model version")
    return services.update_model_version(request.user, row, **payload.dict(exclude_unset=True))


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


@router.get("/deployments", response=Page[DeploymentBrief])
def list_deployments(
    request: HttpRequest, filters: Query[DeploymentFilter], page: Query[PageQuery]
) -> HttpResponse:
    """Each with its people and history; what each next move is missing is on the
    deployment's own route (``GET /api/inventory/deployments/{id}``)."""
    user = request.user
    # a vendor account sees its own products' rows, without reasons or end-users
    viewer = user.pk if selectors.is_vendor(user) else "staff"
    return cached_page(
        request,
        DeploymentBrief,
        ("api:inventory:deployments", viewer, filters.model_dump_json()),
        ("inventory", "accounts"),
        lambda: filters.filter(selectors.visible_deployments(user).order_by("pk")),
        page,
        prepare=_load_brief,
    )


@router.post("/versions/{version_id}/deployments", response={201: DeploymentOut})
def create_deployment(
    request: HttpRequest, version_id: int, payload: DeploymentIn
) -> Status[Deployment]:
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
    return Status(201, _loaded(row))


@router.get("/deployments/{deployment_id}", response=DeploymentOut)
def get_deployment(request: HttpRequest, deployment_id: int) -> Deployment:
    rows = selectors.visible_deployments(request.user)
    return _loaded(_visible(rows, deployment_id, "deployment"))


@router.patch("/deployments/{deployment_id}", response=DeploymentOut)
def update_deployment(
    request: HttpRequest, deployment_id: int, payload: DeploymentPatch
) -> Deployment:
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
    return _loaded(row)


@router.post("/deployments/{deployment_id}/transition", response=DeploymentOut)
def transition_deployment(
    request: HttpRequest, deployment_id: int, payload: TransitionIn
) -> Deployment:
    """Move to another lifecycle stage; a refused move lists everything that is missing."""
    row = _visible(Deployment.objects.all(), deployment_id, "deployment")
    row = lifecycle.transition(request.user, row, payload.to, reason=payload.reason)
    return _loaded(row)


@router.post("/deployments/{deployment_id}/upgrade", response={201: DeploymentOut})
def propose_upgrade(
    request: HttpRequest, deployment_id: int, payload: UpgradeIn
) -> Status[Deployment]:
    """A new version re-enters review as a new deployment; the current one is unchanged."""
    row = _visible(Deployment.objects.all(), deployment_id, "deployment")
    mv = _visible(ModelVersion.objects.all(), payload.model_version_id, "model version")
    new = services.propose_upgrade(request.user, row, mv)
    return Status(201, _loaded(new))


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


@router.get("/companies", response=list[CompanyOut])
def list_companies(request: HttpRequest) -> QuerySet[VendorCompany]:
    return VendorCompany.objects.prefetch_related("products", "representatives")


@router.post("/companies/{company_id}/representatives", response=CompanyOut)
def add_representative(
    request: HttpRequest, company_id: int, payload: RepresentativeIn
) -> VendorCompany:
    """A vendor account joins its company: from then on it sees that company's products only."""
    company = _visible(VendorCompany.objects.all(), company_id, "vendor company")
    account = _users([payload.user_id], "user_id")[0]
    services.add_representative(request.user, company, account)
    return company


@router.post("/companies/{company_id}/representatives/{user_id}/remove", response=CompanyOut)
def remove_representative(request: HttpRequest, company_id: int, user_id: int) -> VendorCompany:
    company = _visible(VendorCompany.objects.all(), company_id, "vendor company")
    account = _visible(company.representatives.all(), user_id, "representative")
    services.remove_representative(request.user, company, account)
    return company
