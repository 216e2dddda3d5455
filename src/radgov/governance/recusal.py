"""Who is recused from what.  Computed from declarations and roles, never stored,
so a declaration made today recuses the member from every open discussion."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from radgov.core.roles import Role

VENDOR_RULE = (
    "IV.A.3: a manufacturer/developer does not take part in the group's discussions or votes "
    "on deploying its model (vendor role)"
)


def recused(user: Any, product: Any) -> str | None:
    """Why ``user`` is recused from discussions and votes on ``product``, or None.

    A vendor's own people always are; anyone else when they declared a conflict
    on the product or on its vendor (IV.A.3)."""
    if user is None:
        return None
    if user.role == Role.VENDOR:
        return VENDOR_RULE
    if product is None:
        return None
    from radgov.governance.models import ConflictDeclaration

    for conflict in ConflictDeclaration.objects.filter(user=user).select_related(
        "product__company"
    ):
        on_product = conflict.product_id is not None and conflict.product_id == product.pk
        on_vendor = bool(conflict.vendor) and conflict.vendor.strip().casefold() == (
            product.vendor.strip().casefold()
        )
        if on_product or on_vendor:
            return (
                f"IV.A.3: {user.username} declared a conflict of interest on {conflict.subject} "
                f"({conflict.declared_on:%Y-%m-%d}) and is recused from {product}"
            )
    return None


def recused_from_any(user: Any, products: Iterable[Any]) -> str | None:
    """Why ``user`` is recused from a subject touching any of ``products`` (a
    selection between candidates, say), or None."""
    products = [p for p in products if p is not None]
    for product in products or [None]:
        reason = recused(user, product)
        if reason:
            return reason
    return None


def recusals(users: Any, products: Iterable[Any]) -> list[tuple[Any, str]]:
    """[(user, reason)] for those of ``users`` recused from any of ``products``."""
    products = list(products)
    out = []
    for user in users:
        reason = recused_from_any(user, products)
        if reason:
            out.append((user, reason))
    return out
