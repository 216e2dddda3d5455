"""Products (IV.B.1), one entry per product of a vendor company, and the vendor accounts
that belong to a company (III.F)."""

from __future__ import annotations

import re
from typing import Any

from radgov.core.roles import Role
from radgov.core.services import service
from radgov.inventory.lifecycle import NotPermitted
from radgov.inventory.models import (
    Category,
    NotRegulatedReason,
    Product,
    RegulatoryPathway,
    VendorCompany,
)
from radgov.inventory.services import common
from radgov.inventory.services.errors import InventoryError

PRODUCT_FIELDS = (
    "vendor",
    "vendor_contact",
    "support_contact",
    "name",
    "description",
    "category",
    "regulatory_pathway",
    "fda_number",
    "fda_product_code",
    "ce_ukca",
    "not_regulated_reason",
)

FDA_NUMBER = {
    RegulatoryPathway.FDA_510K: (re.compile(r"^K\d{6}$"), "K followed by 6 digits, e.g. K221240"),
    RegulatoryPathway.FDA_DE_NOVO: (
        re.compile(r"^DEN\d{6}$"),
        "DEN followed by 6 digits, e.g. DEN170073",
    ),
    RegulatoryPathway.FDA_PMA: (re.compile(r"^P\d{6}$"), "P followed by 6 digits, e.g. P200001"),
}


def _clean_product(data: dict[str, Any]) -> dict[str, Any]:
    data = common.stripped(data)
    for key in ("vendor", "name"):
        if not data.get(key):
            raise InventoryError(
                f"{key}: required (IV.B.1: every product in the inventory names it)"
            )
    if data.get("category") not in Category.values:
        raise InventoryError(
            f"category: {data.get('category')!r} is not one of {', '.join(Category.values)}"
        )
    pathway = data.get("regulatory_pathway")
    if pathway not in RegulatoryPathway.values:
        raise InventoryError(
            f"regulatory_pathway: {pathway!r} is not one of {', '.join(RegulatoryPathway.values)}"
        )
    reason = data.get("not_regulated_reason") or ""
    if pathway == RegulatoryPathway.NOT_FDA:
        if reason not in NotRegulatedReason.values:
            raise InventoryError(
                "not_regulated_reason: a product that is not FDA-regulated must say why "
                f"({', '.join(NotRegulatedReason.values)}) (IV.H.2)"
            )
        if data.get("fda_number") or data.get("fda_product_code"):
            raise InventoryError(
                "fda_number: a product that is not FDA-regulated has no FDA number or product code"
            )
    else:
        if reason:
            raise InventoryError(
                "not_regulated_reason: only a product that is not FDA-regulated gives a reason"
            )
        pattern, example = FDA_NUMBER[RegulatoryPathway(pathway)]
        number = (data.get("fda_number") or "").upper()
        if not pattern.match(number):
            raise InventoryError(
                f"fda_number: {data.get('fda_number')!r} is not a {RegulatoryPathway(pathway).label} "
                f"number ({example})"
            )
        code = (data.get("fda_product_code") or "").upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise InventoryError(
                f"fda_product_code: {data.get('fda_product_code')!r} is not a three-letter FDA product code"
            )
        data["fda_number"], data["fda_product_code"] = number, code
    data["not_regulated_reason"] = reason
    return data


def company_named(name: str) -> VendorCompany:
    """The vendor company of that name (any case), recorded on first use."""
    company = VendorCompany.objects.filter(name__iexact=name).first()
    return company or VendorCompany.objects.create(name=name)


def _check_unique_product(vendor: str, name: str, exclude: int | None = None) -> None:
    clash = Product.objects.filter(company__name__iexact=vendor, name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    existing = clash.first()
    if existing is not None:
        raise InventoryError(
            f"the inventory already holds {existing} (IV.B.1: one entry per product)"
        )


@service
def create_product(user: Any, **fields: Any) -> Product:
    common.require_change(user)
    common.require_known(fields, PRODUCT_FIELDS, "product")
    data = _clean_product({k: fields.get(k, "") for k in PRODUCT_FIELDS})
    _check_unique_product(data["vendor"], data["name"])
    company = company_named(data.pop("vendor"))
    product = Product(company=company, **data)
    product.save()
    return product


@service
def update_product(user: Any, product: Product, **fields: Any) -> Product:
    common.require_change(user)
    common.require_known(fields, PRODUCT_FIELDS, "product")
    product, data = common.locked_update(product, PRODUCT_FIELDS, fields, _clean_product)
    _check_unique_product(data["vendor"], data["name"], exclude=product.pk)
    product.company = company_named(data.pop("vendor"))
    for key, value in data.items():
        setattr(product, key, value)
    product.save()
    return product


# --- vendor companies and their accounts (III.F) ---------------------------------------------


def _require_admin(user: Any) -> None:
    if getattr(user, "role", None) != Role.ADMINISTRATOR:
        raise NotPermitted("an administrator says which company a vendor account belongs to")


@service
def add_representative(user: Any, company: VendorCompany, account: Any) -> VendorCompany:
    """A vendor account belongs to one company and sees only that company's products."""
    _require_admin(user)
    if account.role != Role.VENDOR:
        raise InventoryError(
            f"{account.get_username()} is {account.role_label}; only vendor accounts belong to "
            "a vendor company"
        )
    other = account.vendor_companies.exclude(pk=company.pk).first()
    if other is not None:
        raise InventoryError(
            f"{account.get_username()} already belongs to {other}; an account belongs to one "
            "company"
        )
    company.representatives.add(account)
    return company


@service
def remove_representative(user: Any, company: VendorCompany, account: Any) -> VendorCompany:
    _require_admin(user)
    company.representatives.remove(account)
    return company
