"""The regulatory checklist of a model version, a product's regulatory profile (local use
against its clearance), and the business associate agreements on file."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from ninja import FilterLookup, FilterSchema, Query, Router, Schema, Status

from radgov.core.paging import Page, PageQuery, paginate
from radgov.governance import selectors, services
from radgov.governance.api._lookups import get, inv, opt
from radgov.governance.models import Baa

router = Router()


class ChecklistLineOut(Schema):
    key: str
    label: str
    status: str
    status_label: str
    ok: bool
    owner: str
    evidence: str
    reviewed_on: dt.date | None


class RegulatoryItemIn(Schema):
    framework: str
    status: str
    owner_id: int | None = None
    evidence: str = ""
    evidence_document_id: int | None = None
    reviewed_on: dt.date | None = None


class ProfileIn(Schema):
    local_use: str
    scope_of_clearance: str = ""
    off_label_decision: str = ""
    phi_reaches_vendor: bool = False


class ProfileOut(Schema):
    product_id: int
    local_use: str
    scope_of_clearance: str
    off_label_decision: str
    phi_reaches_vendor: bool
    off_label: str | None
    baa_on_file: bool

    @staticmethod
    def resolve_off_label(profile: Any) -> str | None:
        return selectors.off_label(profile.product)

    @staticmethod
    def resolve_baa_on_file(profile: Any) -> bool:
        return selectors.baa_covers(profile.product)


class BaaIn(Schema):
    vendor: str
    signed_on: dt.date
    covers_phi: bool = True
    expires_on: dt.date | None = None
    document_reference: str = ""
    notes: str = ""


class BaaOut(Schema):
    id: int
    vendor: str
    covers_phi: bool
    signed_on: dt.date
    expires_on: dt.date | None
    document_reference: str


@router.get("/model-versions/{version_id}/checklist", response=list[ChecklistLineOut])
def get_checklist(request: HttpRequest, version_id: int) -> list[dict[str, Any]]:
    return selectors.checklist(get(inv("ModelVersion"), version_id, "model version"))


@router.post("/model-versions/{version_id}/checklist", response=list[ChecklistLineOut])
def set_regulatory_item(
    request: HttpRequest, version_id: int, payload: RegulatoryItemIn
) -> list[dict[str, Any]]:
    version = get(inv("ModelVersion"), version_id, "model version")
    services.set_regulatory_item(
        request.user,
        version,
        payload.framework,
        status=payload.status,
        owner=opt(get_user_model(), payload.owner_id, "user"),
        evidence=payload.evidence,
        evidence_document=opt(inv("Document"), payload.evidence_document_id, "document"),
        reviewed_on=payload.reviewed_on,
    )
    return get_checklist(request, version_id)


@router.post("/products/{product_id}/regulatory-profile", response=ProfileOut)
def set_regulatory_profile(request: HttpRequest, product_id: int, payload: ProfileIn) -> Any:
    product = get(inv("Product"), product_id, "product")
    return services.set_regulatory_profile(request.user, product, **payload.dict())


class BaaFilter(FilterSchema):
    vendor: Annotated[str | None, FilterLookup("vendor__icontains")] = None
    covers_phi: bool | None = None


@router.get("/baas", response=Page[BaaOut])
def list_baas(
    request: HttpRequest, filters: Query[BaaFilter], page: Query[PageQuery]
) -> dict[str, Any]:
    return paginate(filters.filter(Baa.objects.order_by("vendor", "pk")), page)


@router.post("/baas", response={201: BaaOut})
def record_baa(request: HttpRequest, payload: BaaIn) -> Status[Baa]:
    return Status(201, services.record_baa(request.user, **payload.dict()))
